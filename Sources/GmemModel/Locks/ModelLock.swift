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
/// `@unchecked Sendable`: in threads mode (concurrency issue) several OS threads call lock/unlock;
/// the holder bookkeeping is only touched while the pthread lock itself is held (or, in
/// deterministic mode, by the single running logical thread).
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
        pthread_rwlock_destroy(rw)
        rw.deallocate()
    }

    public var isFree: Bool { writer < 0 && readers.isEmpty }

    func heldBy(_ t: Int) -> Bool { writer == t || readers.contains(t) }

    /// Whether `mode` could be granted now (ignoring the requester's own holds).
    func available(_ mode: LockMode) -> Bool {
        mode == .shared ? writer < 0 : isFree
    }

    func grant(_ mode: LockMode, to t: Int) {
        switch mode {
        case .exclusive:
            writer = t
            pthread_rwlock_wrlock(rw)
        case .shared:
            readers.append(t)
            pthread_rwlock_rdlock(rw)
        }
    }

    func drop(_ mode: LockMode, by t: Int) {
        switch mode {
        case .exclusive:
            writer = -1
        case .shared:
            if let i = readers.lastIndex(of: t) { readers.remove(at: i) }
        }
        pthread_rwlock_unlock(rw)
    }
}
