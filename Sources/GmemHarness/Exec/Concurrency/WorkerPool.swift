#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GmemModel

/// A counting semaphore over a pthread mutex + condition variable (TSan sees the hand-offs).
final class Semaphore: @unchecked Sendable {
    private let mu = HarnessMutex()
    private let cv: UnsafeMutablePointer<pthread_cond_t>
    private var count = 0   // protected by `mu`

    init() {
        cv = .allocate(capacity: 1)
        pthread_cond_init(cv, nil)
    }
    deinit {
        pthread_cond_destroy(cv)
        cv.deallocate()
    }

    func signal() {
        mu.lock()
        count += 1
        pthread_cond_signal(cv)
        mu.unlock()
    }

    func wait() {
        mu.lock()
        while count == 0 { pthread_cond_wait(cv, mu.raw) }
        count -= 1
        mu.unlock()
    }
}

/// One persistent OS thread that runs jobs handed to it (SPEC §10: creating a thread costs
/// ~0.3 ms under TSan, so no thread is created per input).
final class Worker: @unchecked Sendable {
    private let go = Semaphore()
    /// Set before `go.signal()`, read after `go.wait()`: ordered by the semaphore.
    private var job: (() -> Void)?
    private var done: Semaphore?

    init() {
        let box = Unmanaged.passRetained(self).toOpaque()
        var tid = pthread_t()
        let rc = pthread_create(&tid, nil, { arg in
            let w = Unmanaged<Worker>.fromOpaque(arg!).takeRetainedValue()
            w.loop()
        }, box)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        pthread_detach(tid)
    }

    private func loop() -> Never {
        while true {
            go.wait()
            let j = job!, d = done!
            job = nil
            done = nil
            j()
            d.signal()
        }
    }

    func start(_ j: @escaping () -> Void, done d: Semaphore) {
        job = j
        done = d
        go.signal()
    }
}

/// A crew of workers checked out by one run at a time; crews are kept and reused, so tests
/// running in parallel each get their own and a fuzzing process keeps one forever.
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool()
    private let mu = HarnessMutex()
    private var idle: [[Worker]] = []   // protected by `mu`

    /// Run `body(i)` for i in 0..<n, each on its own worker, and return when all returned.
    /// `started` runs on the calling thread once every job was handed out.
    func run(_ n: Int, _ body: @escaping (Int) -> Void, started: () -> Void = {}) {
        mu.lock()
        var crew = idle.popLast() ?? []
        mu.unlock()
        while crew.count < n { crew.append(Worker()) }
        let done = Semaphore()
        for i in 0..<n { crew[i].start({ body(i) }, done: done) }
        started()
        for _ in 0..<n { done.wait() }
        mu.lock()
        idle.append(crew)
        mu.unlock()
    }
}
