import Testing
import GmemHarness
import GmemModel

/// What the random generator produced, so the test can prove it covered the input space.
fileprivate struct Coverage {
    var kinds = Set<OpKind>()
    var typesPresent = Set<String>()
    var optionalAbsent = Set<String>()     // "op.key" of optional keys left out
    var optionalPresent = Set<String>()
    var defaultValued = 0                  // keys holding exactly their default (printed as absent)
    var threads = Set<Int>()
    var expectations = Set<String>()
    var profiles = Set<Profile>()
    var plus = 0, minus = 0
    var schedules = Set<String>()
}

/// Random but valid programs: every value is one the parser can produce.
fileprivate struct ProgramGenerator {
    var rng: FuzzRNG
    var cov = Coverage()

    init(seed: UInt64) { rng = FuzzRNG(seed: seed) }

    mutating func int(_ r: Range<Int>) -> Int { Int.random(in: r, using: &rng) }
    mutating func int(_ r: ClosedRange<Int>) -> Int { Int.random(in: r, using: &rng) }
    mutating func chance(_ n: Int) -> Bool { int(0..<n) == 0 }

    static func typeName(_ t: ArgType) -> String {
        switch t {
        case .handle: "handle"
        case .number: "number"
        case .choice: "choice"
        case .flags: "flags"
        case .byte: "byte"
        case .bool: "bool"
        case .source: "source"
        case .word: "word"
        }
    }

    mutating func number() -> Int {
        switch int(0..<5) {
        case 0: return 0
        case 1: return int(0..<16)
        case 2: return int(0..<0x1000)
        case 3: return int(0...(1 << 40))
        default: return 1 << 40
        }
    }

    mutating func value(_ k: KeySpec) -> Int {
        if let d = k.defaultValue, chance(6) { cov.defaultValued += 1; return d }
        switch k.type {
        case .handle: return int(0..<Model.maxHandles)
        case .number: return number()
        case .choice(let names): return int(0..<names.count)
        case .flags(let names): return int(0..<(1 << names.count))
        case .byte: return int(0...255)
        case .bool: return int(0...1)
        case .source:
            switch int(0..<3) {
            case 0: return 0
            case 1: return 1
            default: return 2 + (int(0..<Model.maxHandles) << 16) + (chance(4) ? 0xffff : int(0..<0x10000))
            }
        case .word: return 1
        }
    }

    mutating func findingPrefix() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.>-")
        var s = FindingKind.allCases.randomElement(using: &rng)!.rawValue
        for _ in 0..<int(0...2) {
            s += ":"
            for _ in 0..<int(1...12) { s.append(alphabet.randomElement(using: &rng)!) }
        }
        return s
    }

    mutating func expectation() -> GmemHarness.Expectation? {
        if chance(3) { return nil }
        let e: GmemHarness.Expectation
        switch int(0..<9) {
        case 0: e = .ok
        case 1: e = .errno(Errno.allCases.randomElement(using: &rng)!, offset: chance(2) ? nil : number())
        case 2: e = .sigbus
        case 3: e = .sigsegv
        case 4: e = .value(UInt8(int(0...255)))
        case 5: e = .exit([VMExit.memoryFault, .mmio, .hypercall].randomElement(using: &rng)!)
        case 6: e = .finding(findingPrefix())
        case 7: e = .skipped
        default: e = .count(number())
        }
        switch e {
        case .ok: cov.expectations.insert("ok")
        case .errno(_, let off): cov.expectations.insert(off == nil ? "errno" : "errno@")
        case .sigbus: cov.expectations.insert("sigbus")
        case .sigsegv: cov.expectations.insert("sigsegv")
        case .value: cov.expectations.insert("value")
        case .exit: cov.expectations.insert("exit")
        case .finding: cov.expectations.insert("finding")
        case .skipped: cov.expectations.insert("skipped")
        case .count: cov.expectations.insert("count")
        }
        return e
    }

    mutating func op(_ kind: OpKind) -> Op {
        let schema = kind.schema
        var args: [Int] = []
        for k in schema.keys {
            if k.defaultValue == nil && chance(2) {
                cov.optionalAbsent.insert("\(schema.name).\(k.name)")
                args.append(Op.absent)
                continue
            }
            if k.defaultValue == nil { cov.optionalPresent.insert("\(schema.name).\(k.name)") }
            cov.typesPresent.insert(Self.typeName(k.type))
            args.append(value(k))
        }
        let thread = chance(3) ? int(1..<64) : 0
        cov.threads.insert(thread)
        cov.kinds.insert(kind)
        return Op(kind, thread: thread, args: args, expect: expectation())
    }

    mutating func program() -> Program {
        var config = Config(profile: Profile.allCases.randomElement(using: &rng)!)
        cov.profiles.insert(config.profile)
        for v in Variant.allCases {
            switch int(0..<10) {
            case 0: config.plus.insert(v); cov.plus += 1
            case 1: config.minus.insert(v); cov.minus += 1
            default: break
            }
        }
        var ops: [Op] = []
        for _ in 0..<int(0...24) { ops.append(op(OpKind.allCases.randomElement(using: &rng)!)) }
        let schedule: Schedule?
        switch int(0..<3) {
        case 0: schedule = nil; cov.schedules.insert("none")
        case 1:
            schedule = .steps((0..<int(1...16)).map { _ in chance(2) ? int(0..<4) : int(0..<64) })
            cov.schedules.insert("steps")
        default:
            schedule = .pct(seed: number(), depth: int(0...3))
            cov.schedules.insert("pct")
        }
        return Program(config: config, ops: ops, schedule: schedule)
    }
}

@Suite struct RoundTripTests {
    /// Canonical text: keys in schema order, defaults left out, bytes as 0xNN, decimal numbers.
    /// Every op kind, every key type, non-default values, threads and all expectation forms.
    static let canonical = """
    gmemfuzz 1
    profile ipc-v8
    variant +gmem.skip_refcount_check
    variant +tdx.pin_per_page
    variant -gmem.filter_from_current_attrs
    vm.create vm=1 type=tdx => ok
    tdx.init_vm vm=1
    tdx.finalize vm=2 => EINVAL
    vcpu.create vm=1 vcpu=3
    t1: tdx.init_vcpu vm=1 vcpu=3 => EBUSY
    vm.destroy vm=7
    gmem.create gmem=2 vm=1 pages=512 flags=mmap,init_shared huge=2m => ok
    gmem.create gmem=3 flags=init_shared huge=1g
    gmem.close gmem=2 => EBADF
    gmem.alloc gmem=2 page=3 count=5 => EINTR
    gmem.punch gmem=2 page=1 count=1000
    t2: gmem.convert gmem=2 page=4 count=2 to=shared => EAGAIN@5
    gmem.memory_failure gmem=2 page=9 => finding:invariant:G14
    vm.set_attr vm=1 gfn=256 count=16 to=shared
    slot.create vm=1 slot=5 gmem=2 gfn=4096 pages=64 off=8 => EEXIST
    slot.delete vm=1 slot=5
    host.mmap proc=3 gmem=2 => ENODEV
    host.munmap proc=3 gmem=2
    host.fork proc=3 child=4
    host.read proc=3 gmem=2 page=7 value=0x41 => 0x41
    host.write proc=3 gmem=2 page=7 value=0x00 => SIGBUS
    host.pin gmem=2 page=7 proc=3 => EFAULT
    host.unpin gmem=2 page=7
    mm.ref gmem=2 page=6 => ENOENT
    mm.unref gmem=2 page=6
    mm.lru gmem=2 page=6
    guest.read vcpu=3 gfn=257 value=0x7f private=0 => exit:memory_fault
    guest.write vcpu=3 gfn=258 value=0xff private=1 => ok
    guest.accept vcpu=3 gfn=512 level=2m
    guest.map_gpa vcpu=3 gfn=512 count=512 to=shared => exit:hypercall
    vcpu.prefault vcpu=3 gfn=300 count=3 => ENOENT
    kvm.unmap vm=1 gfn=256 count=2 => exit:mmio
    tdx.init_mem_region vcpu=3 gfn=512 count=4 src=gmem:2:9 proc=3 value=0x5a measure=1 => count:4
    tdx.init_mem_region src=anon proc=0
    inject seamcall=PAGE.REMOVE status=busy times=2
    inject alloc=maple => skipped
    inject times=1 gup=efault
    t9: inject signal
    inject times=0 cmpxchg => finding:lockdep:invalidate_lock>mmap_lock
    t2: vcpu.run vcpu=3 slices=9 => EIO
    vcpu.run
    t63: host.read => SIGSEGV
    schedule pct seed=7 depth=2

    """

    @Test func handWrittenProgramIsCanonical() throws {
        let p = try ScenarioParser.parse(Self.canonical, file: "canonical.gmf")
        #expect(Set(p.ops.map(\.kind)) == Set(OpKind.allCases))
        #expect(ScenarioPrinter.print(p) == Self.canonical)
        #expect(try ScenarioParser.parse(ScenarioPrinter.print(p)) == p)
        // Spot checks that the values really went through, not just the text.
        #expect(p.config == Config(profile: .ipcV8, plus: [.skipRefcountCheck, .tdxPinPerPage],
                                   minus: [.filterFromCurrentAttrs]))
        #expect(p.schedule == .pct(seed: 7, depth: 2))
        #expect(p.ops[0] == Op(.vmCreate, ["vm": 1, "type": 1], expect: .ok))
        let convert = p.ops.first { $0.kind == .gmemConvert }!
        #expect(convert.thread == 2 && convert.expect == .errno(.EAGAIN, offset: 5))
        #expect(convert["page"] == 4 && convert["count"] == 2 && convert["to"] == 1)
        let populate = p.ops.first { $0.kind == .tdxInitMemRegion }!
        #expect(populate["src"] == 2 + (2 << 16) + 9 && populate.opt("value") == 0x5a)
        let signal = p.ops.first { $0.kind == .inject && $0.opt("signal") != nil }!
        #expect(signal.thread == 9 && signal.opt("times") == nil)
        #expect(p.ops.last!.thread == 63 && p.ops.last!.expect == .sigsegv)
    }

    @Test func nonCanonicalTextPrintsCanonically() throws {
        // Keys in any order, defaults spelled out, hex, t0: prefix, comments: same program.
        let text = """
        gmemfuzz 1
        # a comment
        variant -gmem.filter_from_current_attrs
        variant +tdx.pin_per_page +gmem.skip_refcount_check
        profile ipc-v8
        t0: vm.create type=tdx vm=0x1 => ok
        gmem.create huge=none flags=mmap pages=4 gmem=0 vm=0
        host.write value=0xAA page=0x2
        """
        let p = try ScenarioParser.parse(text)
        let printed = ScenarioPrinter.print(p)
        #expect(printed == """
        gmemfuzz 1
        profile ipc-v8
        variant +gmem.skip_refcount_check
        variant +tdx.pin_per_page
        variant -gmem.filter_from_current_attrs
        vm.create vm=1 type=tdx => ok
        gmem.create flags=mmap
        host.write page=2

        """)
        #expect(try ScenarioParser.parse(printed) == p)
    }

    @Test func commentsFromThePrinterAreIgnoredByTheParser() throws {
        let p = try ScenarioParser.parse(Self.canonical)
        let withComments = ScenarioPrinter.print(p, comments: ["minimized from crash-1234", "signature: warn:x:y => #"])
        #expect(withComments.hasPrefix("gmemfuzz 1\n# minimized from crash-1234\n# signature: warn:x:y => #\n"))
        #expect(try ScenarioParser.parse(withComments) == p)
    }

    @Test func emptyProgram() throws {
        let p = Program()
        #expect(ScenarioPrinter.print(p) == "gmemfuzz 1\nprofile hp-v3\n")
        #expect(try ScenarioParser.parse(ScenarioPrinter.print(p)) == p)
    }

    @Test func everyOpWithDefaultArgumentsRoundTrips() throws {
        for k in OpKind.allCases {
            let p = Program(ops: [Op(k)])
            let text = ScenarioPrinter.print(p)
            #expect(text.hasSuffix("\n\(k.name)\n"), "defaults are not printed for \(k.name)")
            #expect(try ScenarioParser.parse(text) == p)
        }
    }

    @Test func randomProgramsRoundTrip() throws {
        var gen = ProgramGenerator(seed: 0x6D6D_6675_7A7A_0001)
        var failures = 0
        for i in 0..<500 {
            let p = gen.program()
            let text = ScenarioPrinter.print(p)
            let q: Program
            do {
                q = try ScenarioParser.parse(text, file: "random-\(i).gmf")
            } catch {
                Issue.record("program \(i) does not parse back: \(error)\n\(text)")
                failures += 1
                if failures > 3 { break }
                continue
            }
            if q != p {
                Issue.record("program \(i) changed in the round trip:\n\(text)\n--- reprinted ---\n\(ScenarioPrinter.print(q))")
                failures += 1
                if failures > 3 { break }
                continue
            }
            #expect(ScenarioPrinter.print(q) == text, "printing is not idempotent for program \(i)")
        }
        #expect(failures == 0)

        // The generator really covered the space.
        let c = gen.cov
        #expect(c.kinds == Set(OpKind.allCases))
        #expect(c.typesPresent == ["handle", "number", "choice", "flags", "byte", "bool", "source", "word"])
        let optional = Set(OpKind.allCases.flatMap { k in
            k.schema.keys.filter { $0.defaultValue == nil }.map { "\(k.name).\($0.name)" }
        })
        #expect(c.optionalAbsent == optional)
        #expect(c.optionalPresent == optional)
        #expect(c.defaultValued > 100)
        #expect(c.threads.count > 40 && c.threads.contains(0) && c.threads.contains { $0 > 0 })
        #expect(c.expectations == ["ok", "errno", "errno@", "sigbus", "sigsegv", "value", "exit", "finding", "skipped", "count"])
        #expect(c.profiles == Set(Profile.allCases))
        #expect(c.plus > 100 && c.minus > 100)
        #expect(c.schedules == ["none", "steps", "pct"])
    }

    @Test func generatorIsDeterministic() {
        var a = ProgramGenerator(seed: 42), b = ProgramGenerator(seed: 42), c = ProgramGenerator(seed: 43)
        let pa = (0..<20).map { _ in a.program() }
        let pb = (0..<20).map { _ in b.program() }
        let pc = (0..<20).map { _ in c.program() }
        #expect(pa == pb)
        #expect(pa != pc)
    }

    @Test func emptyStepScheduleRoundTrips() throws {
        // `Schedule.steps([])` prints as "schedule steps=", which must parse back to the same
        // program (ScenarioPrinter's contract: parse(print(p)) == p for every program).
        let p = Program(ops: [Op(.vmCreate)], schedule: .steps([]))
        let text = ScenarioPrinter.print(p)
        #expect(text.hasSuffix("schedule steps=\n"))
        #expect(try ScenarioParser.parse(text) == p)
    }
}
