/// What the correlator concluded one or more trace events mean, in model terms. The program
/// builder turns actions into ops of the op IR (clipped to the scenario's memslot window).
enum ImportActionKind: Equatable {
    /// A guest access that faulted (kvm_page_fault …). `privateGPA` is known for TDX (shared
    /// bit) and for memory-fault exits (the state the guest wanted); nil = KVM derives it.
    case access(vcpu: Int, gfn: UInt64, write: Bool, privateGPA: Bool?, memoryFault: Bool)
    /// TDX KVM_TDX_INIT_MEM_REGION: private leaves installed before the first kvm_entry.
    case populate(gfn: UInt64, count: UInt64)
    /// KVM_PRE_FAULT_MEMORY: leaves installed without a fault.
    case prefault(vcpu: Int, gfn: UInt64, count: UInt64)
    /// KVM_HC_MAP_GPA_RANGE / TDX MapGPA exit and the VMM's conversion.
    case mapGpa(vcpu: Int, gfn: UInt64, count: UInt64, toPrivate: Bool)
    /// A conversion the VMM did on its own (memory-fault exit, boot-time setup).
    case convert(gfn: UInt64, count: UInt64, toPrivate: Bool)
    /// mmu-notifier invalidation of the shared backing (kvm_unmap_hva_range).
    case hostUnmap(gfn: UInt64, count: UInt64)
    /// fallocate(PUNCH_HOLE) on guest_memfd.
    case punch(gfn: UInt64, count: UInt64)
    /// The first kvm_entry of the VM (TDX: the TD is finalized by then).
    case firstEntry(vcpu: Int)
    /// Only a comment.
    case note
}

struct ImportAction {
    var kind: ImportActionKind
    /// Comments printed before the op(s): what was inferred and from which lines.
    var comments: [String]
    var loc: TraceLocation

    /// The gfn range the action touches, if any.
    var range: (start: UInt64, end: UInt64)? {
        switch kind {
        case .access(_, let g, _, _, _): (g, g &+ 1)
        case .populate(let g, let n), .prefault(_, let g, let n), .mapGpa(_, let g, let n, _), .convert(let g, let n, _),
             .hostUnmap(let g, let n), .punch(let g, let n): (g, g &+ n)
        case .firstEntry, .note: nil
        }
    }
}
