#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GmemModel

/// Threads mode (SPEC §6): the same pool, turnstile off. Logical threads start together and
/// run their ops at once over the real pthread locks, so state a variant stops protecting is
/// a real data race that TSan reports. The schedule only orders the start: threads are
/// released in the order of their first op (tape or PCT ignored beyond that); spin points
/// call sched_yield(). Results are not deterministic; invariants are checked once every
/// thread finished (the checker reads the whole model).
final class FreeRunScheduler: ModelScheduler, @unchecked Sendable {
    let threaded = true
    func schedPoint(_ m: Model, _ p: SchedPoint) {
        if case .spin = p { sched_yield() }
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
        var byThread: [Int: [Int]] = [:]
        for (i, op) in program.ops.enumerated() { byThread[op.thread & 63, default: []].append(i) }
        let ids = byThread.keys.sorted { byThread[$0]![0] < byThread[$1]![0] }
        // Each worker writes only its own slot; the pool's join orders them before the merge.
        let results = ResultSlots(count: program.ops.count)
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
    final class ResultSlots: @unchecked Sendable {
        private var r: [(SysResult, ModelAbort?)?]
        init(count: Int) { r = Array(repeating: nil, count: count) }
        func set(_ i: Int, _ v: (SysResult, ModelAbort?)) { r.withUnsafeMutableBufferPointer { $0[i] = v } }
        func get(_ i: Int) -> (SysResult, ModelAbort?)? { r[i] }
    }
}
