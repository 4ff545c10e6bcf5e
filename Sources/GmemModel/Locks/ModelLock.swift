#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A kernel lock: a real pthread rwlock (visible to TSan) plus the model's own record of who
/// holds it, which feeds the lockdep validator and lets the deterministic scheduler know a
/// waiter is not runnable. Acquiring a lock the model knows is unavailable never blocks the OS
/// thread: it is reported (self-deadlock) or handed to the scheduler.
///
/// `@unchecked Sendable`: in threads mode several OS threads call lock/unlock; the holder
/// bookkeeping (`writer`, `readers`) is only touched inside `Model.atomicSection` there, and in
/// deterministic mode only by the one logical thread the turnstile lets run.
public final class ModelLock: @unchecked Sendable {
    public let cls: LockClass
    /// Instance label for reports, e.g. "invalidate_lock(gmem0)".
    public let label: String
    private let rw: UnsafeMutablePointer<pthread_rwlock_t>
    /// Logical thread holding it exclusively, or -1.
    public internal(set) var writer: Int = -1
    /// Logical threads holding it shared (with multiplicity for recursive readers).
    public internal(set) var readers: [Int] = []

    public init(_ cls: LockClass, _ label: String) {
        self.cls = cls
        self.label = label
        rw = .allocate(capacity: 1)
        pthread_rwlock_init(rw, nil)
    }

    deinit {
        // An aborted op's locks are dropped by Model.abandonLocks, so a lock is free here. If
        // one is not (a model bug), leak the few bytes rather than destroy a locked rwlock
        // (undefined behaviour; TSan reports it): LeakSanitizer then points at it.
        guard isFree else { return }
        pthread_rwlock_destroy(rw)
        rw.deallocate()
    }

    public var isFree: Bool { writer < 0 && readers.isEmpty }

    func heldBy(_ t: Int) -> Bool { writer == t || readers.contains(t) }

    /// Deterministic mode: logical threads sleeping for it exclusively (Model.lock).
    public internal(set) var waitingWriters = 0

    /// Whether `mode` could be granted to logical thread `t` now (ignoring its own holds). A
    /// sleeping writer blocks new readers of an rw_semaphore (rwsem_down_read_slowpath() queues
    /// behind waiters once the writer set RWSEM_FLAG_HANDOFF), which is what turns a read-read
    /// AB-BA into a real deadlock; rwlock_t readers (mmu_lock, read-recursive) are not held back.
    /// SRCU: synchronize_srcu() waits only for the read sections that predate it and always
    /// completes; the model's stand-in (a writer on this lock) would starve behind a stream of
    /// new sections (a vCPU retrying its fault on a slot being deleted), so a *new* section waits
    /// for a pending synchronize while a nested one never does. The only synchronizer
    /// (slotDelete) holds slots_lock, which no fresh reader holds, so this adds no deadlock.
    public func available(_ mode: LockMode, by t: Int) -> Bool {
        guard mode == .shared else { return isFree }
        if writer >= 0 { return false }
        if waitingWriters == 0 { return true }
        if cls == .srcu { return readers.contains(t) }
        return cls.readRecursive
    }

    /// Bookkeeping: `t` now holds it (deterministic mode: before acquireOS; threads mode:
    /// after it, inside the atomic section).
    func record(_ mode: LockMode, by t: Int) {
        switch mode {
        case .exclusive: writer = t
        case .shared: readers.append(t)
        }
    }

    func forget(_ mode: LockMode, by t: Int) {
        switch mode {
        case .exclusive: writer = -1
        case .shared: if let i = readers.lastIndex(of: t) { readers.remove(at: i) }
        }
    }

    /// The real lock. Deterministic mode only calls it when the bookkeeping says it is free,
    /// so it never blocks there.
    func acquireOS(_ mode: LockMode) {
        switch mode {
        case .exclusive: pthread_rwlock_wrlock(rw)
        case .shared: pthread_rwlock_rdlock(rw)
        }
    }

    /// How long threads mode waits for a real lock before calling it a deadlock.
    static let threadedTimeoutMs = 2000

    /// Threads mode: block on the real lock, giving up after `timeoutMs` (a real deadlock must
    /// become a finding, not a hang).
    func acquireOS(_ mode: LockMode, timeoutMs: Int) -> Bool {
        let r = mode == .exclusive ? pthread_rwlock_trywrlock(rw) : pthread_rwlock_tryrdlock(rw)
        if r == 0 { return true }
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let ns = Int(ts.tv_nsec) + timeoutMs * 1_000_000
        ts.tv_sec += ns / 1_000_000_000
        ts.tv_nsec = ns % 1_000_000_000
        let r2 = mode == .exclusive ? pthread_rwlock_timedwrlock(rw, &ts) : pthread_rwlock_timedrdlock(rw, &ts)
        return r2 == 0
    }

    func releaseOS() { pthread_rwlock_unlock(rw) }

    /// Threads mode: a 100 µs sleep between polls of the model's own bookkeeping.
    static func nap() { usleep(100) }
}
