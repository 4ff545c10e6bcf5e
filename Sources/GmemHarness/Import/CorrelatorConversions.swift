/// Conversions, MapGPA exits, notifier unmaps and the QEMU side (research §5.2, §5.3 rule 4).
extension Correlator {
    mutating func pushContext(_ owner: String, _ start: UInt64, _ end: UInt64) {
        if let i = lastRealAction { contexts.append(ZapContext(owner: owner, start: start, end: end, action: i)) }
        if contexts.count > 16 { contexts.removeFirst() }
    }

    mutating func setMemAttributes(_ t: String, _ start: UInt64, _ end: UInt64, _ attr: UInt64, _ loc: TraceLocation) {
        let toPrivate = attr & 0x8 != 0     // KVM_MEMORY_ATTRIBUTE_PRIVATE
        let count = end - start
        var notes: [String] = []
        if attr & ~0x8 != 0 { notes.append("attribute bits \(Self.hex(attr & ~0x8)) besides PRIVATE ignored") }
        let dir = toPrivate ? "private" : "shared"
        defer {
            attrs.set(start, end, toPrivate)
            lastConvertToPrivate = toPrivate
            pushContext(t, start, end)
        }
        if count == 0 { note("kvm_vm_set_mem_attributes on an empty range at \(loc)", loc); return }
        if let m = tasks[t]!.mapGpa {
            setMapGpa(t, nil)
            if let a = m.args, a.gfn != start || a.count != count || a.toPrivate != toPrivate {
                notes.append("hypercall asked gfn \(Self.hex(a.gfn)) count \(a.count) to \(a.toPrivate ? "private" : "shared"); the VMM converted what the attribute line says")
            }
            emit(.mapGpa(vcpu: m.vcpu, gfn: start, count: count, toPrivate: toPrivate),
                 ["\(m.notes.joined(separator: "; ")) -> kvm_vm_set_mem_attributes at \(loc) [\(Self.hex(start)), \(Self.hex(end))) to \(dir)"] + notes, m.loc)
            return
        }
        if let i = lastRealAction, sameConversion(actions[i].kind, start, count, toPrivate) {
            actions[i].comments.append("confirmed by kvm_vm_set_mem_attributes at \(loc)")
            return
        }
        let why = lastMemoryFault.map { "after the memory-fault exit at \($0.loc)" } ?? "VMM-initiated"
        emit(.convert(gfn: start, count: count, toPrivate: toPrivate),
             ["kvm_vm_set_mem_attributes at \(loc) [\(Self.hex(start)), \(Self.hex(end))) to \(dir) (\(why))"] + notes, loc)
        lastMemoryFault = nil
    }

    func sameConversion(_ k: ImportActionKind, _ start: UInt64, _ count: UInt64, _ toPrivate: Bool) -> Bool {
        switch k {
        case .mapGpa(_, let g, let c, let p), .convert(let g, let c, let p): g == start && c == count && p == toPrivate
        default: false
        }
    }

    mutating func hypercall(_ t: String, _ nr: UInt64, _ a0: UInt64, _ a1: UInt64, _ a2: UInt64, _ e: TraceEvent) {
        guard nr == 0xc else { ignore("kvm_hypercall nr \(Self.hex(nr))", e.loc); return }   // KVM_HC_MAP_GPA_RANGE
        let vc = vcpu(t, nil)
        // __kvm_emulate_hypercall(): unaligned GPA or zero/wrapping npages -> -KVM_EINVAL, no exit.
        if a0 & 0xfff != 0 || a1 == 0 || a0.addingReportingOverflow(a1 << 12).overflow || a1 >= 1 << 52 {
            note("KVM_HC_MAP_GPA_RANGE gpa \(Self.hex(a0)) npages \(a1) at \(e.loc) fails with -KVM_EINVAL in the kernel (no exit)", e.loc)
            return
        }
        var notes = ["kvm_hypercall KVM_HC_MAP_GPA_RANGE at \(e.loc) gpa \(Self.hex(a0)) npages \(a1) attrs \(Self.hex(a2))"]
        // a2 = KVM_MAP_GPA_RANGE_PAGE_SZ_* (bits 0-1) | KVM_MAP_GPA_RANGE_ENCRYPTED (bit 4).
        if a2 & ~0x13 != 0 || a2 & 0x3 == 0x3 {
            notes.append("a2 has bits outside KVM_MAP_GPA_RANGE_* (selftest flags?); the direction comes from the VMM's attribute line when traced")
        }
        setMapGpa(t, PendingMapGpa(vcpu: vc, args: ((a0 & ~setup.sharedBit) >> 12, a1, a2 & 0x10 != 0), loc: e.loc, notes: notes))
    }

    mutating func userspaceExit(_ t: String, _ reason: String, _ code: Int, _ loc: TraceLocation) {
        if reason == "error" && code == 14, let f = tasks[t]!.fault {
            // KVM_EXIT_MEMORY_FAULT comes with KVM_RUN = -EFAULT: printed "reason error (14)".
            tasks[t]!.fault = nil
            let wanted = f.privateGPA ?? !attrs.contains(f.gfn)
            emit(.access(vcpu: f.vcpu, gfn: f.gfn, write: f.write, privateGPA: wanted, memoryFault: true),
                 ["kvm_page_fault at \(f.loc) (\(faultWord(f))) -> KVM_EXIT_MEMORY_FAULT at \(loc): the guest wanted \(wanted ? "private" : "shared")"], f.loc)
            lastMemoryFault = (f.gfn, loc)
            if setup.mode == .inPlace && !setup.haveQemu {
                emit(.convert(gfn: f.gfn, count: 1, toPrivate: wanted),
                     ["KVM_SET_MEMORY_ATTRIBUTES2 has no tracepoint: the VMM converts the faulting page on a memory-fault exit (QEMU kvm_handle_memory_fault; inferred)"], loc)
                attrs.set(f.gfn, f.gfn + 1, wanted)
                lastConvertToPrivate = wanted
                pushContext(t, f.gfn, f.gfn + 1)
            }
            return
        }
        flushFault(t, "KVM_RUN returned to userspace at \(loc): reason \(reason) (\(code))")
        if (code == 3 || reason == "KVM_EXIT_HYPERCALL") && reason != "error" && reason != "restart" && tasks[t]!.mapGpa == nil && tasks[t]!.lastExitTDCALL {
            // TDX MapGPA: kvm_exit reason TDCALL + KVM_EXIT_HYPERCALL; the arguments are only in
            // the VMM's trace (tdx_map_gpa -> __tdx_map_gpa, research §1.4).
            setMapGpa(t, PendingMapGpa(vcpu: vcpu(t, nil), args: nil, loc: loc,
                                             notes: ["kvm_exit TDCALL + KVM_EXIT_HYPERCALL at \(loc): TDG.VP.VMCALL<MapGPA>"]))
        }
    }

    mutating func kvmEntry(_ t: String, _ vc: Int, _ loc: TraceLocation) {
        flushFault(t, "no leaf installed before the next kvm_entry at \(loc) (spurious, raced with another vCPU, or MMIO)")
        if let m = tasks[t]!.mapGpa {
            setMapGpa(t, nil)
            if let a = m.args, setup.mode == .inPlace {
                emit(.mapGpa(vcpu: m.vcpu, gfn: a.gfn, count: a.count, toPrivate: a.toPrivate),
                     m.notes + ["in-place conversion: KVM_SET_MEMORY_ATTRIBUTES2 has no tracepoint; range from the hypercall (inferred)"], m.loc)
                attrs.set(a.gfn, Self.sat(a.gfn, a.count), a.toPrivate)
                lastConvertToPrivate = a.toPrivate
            } else if m.args == nil {
                note(m.notes.joined(separator: "; ") + ": range unknown without the QEMU trace (use --merge with the QEMU log); not emitted", m.loc)
            } else {
                note(m.notes.joined(separator: "; ") + ": no kvm_vm_set_mem_attributes before the guest resumed: the VMM did not convert; not emitted", m.loc)
            }
        }
        contexts.removeAll { $0.owner == t }
        flushPunch()
        if !sawEntry {
            sawEntry = true
            emit(.firstEntry(vcpu: vc), ["first kvm_entry at \(loc)"], loc)
        }
    }

    /// An HVA range of the VMM (mmu notifier or QEMU discard) as gfns via QEMU's memslots.
    mutating func hostRange(_ t: String, _ hva: UInt64, _ length: UInt64, _ loc: TraceLocation, what: String, punchInPlace: Bool) {
        let end = Self.sat(hva, length)
        var hit = false
        for s in qemuSlots where s.ua < end && hva < Self.sat(s.ua, s.size) {
            hit = true
            let lo = max(hva, s.ua), hi = min(end, Self.sat(s.ua, s.size))
            let gfn = Self.sat(s.gpa, lo - s.ua) >> 12
            let count = Self.pagesOf(bytes: hi - lo)
            if let i = lastRealAction, case .hostUnmap(let g, let c) = actions[i].kind, g == gfn, c == count {
                actions[i].comments.append("also \(what) at \(loc)"); continue
            }
            // In-place mode guest_memfd is the shared backing: QEMU discards it with PUNCH_HOLE.
            let kind: ImportActionKind = punchInPlace && setup.mode == .inPlace ? .punch(gfn: gfn, count: count) : .hostUnmap(gfn: gfn, count: count)
            emit(kind, ["\(what) at \(loc): HVA \(Self.hex(lo)) + \(Self.hex(hi - lo)) = QEMU memslot \(s.slot) gfn \(Self.hex(gfn)) count \(count)"], loc)
            pushContext(t, gfn, Self.sat(gfn, count))
        }
        if !hit {
            note("\(what) at \(loc): HVA \(Self.hex(hva)) + \(Self.hex(length)) is in no known memslot (merge with the QEMU trace for kvm_set_user_memory); not emitted", loc)
        }
    }

    mutating func convertMemory(_ t: String, _ start: UInt64, _ size: UInt64, _ toPrivate: Bool, _ loc: TraceLocation) {
        let gfn = (start & ~setup.sharedBit) >> 12, count = Self.pagesOf(bytes: size)
        defer {
            attrs.set(gfn, Self.sat(gfn, count), toPrivate)
            lastConvertToPrivate = toPrivate
            pushContext(t, gfn, Self.sat(gfn, count))
        }
        guard count > 0 else { note("kvm_convert_memory of size 0 at \(loc)", loc); return }
        if let m = qemuMapGpa {
            qemuMapGpa = nil
            var notes = ["QEMU kvm_hc_map_gpa_range at \(m.loc) + kvm_convert_memory at \(loc)"]
            if m.gfn != gfn || m.count != count || m.toPrivate != toPrivate { notes.append("the hypercall asked gfn \(Self.hex(m.gfn)) count \(m.count)") }
            emit(.mapGpa(vcpu: m.vcpu, gfn: gfn, count: count, toPrivate: toPrivate), notes, m.loc)
            return
        }
        let why = lastMemoryFault.map { "after the memory-fault exit at \($0.loc)" } ?? "VMM-initiated"
        emit(.convert(gfn: gfn, count: count, toPrivate: toPrivate), ["QEMU kvm_convert_memory at \(loc) to \(toPrivate ? "private" : "shared") (\(why))"], loc)
        lastMemoryFault = nil
    }

    mutating func memoryFault(_ t: String, _ start: UInt64, _ flags: UInt64, _ loc: TraceLocation) {
        let gfn = (start & ~setup.sharedBit) >> 12
        let wanted = flags & 0x8 != 0      // KVM_MEMORY_EXIT_FLAG_PRIVATE
        if let m = lastMemoryFault, m.gfn == gfn { return }   // the kernel side already produced the access
        emit(.access(vcpu: vcpu(t, nil), gfn: gfn, write: false, privateGPA: wanted, memoryFault: true),
             ["QEMU kvm_memory_fault at \(loc): a guest access exited with KVM_EXIT_MEMORY_FAULT wanting \(wanted ? "private" : "shared") (access kind not traced)"], loc)
        lastMemoryFault = (gfn, loc)
    }
}
