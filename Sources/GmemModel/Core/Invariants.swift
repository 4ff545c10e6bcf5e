/// The invariant registry: every id the checker can report, with its one-line statement and the
/// research item it comes from. Ids are stable; never renumber, only append.
///   G = guest_memfd and host mm, K = KVM MMU and invalidation, L = locks, T = TDX (issue 3).
public enum InvariantID: String, CaseIterable, Sendable {
    case G1, G2, G3, G4, G5, G6, G7, G8, G9, G10, G11, G12, G13, G14, G15, G16, G17, G18, G19
    case K1, K2, K3, K4, K5, K6, K7
    case L1, L2, L3
    case T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14

    public var statement: String {
        switch self {
        case .G1: "every index in [0, size) has exactly one attribute and adjacent equal ranges are merged (gmem I1)"
        case .G2: "no host PTE in any process maps a PRIVATE index (gmem I2)"
        case .G3: "host access to a PRIVATE index never returns data (gmem I3)"
        case .G4: "no GUP ref or long-term pin on a folio backing a PRIVATE index (gmem I4, I5)"
        case .G5: "folio refcount == filemap refs + host PTEs + GUP refs + 1024*pins + transient + lru batch + in-flight caller refs + TDX refs (gmem §1.7, I12)"
        case .G6: "a folio is freed exactly when it is out of the filemap and its refcount is 0 (gmem I12)"
        case .G7: "no host PTE or stage-2 mapping points at a freed frame: no mapping outlives its folio (gmem I13)"
        case .G8: "no host PTE or stage-2 mapping points at a folio removed from the filemap (gmem I13)"
        case .G9: "a failed KVM_SET_MEMORY_ATTRIBUTES(2) changes no attribute; EAGAIN error_offset lies in the request and names a page with unexpected refs; ENOMEM error_offset == offset (gmem I15)"
        case .G10: "EAGAIN is returned only for to-private conversions (gmem I16)"
        case .G11: "a no-op conversion has no side effects: no host unmap, no zap (gmem I17)"
        case .G12: "allocation, punch-hole and release never change attributes (gmem I18)"
        case .G13: "memory handed to the host or the guest was zeroed (uptodate) or populated since allocation (gmem I19)"
        case .G14: "a hwpoisoned folio is never mapped to the guest; memory failure does not truncate (gmem I21)"
        case .G15: "kvm_gmem_get_pfn never succeeds for a released file or a foreign binding (gmem I22)"
        case .G16: "bindings of a file never overlap and never point at a deleted memslot; no SPTE from a released file survives release (gmem I23)"
        case .G17: "a to-private conversion blocked only by per-CPU lru_add batch refs must not fail: nothing else drops those refs, so a retry never succeeds (gmem I28, B5)"
        case .G18: "a huge folio (order > 0) backs only PRIVATE indices and is never mapped by a host PTE: shared pages are order 0 (gmem I11, §3.1)"
        case .G19: "a folio is split or merged only when no host PTE maps it and no stage-2 leaf larger than the resulting pieces maps it (gmem I10, B16)"
        case .K1: "mmu_invalidate_in_progress >= 0 and every invalidate begin has its end before the syscall returns (gmem I14)"
        case .K2: "a stage-2 private mapping has attr PRIVATE and a gmem-backed shared mapping has attr SHARED, unless an invalidation covering the gfn is in progress (gmem I7)"
        case .K3: "after a conversion no stage-2 mapping of the old type remains in range, and no mapping already of the target type was zapped (gmem I8, B1)"
        case .K4: "a stage-2 mapping points at the frame the gmem filemap (or slot backing) currently holds for that gfn (gmem I13, I23)"
        case .K5: "a stage-2 leaf maps pages of one folio only: its size is <= the folio size, it lies inside the folio (gmem I9, I27; level <= folio order)"
        case .K6: "a vCPU fault does not retry forever once all invalidations have ended (gmem I29)"
        case .K7: "a huge stage-2 leaf never spans mixed attributes or pages outside its memslot, unless an invalidation covering it is in progress (gmem I9, I27; lpage_info)"
        case .L1: "no lock is held when a syscall or guest access returns"
        case .L2: "a lock is never re-acquired by the task that holds it (gmem I24, D1)"
        case .L3: "the lock acquisition-order graph stays acyclic (gmem I24, D2)"
        case .T1: "outside FROZEN windows and while the VM is not bugged, a mirror leaf with pfn p <=> an S-EPT leaf with HPA p in MAPPED or PENDING, mirror non-leaf <=> S-EPT non-leaf, no mirror entry <=> S-EPT FREE; <= 6.18 premapped leaves excepted (tdx I1)"
        case .T2: "nr_premapped == #(mirror leaf with S-EPT FREE) >= 0, and 0 once the TD is RUNNABLE (tdx I2)"
        case .T3: "a mirror leaf maps a PRIVATE gfn (outside an invalidation covering it) and the folio guest_memfd holds at the bound index (tdx I3)"
        case .T4: "a page returned to the allocator is referenced by no S-EPT entry and owned by no TD in the PAMT (tdx I4; reachable only after a KVM_BUG_ON)"
        case .T5: "TDX folio refs follow the policy: R0 one per S-EPT or premapped leaf, R2 only on pages whose removal failed, R3 none (tdx I5)"
        case .T6: "an S-EPT leaf exists only while the HKID is assigned (tdx I6)"
        case .T7: "no mirror non-leaf SPTE goes away while the HKID is assigned (tdx I7)"
        case .T8: "mirror set-to-present only under mmu_lock read, removal and TRACK only under write; no FROZEN SPTE and wait_for_sept_zap clear once mmu_lock is released (tdx I8)"
        case .T9: "PAGE.ADD / MR.EXTEND only before RUNNABLE with pre_fault_allowed clear, AUG only when RUNNABLE, pre_fault_allowed => RUNNABLE (tdx I9)"
        case .T10: "no vCPU in guest mode lags two TD epochs: TRACK N+1 waits for epoch N-1 to drain (tdx I10)"
        case .T11: "the pfn PAGE.ADD adds is the pfn the mirror maps for that gfn (tdx I11)"
        case .T12: "populate installs a page with the gmem invalidate_lock held exclusively (tdx I12)"
        case .T13: "a mirror or S-EPT leaf level is <= the order of the folio behind it (tdx I13)"
        case .T14: "a to-private conversion never fails forever on TDX's long-term folio refs, which guest_memfd cannot attribute (tdx B14/B15, R0/R2)"
        }
    }

    public var kind: FindingKind {
        switch self {
        case .L2: .deadlock
        case .L3: .lockdep
        case .K6, .G17, .T14: .liveness
        default: .invariant
        }
    }
}

extension Finding {
    public static func invariant(_ id: InvariantID, _ message: String) -> Finding {
        Finding(kind: id.kind, id: id.rawValue, message: message)
    }
    /// A WARN_ON / KVM_BUG_ON site in the modelled kernel, named by its function.
    public static func warn(_ site: String, _ message: String) -> Finding {
        Finding(kind: .warn, id: site, message: message)
    }
}
