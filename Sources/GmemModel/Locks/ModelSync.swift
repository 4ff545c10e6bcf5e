/// Threads mode: what the kernel protects with atomics, RCU, seqcounts or its own internal
/// spinlocks, which the model keeps in plain Swift values. One recursive mutex stands for all of
/// them (each use names the kernel mechanism in a comment); the state the kernel protects with
/// the locks the model does take (invalidate_lock, mmu_lock, slots_lock, folio lock, mmap_lock)
/// is NOT accessed under it, so a variant that drops one of those stays a data race TSan sees.
///
/// Deterministic mode never takes it (one logical thread runs at a time): every use is one
/// predictable branch on `threaded`.
///
/// Never held across a scheduling point (`Model.lock`, `yieldPoint`): a thread blocked on a model
/// lock while holding it would stall every other thread.
public final class ModelSync: @unchecked Sendable {
    /// Set by `Model.attach` before any worker runs (the pool's semaphore orders it).
    public internal(set) var threaded = false
    let mutex = HarnessMutex(recursive: true)

    public init() {}

    @inline(__always) func lock() { if threaded { mutex.lock() } }
    @inline(__always) func unlock() { if threaded { mutex.unlock() } }

    @inline(__always) func locked<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        if !threaded { return try body() }
        mutex.lock()
        defer { mutex.unlock() }
        return try body()
    }
}
