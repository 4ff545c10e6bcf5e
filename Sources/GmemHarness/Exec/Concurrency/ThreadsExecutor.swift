#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GmemModel

/// Threads mode (SPEC §6): the same pool, turnstile off. Logical threads start together and
/// run their ops at once over the real pthread locks, so state a variant stops protecting is
/// a real data race that TSan reports. The setup prefix (the ops before the first op of a
/// second thread) runs first; then every thread is released at once (the tape and PCT are
/// ignored); spin and yield points call sched_yield(). Results are not deterministic; invariants are checked once every
/// thread finished (the checker reads the whole model).
final class FreeRunScheduler: ModelScheduler, @unchecked Sendable {
    let threaded = true
    /// Spins and explicit yields (the preemption windows the deterministic scheduler explores,
    /// e.g. between a host fault's shareability check and its page-cache lookup) give the CPU
    /// away, so those windows open on real threads too.
    func schedPoint(_ m: Model, _ p: SchedPoint) {
        switch p {
        case .spin, .yield: sched_yield()
        case .lock, .unlock: break
        }
    }
    func waitFor(_ l: ModelLock, _ mode: LockMode, _ m: Model) throws(ModelAbort) {
        // Threads mode blocks on the real lock inside Model.lock and never gets here.
        throw ModelAbort.cancelled
    }
}

enum ThreadsExecutor {
    static func run(_ program: Program, options: Executor.Options) -> RunReport {
        let model = Model(config: program.config)
        model.attach(FreeRunScheduler())
        // Each worker writes only its own slot; the pool's join orders them before the merge.
        let results = ResultSlots(count: program.ops.count)
        // The setup prefix (ops before the first op of another thread) runs first, on t0.
        let prefix = program.ops.firstIndex { $0.thread != program.ops.first?.thread ?? 0 } ?? program.ops.count
        LogicalThread.set(program.ops.first?.thread ?? 0)
        for i in 0..<prefix {
            do throws(ModelAbort) {
                results.set(i, (try Executor.apply(program.ops[i], model), nil))
            } catch {
                results.set(i, (.skipped, error))
                break
            }
        }
        var byThread: [Int: [Int]] = [:]
        for (i, op) in program.ops.enumerated() where i >= prefix { byThread[op.thread & 63, default: []].append(i) }
        let ids = byThread.keys.sorted { byThread[$0]![0] < byThread[$1]![0] }
        let ready = Semaphore(), go = Semaphore()
        WorkerPool.shared.run(ids.count) { slot in
            let t = ids[slot]
            LogicalThread.set(t)
            ready.signal()
            go.wait()
            for i in byThread[t]! {
                do throws(ModelAbort) {
                    results.set(i, (try Executor.apply(program.ops[i], model), nil))
                } catch {
                    results.set(i, (.skipped, error))
                    break
                }
            }
        } started: {
            for _ in ids { ready.wait() }
            for _ in ids { go.signal() }
        }
        // Quiescent now: check everything once, then account ops in program order.
        LogicalThread.set(0)
        var report = RunReport()
        var stop = false
        var late = model.drainFindings()
        model.checkInvariants(atOpEnd: true)
        late += model.drainFindings()
        let lastRun = (0..<program.ops.count).last { results.get($0) != nil } ?? -1
        for i in 0..<program.ops.count where !stop {
            guard let (r, abort) = results.get(i) else { continue }
            var fs: [Finding] = abort.map { [$0.finding] } ?? []
            if i == lastRun { fs += late }   // not attributable to one op in threads mode
            stop = Executor.account(i, program.ops[i], r, fs, aborted: abort != nil, model, options, &report)
        }
        report.stoppedEarly = stop
        return report
    }

    /// One result per op, written by the thread that ran it.
    /// Raw storage: element i is written only by the thread running op i, and read after the
    /// pool's join (a Swift array would be one shared variable).
    final class ResultSlots: @unchecked Sendable {
        private let r: UnsafeMutablePointer<(SysResult, ModelAbort?)?>
        private let n: Int
        init(count: Int) {
            n = count
            r = .allocate(capacity: max(count, 1))
            r.initialize(repeating: nil, count: max(count, 1))
        }
        deinit {
            r.deinitialize(count: max(n, 1))
            r.deallocate()
        }
        func set(_ i: Int, _ v: (SysResult, ModelAbort?)) { r[i] = v }
        func get(_ i: Int) -> (SysResult, ModelAbort?)? { r[i] }
    }
}
