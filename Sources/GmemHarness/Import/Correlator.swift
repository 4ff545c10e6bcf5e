/// Turns a time-ordered event stream into model actions (research traces-and-selftests.md
/// §5.2 mapping, §5.3 correlation rules):
/// 1. per task (comm-pid): kvm_page_fault → kvm_mmu_spte_requested (repeated on RET_PF_RETRY)
///    → kvm_tdp_mmu_spte_changed → kvm_mmu_set_spte on the faulting vCPU thread;
/// 2. TDX private/shared from the fault address's shared bit (GPA bit 47 or 51); kvmmmu lines
///    carry the gfn with the bit already stripped;
/// 3. leaves installed with no fault: populate before the first kvm_entry (TDX), prefault after;
/// 4. a conversion and its zaps are one step: zaps inside a live conversion/unmap are absorbed.
struct Correlator {
    struct Setup {
        var platform: ImportPlatform
        var mode: AttributeMode
        /// TDX shared bit as a GPA bit (1<<47 or 1<<51); 0 for sw.
        var sharedBit: UInt64
        /// QEMU events are in the stream (do not infer what QEMU lines will say).
        var haveQemu: Bool
        /// Initial attribute of every gfn.
        var initiallyPrivate: Bool
    }

    struct PendingFault {
        var vcpu: Int, gfn: UInt64, write: Bool, privateGPA: Bool?
        var loc: TraceLocation
        var requests = 0
        var repeats = 0
    }
    struct PendingMapGpa {
        var vcpu: Int
        var args: (gfn: UInt64, count: UInt64, toPrivate: Bool)?
        var loc: TraceLocation
        var notes: [String]
    }
    struct TaskState {
        var fault: PendingFault?
        var mapGpa: PendingMapGpa?
        var lastExitTDCALL = false
        var lastMapped: UInt64?
    }
    /// A conversion / unmap whose zaps are still arriving.
    struct ZapContext { var owner: String; var start: UInt64; var end: UInt64; var action: Int; var zaps = 0 }
    struct QemuSlot { var slot: Int; var gpa: UInt64; var size: UInt64; var ua: UInt64 }
    struct Punch { var task: String; var start: UInt64; var end: UInt64; var loc: TraceLocation; var shared: Bool; var zaps: Int }

    let setup: Setup
    var actions: [ImportAction] = []
    var attrs = RangeSet()
    var tasks: [String: TaskState] = [:]
    var taskOrder: [String] = []
    var taskVcpu: [String: Int] = [:]
    /// Dense model vCPU ids (0..<8) in order of first appearance; value = description.
    var vcpuKeys: [String] = []
    var vcpuNames: [String] = []
    var sawEntry = false
    var contexts: [ZapContext] = []
    var punch: Punch?
    var qemuSlots: [QemuSlot] = []
    var qemuMapGpa: (vcpu: Int, gfn: UInt64, count: UInt64, toPrivate: Bool, loc: TraceLocation)?
    var lastMemoryFault: (gfn: UInt64, loc: TraceLocation)?
    var lastConvertToPrivate: Bool?
    var ignored: [String: Int] = [:]
    var ignoredOrder: [String] = []

    /// Tasks with a pending MapGPA (kept small; zaps check only these).
    var mapGpaTasks: [String] = []

    mutating func setMapGpa(_ t: String, _ m: PendingMapGpa?) {
        tasks[t]!.mapGpa = m
        mapGpaTasks.removeAll { $0 == t }
        if m != nil { mapGpaTasks.append(t) }
    }

    init(_ setup: Setup) {
        self.setup = setup
        if setup.initiallyPrivate { attrs.set(0, 1 << 52, true) }
    }

    static func sat(_ a: UInt64, _ b: UInt64) -> UInt64 { let (r, o) = a.addingReportingOverflow(b); return o ? .max : r }
    static func pagesOf(bytes: UInt64) -> UInt64 { (bytes >> 12) + (bytes & 0xfff != 0 ? 1 : 0) }
    static func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }

    // MARK: emission

    mutating func emit(_ kind: ImportActionKind, _ comments: [String], _ loc: TraceLocation) {
        if case .note = kind {} else { flushPunch() }
        actions.append(ImportAction(kind: kind, comments: comments, loc: loc))
    }

    mutating func note(_ text: String, _ loc: TraceLocation) {
        emit(.note, [text], loc)
    }

    /// Index of the last action that is not a note.
    var lastRealAction: Int? { actions.lastIndex { if case .note = $0.kind { false } else { true } } }

    mutating func task(_ t: String) -> TaskState {
        if let s = tasks[t] { return s }
        tasks[t] = TaskState(); taskOrder.append(t)
        return tasks[t]!
    }

    /// The dense vCPU id for a task (learning it from an event's "vcpu N" when present).
    mutating func vcpu(_ t: String, _ kernelID: Int?) -> Int {
        if let k = kernelID { taskVcpu[t] = k }
        let key = taskVcpu[t].map { "vcpu \($0)" } ?? "task \(t)"
        if let i = vcpuKeys.firstIndex(of: key) { return min(i, 7) }
        vcpuKeys.append(key)
        vcpuNames.append("\(key) (\(t))")
        return min(vcpuKeys.count - 1, 7)
    }

    // MARK: events

    mutating func handle(_ e: TraceEvent) {
        let t = e.task
        _ = task(t)
        switch e.payload {
        case .pageFault(let v, let address, let ec):
            pageFault(t, v, address, ec, e.loc)
        case .spteRequested(let gfn, _, let level):
            if var f = tasks[t]!.fault, covers(f.gfn, gfn, level) { f.requests += 1; tasks[t]!.fault = f }
        case .setSpte(let gfn, _, let level):
            leafMapped(t, gfn, level, e.loc)
        case .spteChanged(let asID, let gfn, let level, let old, let new):
            guard asID == 0, !SPTEValue.isFrozen(old), !SPTEValue.isFrozen(new) else { return }
            let op = SPTEValue.isPresent(old), np = SPTEValue.isPresent(new)
            if !op && np && SPTEValue.isLeaf(new, level: level) { leafMapped(t, gfn, level, e.loc) }
            else if op && !np && SPTEValue.isLeaf(old, level: level) { leafZapped(t, gfn, level, e.loc) }
        case .splitHugePage(let gfn, let level, let errno):
            note("kvm_mmu_split_huge_page gfn \(Self.hex(gfn)) level \(level) errno \(errno) (the model splits inside conversions)", e.loc)
        case .setMemAttributes(let start, let end, let attr):
            setMemAttributes(t, start, end, attr, e.loc)
        case .hypercall(let nr, let a0, let a1, let a2):
            hypercall(t, nr, a0, a1, a2, e)
        case .kvmExit(let v, let reason):
            _ = vcpu(t, v)
            tasks[t]!.lastExitTDCALL = reason == "TDCALL"
        case .kvmEntry(let v):
            kvmEntry(t, vcpu(t, v), e.loc)
        case .userspaceExit(let reason, let code):
            userspaceExit(t, reason, code, e.loc)
        case .unmapHvaRange(let start, let end):
            hostRange(t, start, end - start, e.loc, what: "kvm_unmap_hva_range", punchInPlace: false)
        case .setUserMemory(let slot, let flags, let gpa, let size, let ua, let fd, let off):
            qemuSlots.removeAll { $0.slot == slot }
            if size > 0 { qemuSlots.append(QemuSlot(slot: slot, gpa: gpa, size: size, ua: ua)) }
            let gm = flags & 0x4 != 0 ? " guest_memfd=\(fd ?? -1) offset \(Self.hex(off))" : ""
            note("QEMU memslot \(slot): gpa \(Self.hex(gpa)) size \(Self.hex(size)) ua \(Self.hex(ua))\(gm)\(size == 0 ? " (deleted)" : "")", e.loc)
        case .convertMemory(let start, let size, let toPrivate):
            convertMemory(t, start, size, toPrivate, e.loc)
        case .memoryFault(let start, _, let flags):
            memoryFault(t, start, flags, e.loc)
        case .runExit(let cpu, _):
            _ = vcpu(t, cpu)
        case .hcMapGpaRange(let gpa, let size, let attributes):
            setMapGpa(t, nil)     // the kernel's exit (same anchor) is resolved by this line
            qemuMapGpa = (vcpu(t, nil), (gpa & ~setup.sharedBit) >> 12, Self.pagesOf(bytes: size), attributes & 0x10 != 0, e.loc)
        case .ramBlockStateChange(_, _, let from, let to):
            // Consistency only: discarded = private, populated = shared (research §3).
            if let p = lastConvertToPrivate, p != (to == "discarded") {
                note("ram_block_attributes_state_change '\(from)' -> '\(to)' disagrees with the last conversion (to \(p ? "private" : "shared"))", e.loc)
            }
        case .ramBlockDiscardShared(let block, let hva, let length, let ret):
            if ret != 0 { note("ram_block_discard_shared_range \(block) failed (ret \(ret)): nothing discarded", e.loc); return }
            hostRange(t, hva, length, e.loc, what: "ram_block_discard_shared_range \(block)", punchInPlace: true)
        case .tdxHandleReset:
            note("QEMU tdx_handle_reset", e.loc)
        case .ignored:
            ignore(e.name, e.loc)
        }
    }

    mutating func ignore(_ name: String, _ loc: TraceLocation) {
        if ignored[name] == nil { ignoredOrder.append(name) }
        ignored[name, default: 0] += 1
        // Consecutive lines of one ignored event collapse into one comment.
        if let last = actions.last, case .note = last.kind, let c = last.comments.first, c.hasPrefix("ignored: \(name) ×") {
            let n = Int(c.dropFirst("ignored: \(name) ×".count).prefix { $0.isNumber }) ?? 1
            actions[actions.count - 1].comments = ["ignored: \(name) ×\(n + 1) (not modelled) from \(last.loc)"]
            return
        }
        note("ignored: \(name) ×1 (not modelled) at \(loc)", loc)
    }

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

    /// End of the stream: pending faults, punches and MapGPA exits.
    mutating func finish() {
        for t in taskOrder {
            flushFault(t, "trace ended before a leaf was installed")
            if let m = tasks[t]?.mapGpa {
                setMapGpa(t, nil)
                note(m.notes.joined(separator: "; ") + ": trace ended before the conversion; not emitted", m.loc)
            }
        }
        flushPunch()
    }
}
