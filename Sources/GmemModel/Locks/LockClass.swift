/// Lock classes as lockdep sees them (gmem-semantics §4.1). Order of declaration is irrelevant;
/// the order graph is learned from what the model actually acquires within one run.
public enum LockClass: Int, CaseIterable, Sendable {
    case slotsLock = 0      // kvm->slots_lock (mutex)
    case invalidateLock     // inode->i_mapping->invalidate_lock (rw_semaphore)
    case mmuLock            // kvm->mmu_lock (rwlock_t on x86: read side is recursive)
    case folioLock          // folio lock (bit lock; sleeping)
    case mmapLock           // mm->mmap_lock (rw_semaphore)
    case tdrLock            // TDX module TDR lock (issue 3)
    case srcu               // kvm->srcu: read side around faults; synchronize_srcu in slot updates

    public var name: String {
        switch self {
        case .slotsLock: "slots_lock"
        case .invalidateLock: "invalidate_lock"
        case .mmuLock: "mmu_lock"
        case .folioLock: "folio_lock"
        case .mmapLock: "mmap_lock"
        case .tdrLock: "tdr_lock"
        case .srcu: "srcu"
        }
    }

    /// rwlock_t readers may recurse; rw_semaphore / mutex may not (lockdep "recursive locking").
    var readRecursive: Bool { self == .mmuLock || self == .srcu }

    /// SRCU readers never wait (not even behind a pending synchronize_srcu), so taking the read
    /// side cannot close a wait-for cycle: lockdep records no edge into it (lockdep's
    /// recursive-read rule; only synchronize_srcu under a lock the readers take can deadlock).
    var readNeverBlocks: Bool { self == .srcu }
}

public enum LockMode: Sendable { case exclusive, shared }
