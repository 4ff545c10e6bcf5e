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
