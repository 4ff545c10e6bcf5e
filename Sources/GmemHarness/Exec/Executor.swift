import GmemModel

/// One executed op.
public struct OpRecord: Sendable {
    public let index: Int
    public let op: Op
    public let result: SysResult
    public let findings: [Finding]
}

/// The outcome of running a program.
public struct RunReport: Sendable {
    public var records: [OpRecord] = []
    /// Every finding raised, in order (expected ones included).
    public var findings: [Finding] = []
    /// Findings no `=> finding:` expectation covered.
    public var unexpected: [Finding] = []
    /// (op index, expected, got)
    public var failedExpectations: [(index: Int, expected: String, got: String)] = []
    /// Whether any failure was injected (then a finding is not a zero-FP violation).
    public var injected = false
    public var stoppedEarly = false
    /// Concurrent runs: the logical thread that ran each step (`schedule steps=` of this list
    /// replays the run), and the decisions with their scheduling points when traced.
    public var steps: [Int] = []
    /// Per step: the program index of the op the picked thread ran, and the thread program
    /// order would have picked (a step that differs from it is a preemption).
    public var stepOps: [Int] = []
    public var stepDefaults: [Int] = []
    public var trace: [String] = []

    public var ok: Bool { unexpected.isEmpty && failedExpectations.isEmpty }
    public var firstFinding: Finding? { unexpected.first ?? findings.first }

    /// The op log up to the last executed op, one scenario line per op with its result.
    public func opLog() -> String {
        records.map { r in
            let line = ScenarioPrinter.line(r.op, withExpectation: false)
            let fs = r.findings.map { "  !! \($0.signature)" }.joined()
            return "[\(r.index)] \(line)  -> \(r.result.text)\(fs)"
        }.joined(separator: "\n")
    }
}

/// How logical threads run (SPEC §6).
public enum ExecMode: String, Sendable, CaseIterable {
    /// One logical thread at a time, switched at scheduling points by the schedule: same
    /// input, same result (replay, tests, ASan targets).
    case deterministic
    /// Logical threads run at once on the pool over the real pthread locks (TSan target).
    case threads
}

/// Runs programs against a fresh model.
public enum Executor {
    public struct Options: Sendable {
        /// Check invariants at every scheduling point (true) or only after each op.
        public var checkEveryStep = true
        /// Apply `=>` expectations (scenario mode). Fuzzing ignores them.
        public var checkExpectations = true
        /// Signature prefixes treated as expected everywhere (fuzzing's known-findings list):
        /// recorded in `findings`, never `unexpected`, and the run goes on.
        public var ignore: [String] = []
        /// Deterministic (default) or threads mode; single-threaded inputs ignore it.
        public var mode: ExecMode = .deterministic
        /// Record one line per scheduling decision in `RunReport.trace`.
        public var trace = false
        public init(checkEveryStep: Bool = true, checkExpectations: Bool = true, ignore: [String] = [],
                    mode: ExecMode = .deterministic, trace: Bool = false) {
            self.checkEveryStep = checkEveryStep; self.checkExpectations = checkExpectations
            self.ignore = ignore
            self.mode = mode; self.trace = trace
        }
    }

    public static func run(_ program: Program, options: Options = Options()) -> RunReport {
        // Fast path (the fuzzer's common case): one logical thread and no schedule pays
        // nothing for the concurrency machinery.
        if program.schedule != nil || program.ops.contains(where: { $0.thread != 0 }) {
            return ConcurrentExecutor.run(program, options: options)
        }
        let model = Model(config: program.config)
        model.checkEveryStep = options.checkEveryStep
        var report = RunReport()
        for (i, op) in program.ops.enumerated() {
            model.current = op.thread
            var result: SysResult
            var fs: [Finding] = []
            var aborted = false
            do {
                result = try apply(op, model)
            } catch {
                result = .skipped
                fs.append(error.finding)
                aborted = true
            }
            if !aborted { model.checkInvariants(atOpEnd: true) }
            fs.insert(contentsOf: model.drainFindings(), at: 0)
            let stop = account(i, op, result, fs, aborted: aborted, model, options, &report)
            if stop {
                report.stoppedEarly = i + 1 < program.ops.count
                break
            }
        }
        return report
    }

    /// Record one finished op: findings get their op and a state dump, expectations are
    /// checked. Returns whether the run must stop (an unexpected finding or an abort).
    static func account(_ i: Int, _ op: Op, _ result: SysResult, _ fsIn: [Finding], aborted: Bool,
                        _ model: Model, _ options: Options, _ report: inout RunReport) -> Bool {
        var fs = fsIn
        let dump = fs.isEmpty ? "" : model.stateDump()
        for j in fs.indices {
            fs[j].opName = op.kind.name
            fs[j].opIndex = i
            fs[j].stateDump = dump
        }
        report.records.append(OpRecord(index: i, op: op, result: result, findings: fs))
        report.findings += fs
        report.injected = model.inject.anyInjected

        var covered = false
        if options.checkExpectations, let e = op.expect {
            if case .finding(let prefix) = e {
                covered = fs.contains { $0.signature.hasPrefix(prefix) }
                if !covered {
                    report.failedExpectations.append((i, e.text, fs.first?.signature ?? result.text))
                }
            } else if !e.matches(result) {
                report.failedExpectations.append((i, e.text, result.text))
            }
        } else if options.checkExpectations, let want = readValueKey(op), case .value(let got) = result, got != want {
            report.failedExpectations.append((i, "0x" + String(want, radix: 16), result.text))
        }
        var unexpected = covered ? fs.filter { f in
            if case .finding(let p) = op.expect!, f.signature.hasPrefix(p) { return false }
            return true
        } : fs
        if !options.ignore.isEmpty {
            unexpected.removeAll { f in options.ignore.contains { f.signature.hasPrefix($0) } }
        }
        report.unexpected += unexpected
        return !unexpected.isEmpty || aborted
    }

    /// `value=` on a read op is an expected value.
    static func readValueKey(_ op: Op) -> UInt8? {
        guard op.kind == .guestRead || op.kind == .hostRead, let v = op.opt("value") else { return nil }
        return UInt8(v)
    }

    /// Dispatch one op to the model's kernel paths. An op that aborts drops the locks its
    /// path still held, here, on the OS thread that took them (every executor comes through
    /// here, so sequential, deterministic and threads mode all do).
    static func apply(_ op: Op, _ m: Model) throws(ModelAbort) -> SysResult {
        // vCPU ioctls hold their vCPU file (and so the VM) while they run.
        do {
            if Self.vcpuIoctls.contains(op.kind) {
                return try m.vcpuIoctl(vcpu: op["vcpu"]) { () throws(ModelAbort) -> SysResult in try dispatch(op, m) }
            }
            if Self.vmIoctls.contains(op.kind) {
                return try m.vmIoctl(vm: op["vm"]) { () throws(ModelAbort) -> SysResult in try dispatch(op, m) }
            }
            return try dispatch(op, m)
        } catch {
            m.abandonLocks(of: m.current)
            throw error
        }
    }

    /// Ops that are ioctls on a vCPU fd (KVM_RUN for guest accesses, TDX vCPU ioctls, prefault).
    static let vcpuIoctls: Set<OpKind> = [.tdxInitVcpu, .guestRead, .guestWrite, .guestAccept, .guestMapGpa,
                                          .vcpuPrefault, .tdxInitMemRegion, .vcpuRun]
    /// Ops that are ioctls on the VM fd.
    static let vmIoctls: Set<OpKind> = [.tdxInitVM, .tdxFinalize, .vcpuCreate, .gmemCreate, .vmSetAttr,
                                        .slotCreate, .slotDelete]

    static func dispatch(_ op: Op, _ m: Model) throws(ModelAbort) -> SysResult {
        func a(_ k: String) -> Int { op[k] }
        switch op.kind {
        case .vmCreate:
            return m.vmCreate(vm: a("vm"), type: a("type") == 0 ? .sw : .tdx)
        case .vcpuCreate:
            return m.vcpuCreate(vm: a("vm"), vcpu: a("vcpu"))
        case .vmDestroy:
            return try m.vmDestroy(vm: a("vm"))
        case .gmemCreate:
            return m.gmemCreate(gmem: a("gmem"), vm: a("vm"), pages: a("pages"),
                                flags: GmemFlags(rawValue: a("flags")), huge: HugeSize(rawValue: a("huge")) ?? .none)
        case .gmemClose:
            return try m.gmemClose(gmem: a("gmem"))
        case .gmemAlloc:
            return try m.gmemAllocate(gmem: a("gmem"), page: a("page"), count: a("count"))
        case .gmemPunch:
            return try m.gmemPunchHole(gmem: a("gmem"), page: a("page"), count: a("count"))
        case .gmemConvert:
            return try m.gmemSetAttributes(gmem: a("gmem"), page: a("page"), count: a("count"), toPrivate: a("to") == 0)
        case .gmemMemoryFailure:
            return try m.gmemMemoryFailure(gmem: a("gmem"), page: a("page"))
        case .vmSetAttr:
            return try m.vmSetMemoryAttributes(vm: a("vm"), gfn: a("gfn"), count: a("count"), toPrivate: a("to") == 0)
        case .slotCreate:
            return try m.slotCreate(vm: a("vm"), slot: a("slot"), gmem: a("gmem"), gfn: a("gfn"), pages: a("pages"), off: a("off"))
        case .slotDelete:
            return try m.slotDelete(vm: a("vm"), slot: a("slot"))
        case .hostMmap:
            return try m.hostMmap(proc: a("proc"), gmem: a("gmem"))
        case .hostMunmap:
            return try m.hostMunmap(proc: a("proc"), gmem: a("gmem"))
        case .hostFork:
            return try m.hostFork(proc: a("proc"), child: a("child"))
        case .hostRead:
            return try m.hostAccess(proc: a("proc"), gmem: a("gmem"), page: a("page"), write: nil)
        case .hostWrite:
            return try m.hostAccess(proc: a("proc"), gmem: a("gmem"), page: a("page"), write: UInt8(truncatingIfNeeded: a("value")))
        case .hostPin:
            return try m.hostPin(gmem: a("gmem"), page: a("page"), proc: a("proc"))
        case .hostUnpin:
            return m.hostUnpin(gmem: a("gmem"), page: a("page"))
        case .mmRef:
            return m.mmRef(gmem: a("gmem"), page: a("page"))
        case .mmUnref:
            return m.mmUnref(gmem: a("gmem"), page: a("page"))
        case .mmLru:
            return m.mmLru(gmem: a("gmem"), page: a("page"))
        case .guestRead:
            return try m.guestAccess(vcpu: a("vcpu"), gfn: a("gfn"), write: nil, privateKey: op.opt("private").map { $0 == 1 })
        case .guestWrite:
            return try m.guestAccess(vcpu: a("vcpu"), gfn: a("gfn"), write: UInt8(truncatingIfNeeded: a("value")),
                                     privateKey: op.opt("private").map { $0 == 1 })
        case .guestMapGpa:
            return try m.guestMapGpa(vcpu: a("vcpu"), gfn: a("gfn"), count: a("count"), toPrivate: a("to") == 0)
        case .vcpuPrefault:
            return try m.vcpuPrefault(vcpu: a("vcpu"), gfn: a("gfn"), count: a("count"))
        case .kvmUnmap:
            return try m.kvmUnmap(vm: a("vm"), gfn: a("gfn"), count: a("count"))
        case .inject:
            let times = op.opt("times") ?? 1
            if let s = op.opt("alloc"), let site = AllocSite(rawValue: s) { m.inject.add(alloc: site, times: times) }
            if op.opt("gup") != nil { m.inject.addGupEfault(times: times) }
            if op.opt("signal") != nil { m.inject.addSignal(times: times) }
            if op.opt("cmpxchg") != nil { m.inject.addCmpxchg(times: times) }
            if let sc = op.opt("seamcall") {
                let names = OpSchema.seamcalls, statuses = OpSchema.statuses
                m.inject.addSeamcall(names[sc], status: statuses[op.opt("status") ?? 0], times: times)
            }
            return .ok
        case .tdxInitVM:
            return try m.tdxInitVM(vm: a("vm"))
        case .tdxFinalize:
            return try m.tdxFinalize(vm: a("vm"))
        case .tdxInitVcpu:
            return try m.tdxInitVcpu(vm: a("vm"), vcpu: a("vcpu"))
        case .guestAccept:
            return try m.guestAccept(vcpu: a("vcpu"), gfn: a("gfn"), level: a("level"))
        case .tdxInitMemRegion:
            return try m.tdxInitMemRegion(vcpu: a("vcpu"), gfn: a("gfn"), count: a("count"), src: a("src"),
                                          proc: op.opt("proc"), value: op.opt("value").map { UInt8(truncatingIfNeeded: $0) },
                                          measure: a("measure") == 1)
        case .vcpuRun:
            return try m.vcpuRun(vcpu: a("vcpu"), slices: a("slices"))
        }
    }
}
