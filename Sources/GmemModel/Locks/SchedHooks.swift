#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What kind of scheduling point a logical thread reached (for the scheduler's policy and the
/// step trace). SPEC §6: lock wrappers and explicit yields are the only places threads switch.
public enum SchedPoint {
    /// About to acquire (before lockdep and before waiting).
    case lock(ModelLock, LockMode)
    /// Just released.
    case unlock(ModelLock)
    /// Preemptible without a lock change (cond_resched, between two unlocked steps).
    case yield(StaticString)
    /// A retry loop going round again: a fair scheduler runs someone else first.
    case spin(StaticString)

    public var text: String {
        switch self {
        case .lock(let l, let m): "lock \(l.label)\(m == .shared ? " r" : "")"
        case .unlock(let l): "unlock \(l.label)"
        case .yield(let s): "yield \(s)"
        case .spin(let s): "spin \(s)"
        }
    }
}

/// The concurrency layer as the model sees it (implemented in GmemHarness).
public protocol ModelScheduler: AnyObject {
    /// Threads mode: logical threads run at once over the real locks; no turnstile.
    var threaded: Bool { get }
    /// Deterministic mode: may run other logical threads before returning.
    func schedPoint(_ m: Model, _ p: SchedPoint)
    /// Deterministic mode: the current thread cannot get `l` in `mode` now. Returns when the
    /// thread was picked again (the caller re-checks), throws the deadlock finding when no
    /// thread can run, or an abort when the run is being torn down.
    func waitFor(_ l: ModelLock, _ mode: LockMode, _ m: Model) throws(ModelAbort)
}

/// A plain pthread mutex for harness bookkeeping (not a kernel lock: no lockdep class).
/// `recursive: true` for `Model.atomicSection`, whose users nest (folio_put -> WARN -> report).
public final class HarnessMutex: @unchecked Sendable {
    private let m: UnsafeMutablePointer<pthread_mutex_t>
    public init(recursive: Bool = false) {
        m = .allocate(capacity: 1)
        if recursive {
            var a = pthread_mutexattr_t()
            pthread_mutexattr_init(&a)
            pthread_mutexattr_settype(&a, Int32(PTHREAD_MUTEX_RECURSIVE))
            pthread_mutex_init(m, &a)
            pthread_mutexattr_destroy(&a)
        } else {
            pthread_mutex_init(m, nil)
        }
    }
    deinit {
        pthread_mutex_destroy(m)
        m.deallocate()
    }
    @inline(__always) public func lock() { pthread_mutex_lock(m) }
    @inline(__always) public func unlock() { pthread_mutex_unlock(m) }
    @inline(__always) public func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(m)
        defer { pthread_mutex_unlock(m) }
        return try body()
    }
    /// The raw mutex, for a condition variable.
    public var raw: UnsafeMutablePointer<pthread_mutex_t> { m }
}

/// The logical thread id of the calling OS thread in threads mode (thread-local storage).
public enum LogicalThread {
    private static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k, nil)
        return k
    }()

    public static var current: Int {
        Int(bitPattern: pthread_getspecific(key)) - 1
    }

    public static func set(_ t: Int) {
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: t + 1))
    }
}
