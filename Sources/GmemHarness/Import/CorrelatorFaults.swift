/// Fault chains, leaf installs and zaps (research traces-and-selftests.md §5.3 rules 1-3).
extension Correlator {
    func covers(_ faultGfn: UInt64, _ gfn: UInt64, _ level: Int) -> Bool {
        let n = SPTEValue.pages(level: level)
        return faultGfn & ~(n - 1) == gfn & ~(n - 1)
    }

    mutating func pageFault(_ t: String, _ v: Int?, _ address: UInt64, _ ec: UInt64, _ loc: TraceLocation) {
        let vc = vcpu(t, v)
        let priv: Bool? = setup.platform == .tdx ? address & setup.sharedBit == 0 : nil
        let gfn = (address & ~setup.sharedBit) >> 12
        if var f = tasks[t]!.fault {
            if f.gfn == gfn { f.repeats += 1; tasks[t]!.fault = f; return }   // re-entry on the same GPA
            flushFault(t, "superseded by the fault at \(loc) before any leaf was installed")
        }
        // VMX exit qualification / SVM #PF bit 1 = write; TDX private faults are forced to 0x2.
        tasks[t]!.fault = PendingFault(vcpu: vc, gfn: gfn, write: ec & 0x2 != 0, privateGPA: priv, loc: loc)
        tasks[t]!.lastMapped = nil
    }

    /// A pending fault that never got a leaf: still a guest access (spurious, raced, MMIO).
    mutating func flushFault(_ t: String, _ why: String) {
        guard let f = tasks[t]?.fault else { return }
        tasks[t]!.fault = nil
        emit(.access(vcpu: f.vcpu, gfn: f.gfn, write: f.write, privateGPA: f.privateGPA, memoryFault: false),
             ["kvm_page_fault at \(f.loc) (\(faultWord(f))): \(why)"], f.loc)
    }

    func faultWord(_ f: PendingFault) -> String {
        let p = f.privateGPA.map { $0 ? "private GPA" : "shared GPA" } ?? "private/shared from attributes"
        return "\(f.write ? "write" : "read"), \(p)\(f.repeats > 0 ? ", \(f.repeats + 1) faults" : "")"
    }

    mutating func leafMapped(_ t: String, _ gfn: UInt64, _ level: Int, _ loc: TraceLocation) {
        if tasks[t]!.lastMapped == gfn { return }   // spte_changed np->p and set_spte of one install
        tasks[t]!.lastMapped = gfn
        if let f = tasks[t]!.fault, covers(f.gfn, gfn, level) {
            tasks[t]!.fault = nil
            emit(.access(vcpu: f.vcpu, gfn: f.gfn, write: f.write, privateGPA: f.privateGPA, memoryFault: false),
                 ["kvm_page_fault at \(f.loc) (\(faultWord(f))) -> leaf level \(level) installed at \(loc)"], f.loc)
            return
        }
        let n = SPTEValue.pages(level: level)
        let start = gfn & ~(n - 1)
        if setup.platform == .tdx && !sawEntry {
            if let i = actions.indices.last, case .populate(let g, let c) = actions[i].kind, Self.sat(g, c) == start {
                actions[i].kind = .populate(gfn: g, count: Self.sat(c, n)); return
            }
            emit(.populate(gfn: start, count: n),
                 ["leaf installed at \(loc) with no kvm_page_fault before the first kvm_entry: KVM_TDX_INIT_MEM_REGION (no tracepoint of its own)"], loc)
        } else {
            let vc = vcpu(t, nil)
            if let i = actions.indices.last, case .prefault(let v, let g, let c) = actions[i].kind, v == vc, Self.sat(g, c) == start {
                actions[i].kind = .prefault(vcpu: v, gfn: g, count: Self.sat(c, n)); return
            }
            emit(.prefault(vcpu: vc, gfn: start, count: n),
                 ["leaf installed at \(loc) with no kvm_page_fault on this task: KVM_PRE_FAULT_MEMORY\(sawEntry ? "" : " (before the first kvm_entry)")"], loc)
        }
    }

    mutating func leafZapped(_ t: String, _ gfn: UInt64, _ level: Int, _ loc: TraceLocation) {
        if tasks[t]!.lastMapped == gfn { tasks[t]!.lastMapped = nil }
        let n = SPTEValue.pages(level: level)
        if let i = contexts.lastIndex(where: { $0.start <= gfn && gfn < $0.end }) {
            contexts[i].zaps += 1
            return
        }
        // The VMM converts between the MapGPA exit and the next kvm_entry: those zaps belong to
        // the pending conversion (with unknown arguments, to any pending MapGPA).
        for pt in mapGpaTasks {
            guard let m = tasks[pt]?.mapGpa else { continue }
            if let a = m.args {
                if a.gfn <= gfn && gfn < Self.sat(a.gfn, a.count) { return }
            } else { return }
        }
        // No conversion or notifier is in flight: in per-VM mode a private leaf can only go away
        // through guest_memfd (punch hole; kvm_gmem_invalidate_begin zaps private mappings), a
        // shared one through the mmu notifier. In-place mode: guest_memfd backs both.
        let shared = setup.mode == .perVM && !attrs.contains(gfn)
        if var p = punch, p.task == t, p.end == gfn, p.shared == shared {
            p.end = Self.sat(gfn, n); p.zaps += 1; punch = p; return
        }
        flushPunch()
        punch = Punch(task: t, start: gfn, end: Self.sat(gfn, n), loc: loc, shared: shared, zaps: 1)
    }

    mutating func flushPunch() {
        guard let p = punch else { return }
        punch = nil
        let what = "\(p.zaps) leaf zap(s) from \(p.loc) on \(p.task) with no conversion or kvm_unmap_hva_range in flight"
        if p.shared {
            actions.append(ImportAction(kind: .hostUnmap(gfn: p.start, count: p.end - p.start),
                                        comments: [what + ": shared pages, so an mmu-notifier unmap of the shared backing (inferred)"], loc: p.loc))
        } else {
            actions.append(ImportAction(kind: .punch(gfn: p.start, count: p.end - p.start),
                                        comments: [what + ": inferred fallocate(PUNCH_HOLE) on guest_memfd (a memslot deletion or an untraced in-place conversion looks the same)"], loc: p.loc))
        }
    }
}
