/// `gmemfuzz import` (SPEC §8): kernel / QEMU traces → `.gmf` scenarios.
/// Total: any bytes give a result; malformed lines become `file:line:` diagnostics and the
/// import goes on.
public enum TraceImporter {
    public struct Result: Sendable {
        /// (name, scenario): one per input file, or one for all inputs with `merge`.
        public var scenarios: [(name: String, scenario: ImportedScenario)] = []
        public var diagnostics: [ImportDiagnostic] = []
        public var eventsRead = 0
        public var opsEmitted = 0
        /// Events the importer does not model, by name, in order of first appearance.
        public var ignoredByName: [(name: String, count: Int)] = []
        /// Lines that could not be parsed (error diagnostics).
        public var skippedLines: Int { diagnostics.filter { $0.severity == .error }.count }
    }

    /// Parses one file into events.
    public static func parse(_ input: TraceInput) -> (events: [TraceEvent], diagnostics: [ImportDiagnostic]) {
        var events: [TraceEvent] = []
        var diags: [ImportDiagnostic] = []
        for (n, raw) in Bytes.lines(input.bytes).enumerated() {
            let lineNo = n + 1
            func diag(_ sev: ImportDiagnostic.Severity, _ m: String) {
                diags.append(ImportDiagnostic(file: input.name, line: lineNo, severity: sev, message: m))
            }
            if raw.count > Bytes.maxLine { diag(.error, "line too long (\(raw.count) bytes, limit \(Bytes.maxLine))"); continue }
            let r: LineResult
            do {
                switch input.format {
                case .ftrace: r = try FtraceLineParser.parse(raw)
                case .traceCmd: r = try TraceCmdLineParser.parse(raw)
                case .perf: r = try PerfLineParser.parse(raw)
                case .qemu: r = try QemuLineParser.parse(raw)
                }
            } catch {
                diag(.error, error.message); continue
            }
            switch r {
            case .skip: continue
            case .note(let m): diag(.note, m); continue
            case .event(let ev):
                let payload: EventPayload
                do {
                    payload = input.format == .qemu ? try QemuEventDecoder.decode(name: ev.name, info: ev.info)
                                                    : try KernelEventDecoder.decode(name: ev.name, info: ev.info)
                } catch {
                    diag(.error, error.message); continue
                }
                events.append(TraceEvent(loc: TraceLocation(file: input.name, line: lineNo), isKernel: input.format.isKernel,
                                         task: ev.task, name: ev.name, payload: payload))
            }
        }
        return (events, diags)
    }

    /// What the trace says about the machine, unless the options say it.
    static func inferSetup(_ events: [TraceEvent], _ o: ImportOptions) -> (Correlator.Setup, [String]) {
        var notes: [String] = []
        let haveQemu = events.contains { !$0.isKernel }, haveKernel = events.contains { $0.isKernel }
        var platform = ImportPlatform.sw
        if let p = o.platform { platform = p } else if let e = events.first(where: {
            if case .kvmExit(_, "TDCALL") = $0.payload { return true }
            if case .tdxHandleReset = $0.payload { return true }
            return false
        }) {
            platform = .tdx
            notes.append("platform tdx inferred from \(e.name) at \(e.loc)")
        }
        var mode = AttributeMode.inPlace
        if let m = o.attributes { mode = m } else if let e = events.first(where: { if case .setMemAttributes = $0.payload { true } else { false } }) {
            mode = .perVM
            notes.append("per-VM attributes inferred from kvm_vm_set_mem_attributes at \(e.loc)")
        } else if haveQemu && !haveKernel {
            mode = .perVM
            notes.append("QEMU trace only: mainline QEMU converts with KVM_SET_MEMORY_ATTRIBUTES (per-VM); pass --attributes in-place otherwise")
        } else {
            notes.append("no kvm_vm_set_mem_attributes line: in-place conversion (KVM_SET_MEMORY_ATTRIBUTES2 has no tracepoint)")
        }
        var sharedBit: UInt64 = 0
        if platform == .tdx {
            var gpaw = o.gpaw ?? 48
            if o.gpaw == nil, let e = events.first(where: { if case .pageFault(_, let a, _) = $0.payload { a & (1 << 51) != 0 } else { false } }) {
                gpaw = 52
                notes.append("GPA bit 51 set at \(e.loc): 5-level EPT, shared bit 51")
            }
            // TDX_SHARED_BIT_PWL_4 = gpa_to_gfn(BIT_ULL(47)), _PWL_5 = BIT_ULL(51) (arch/x86/kvm/vmx/tdx.c)
            sharedBit = gpaw == 52 ? 1 << 51 : 1 << 47
        }
        var initiallyPrivate = mode == .inPlace
        if mode == .inPlace && platform == .sw {
            for e in events {
                var toPrivate: Bool?
                switch e.payload {
                case .convertMemory(_, _, let p): toPrivate = p
                case .hcMapGpaRange(_, _, let a): toPrivate = a & 0x10 != 0
                case .hypercall(0xc, _, _, let a2): toPrivate = a2 & 0x10 != 0
                default: break
                }
                if let p = toPrivate {
                    initiallyPrivate = !p
                    notes.append("first conversion (\(e.name) at \(e.loc)) goes to \(p ? "private" : "shared"): guest_memfd starts \(p ? "shared (init_shared)" : "private")")
                    break
                }
            }
        }
        return (Correlator.Setup(platform: platform, mode: mode, sharedBit: sharedBit, haveQemu: haveQemu, initiallyPrivate: initiallyPrivate), notes)
    }

    /// Imports already-parsed events (kernel and/or QEMU) as one scenario.
    static func scenario(_ events: [TraceEvent], sources: [String], options: ImportOptions, extraNotes: [String] = [])
        -> (ImportedScenario, [String: Int], [String]) {
        let (setup, notes) = inferSetup(events, options)
        var c = Correlator(setup)
        for e in events { c.handle(e) }
        c.finish()
        var s = ProgramBuilder.build(c, sources: sources)
        s.header.insert(contentsOf: notes + extraNotes, at: 1)
        return (s, c.ignored, c.ignoredOrder)
    }

    /// Imports every input: one scenario per file, or one for all with `options.merge`.
    public static func run(_ inputs: [TraceInput], options: ImportOptions = ImportOptions()) -> Result {
        var result = Result()
        var parsed: [(TraceInput, [TraceEvent])] = []
        for i in inputs {
            let (ev, d) = parse(i)
            result.diagnostics += d
            result.eventsRead += ev.count
            parsed.append((i, ev))
        }
        var ignored: [String: Int] = [:]
        var order: [String] = []
        func add(_ name: String, _ s: (ImportedScenario, [String: Int], [String])) {
            var n = name, k = 2
            while result.scenarios.contains(where: { $0.name == n }) { n = "\(name)-\(k)"; k += 1 }
            result.scenarios.append((n, s.0))
            result.opsEmitted += s.0.program.ops.count
            for x in s.2 { if ignored[x] == nil { order.append(x) }; ignored[x, default: 0] += s.1[x] ?? 0 }
        }
        if options.merge && !parsed.isEmpty {
            let kernel = parsed.filter { $0.0.format.isKernel }.flatMap { $0.1 }
            let qemu = parsed.filter { !$0.0.format.isKernel }.flatMap { $0.1 }
            let sources = parsed.map { "\($0.0.name) (\($0.0.format.rawValue))" }
            var events = kernel + qemu, extra: [String] = []
            if !kernel.isEmpty && !qemu.isEmpty {
                let m = TraceMerger.merge(kernel: kernel, qemu: qemu)
                events = m.events; extra = [m.note]
            }
            add(baseName(parsed[0].0.name) + (parsed.count > 1 ? "-merged" : ""), scenario(events, sources: sources, options: options, extraNotes: extra))
        } else {
            for (i, ev) in parsed {
                add(baseName(i.name), scenario(ev, sources: ["\(i.name) (\(i.format.rawValue))"], options: options))
            }
        }
        result.ignoredByName = order.map { ($0, ignored[$0]!) }
        return result
    }

    /// "dir/sw-convert.ftrace.txt" → "sw-convert.ftrace".
    static func baseName(_ path: String) -> String {
        let last = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = last.lastIndex(of: "."), dot != last.startIndex else { return last.isEmpty ? "trace" : last }
        return String(last[..<dot])
    }

    /// Fuzz entrypoint (FuzzTraceImport): runs every renderer's parser, the correlator, the
    /// merger and the printer on arbitrary bytes. Never traps on any input; the one check is a
    /// property of the importer itself: every scenario it prints parses back to the same program.
    public static func fuzzOne(_ bytes: [UInt8]) {
        var inputs: [TraceInput] = []
        for f in TraceFormat.allCases {
            inputs.append(TraceInput(name: "fuzz.\(f.rawValue)", format: f, bytes: bytes))
        }
        let separate = run(inputs)
        // The same bytes as a kernel + QEMU pair of one run (exercises the merger), TDX platform.
        let merged = run([inputs[0], inputs[3]], options: ImportOptions(platform: bytes.first.map { $0 & 1 == 0 ? .sw : .tdx }, merge: true))
        for (name, s) in separate.scenarios + merged.scenarios {
            let text = ScenarioPrinter.print(s)
            do {
                let back = try ScenarioParser.parse(text, file: name)
                if back != s.program { preconditionFailure("imported scenario does not round-trip:\n\(text)") }
            } catch {
                preconditionFailure("imported scenario does not parse: \(error)\n\(text)")
            }
        }
    }
}
