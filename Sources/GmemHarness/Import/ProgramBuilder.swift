import GmemModel

/// Turns correlated actions into a `Program` of the op IR (SPEC §4) plus comments.
struct ProgramBuilder {
    let setup: Correlator.Setup
    let window: ImportWindow
    var ops: [Op] = []
    var opComments: [Int: [String]] = [:]
    var pending: [String] = []
    var finalized = false

    init(setup: Correlator.Setup, window: ImportWindow) {
        self.setup = setup; self.window = window
    }

    var tdx: Bool { setup.platform == .tdx }

    mutating func add(_ op: Op) {
        if !pending.isEmpty { opComments[ops.count, default: []] += pending; pending = [] }
        ops.append(op)
    }

    static func build(_ c: Correlator, sources: [String]) -> ImportedScenario {
        let s = c.setup
        var b = ProgramBuilder(setup: s, window: ImportWindow(c.actions))
        var header = ["imported by gmemfuzz import from " + sources.joined(separator: ", ")]
        header.append("platform \(s.platform.rawValue); attributes \(s.mode.rawValue)"
                      + (s.platform == .tdx ? "; TDX shared bit = GPA bit \(s.sharedBit.trailingZeroBitCount)" : ""))
        let profile: Profile = s.mode == .perVM ? .ml70 : .default
        header.append(s.mode == .perVM
                      ? "per-VM attributes (KVM_SET_MEMORY_ATTRIBUTES): profile \(profile.rawValue), the newest mainline profile (the trace does not name the kernel version)"
                      : "in-place attributes (KVM_SET_MEMORY_ATTRIBUTES2 on the gmem fd): profile \(profile.rawValue)")
        let nv = max(1, min(c.vcpuKeys.count, Model.maxHandles))
        for (i, n) in c.vcpuNames.prefix(nv).enumerated() { header.append("model vcpu \(i) = kernel \(n)") }
        if c.vcpuKeys.count > Model.maxHandles { header.append("\(c.vcpuKeys.count) vCPUs seen; vCPUs beyond \(Model.maxHandles - 1) share model vcpu \(Model.maxHandles - 1)") }
        for (i, cl) in b.window.clusters.enumerated() {
            header.append("memslot \(i) / guest_memfd \(i): gfn [0x\(String(cl.start, radix: 16)), 0x\(String(cl.end, radix: 16))) — the part of guest memory the trace touches")
        }
        header.append("ops carry no expectations: a trace shows what happened, not what must happen")

        // Setup: none of these ioctls has a tracepoint (research §1.1: no memslot event).
        b.pending.append("setup (no tracepoints exist for these ioctls)")
        b.add(Op(.vmCreate, ["vm": 0, "type": s.platform == .tdx ? 1 : 0]))
        if b.tdx { b.add(Op(.tdxInitVM, ["vm": 0])) }
        for v in 0..<nv {
            b.add(Op(.vcpuCreate, ["vm": 0, "vcpu": v]))
            if b.tdx { b.add(Op(.tdxInitVcpu, ["vm": 0, "vcpu": v])) }
        }
        var flags = 0
        if s.mode == .inPlace {
            flags |= 1                                  // mmap: guest_memfd backs shared memory too
            if !s.initiallyPrivate { flags |= 2 }       // init_shared
        }
        for (i, cl) in b.window.clusters.enumerated() {
            b.add(Op(.gmemCreate, ["gmem": i, "vm": 0, "pages": cl.pages, "flags": flags]))
            b.add(Op(.slotCreate, ["vm": 0, "slot": i, "gmem": i, "gfn": Int(cl.start), "pages": cl.pages, "off": 0]))
        }
        for a in c.actions { b.action(a) }
        if !b.pending.isEmpty { b.opComments[b.ops.count, default: []] += b.pending }
        var cfg = Config()
        cfg.profile = profile
        return ImportedScenario(program: Program(config: cfg, ops: b.ops), header: header, opComments: b.opComments)
    }

    /// Adds `make(cluster, gfn, count)` for each part of the range inside the window.
    mutating func ranged(_ start: UInt64, _ count: UInt64, _ make: (Int, UInt64, UInt64) -> Op) {
        let parts = window.clip(start, count)
        let inside = parts.reduce(0) { $0 + $1.2 }
        if inside < count {
            pending.append("\(count - inside) of \(count) pages from gfn 0x\(String(start, radix: 16)) lie outside the scenario's memslots: dropped")
        }
        for (i, g, n) in parts { add(make(i, g, n)) }
    }

    mutating func action(_ a: ImportAction) {
        pending += a.comments
        switch a.kind {
        case .note:
            break
        case .access(let v, let gfn, let write, let priv, let memoryFault):
            let tdx = self.tdx
            ranged(gfn, 1) { _, g, _ in
                if tdx, priv == true, !memoryFault {
                    // A TD's first touch of a private page is TDG.MEM.PAGE.ACCEPT; the EPT
                    // violation it causes is what PAGE.AUGs the page (tdx_handle_ept_violation).
                    return Op(.guestAccept, ["vcpu": v, "gfn": Int(g)])
                }
                var op = Op(write ? .guestWrite : .guestRead, ["vcpu": v, "gfn": Int(g)])
                // sw VMs: KVM derives private/shared from attributes; give the key only when
                // the trace says the access disagreed with them (memory-fault exit), or on TDX.
                if let p = priv, tdx || memoryFault { op["private"] = p ? 1 : 0 }
                return op
            }
        case .populate(let gfn, let count):
            ranged(gfn, count) { _, g, n in
                // QEMU copies TDVF into ordinary memory and passes it as the source
                // (tdx_finalize_vm); whether a section is measured is not in the trace.
                Op(.tdxInitMemRegion, ["vcpu": 0, "gfn": Int(g), "count": Int(n), "src": 1])
            }
        case .prefault(let v, let gfn, let count):
            ranged(gfn, count) { _, g, n in Op(.vcpuPrefault, ["vcpu": v, "gfn": Int(g), "count": Int(n)]) }
        case .mapGpa(let v, let gfn, let count, let p):
            ranged(gfn, count) { _, g, n in Op(.guestMapGpa, ["vcpu": v, "gfn": Int(g), "count": Int(n), "to": p ? 0 : 1]) }
        case .convert(let gfn, let count, let p):
            let perVM = setup.mode == .perVM
            let w = window
            ranged(gfn, count) { i, g, n in
                perVM ? Op(.vmSetAttr, ["vm": 0, "gfn": Int(g), "count": Int(n), "to": p ? 0 : 1])
                      : Op(.gmemConvert, ["gmem": i, "page": Int(g - w.clusters[i].start), "count": Int(n), "to": p ? 0 : 1])
            }
        case .hostUnmap(let gfn, let count):
            ranged(gfn, count) { _, g, n in Op(.kvmUnmap, ["vm": 0, "gfn": Int(g), "count": Int(n)]) }
        case .punch(let gfn, let count):
            let w = window
            ranged(gfn, count) { i, g, n in Op(.gmemPunch, ["gmem": i, "page": Int(g - w.clusters[i].start), "count": Int(n)]) }
        case .firstEntry:
            if tdx && !finalized {
                finalized = true
                pending.append("KVM_TDX_FINALIZE_VM has no tracepoint; the TD must be finalized before its first entry")
                add(Op(.tdxFinalize, ["vm": 0]))
            }
        }
    }
}
