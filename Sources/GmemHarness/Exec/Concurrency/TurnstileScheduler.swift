import GmemModel

/// Deterministic mode (SPEC §6 design (a), shuttle/loom style): every logical thread runs on
/// its own persistent pool thread, and a turnstile lets exactly one of them run between two
/// scheduling points. At each point the policy picks the next thread from the runnable ones;
/// a thread waiting for a held model lock is not runnable until the lock is free.
final class TurnstileScheduler: ModelScheduler, @unchecked Sendable {
    // Everything below is touched only by the thread holding the turnstile (or by the
    // coordinator before any worker runs); hand-offs go through `Semaphore`, which orders them.
    enum State { case ready, blocked(ModelLock, LockMode), done }

    struct LThread {
        let id: Int
        /// Program indices of this thread's ops, in program order.
        let ops: [Int]
        var next = 0
        var inOp = false
        /// Switched away at a spin point (a retry loop, a vCPU in guest mode) and not resumed.
        var parkedInSpin = false
        /// Decision at which it last parked in a spin (FIFO among spinners).
        var parkedAt = 0
        var state: State = .ready
        let sem = Semaphore()
        var done: Bool { if case .done = state { return true } else { return false } }
    }

    let threaded = false
    private(set) var threads: [LThread]
    private var slotOf = [Int](repeating: -1, count: 64)
    private var running = -1
    private var policy: SchedulePolicy
    private var decisions = 0
    /// Logical thread id that ran each step (the realized schedule: `schedule steps=` of it
    /// replays this run exactly).
    private(set) var steps: [Int] = []
    /// Per decision: the program index of the op the picked thread then runs (continues or
    /// starts), and the thread program order would have picked. The minimizer uses them to
    /// keep a tape aligned when it removes ops, and to count preemptions (steps != defaults).
    private(set) var stepOps: [Int] = []
    private(set) var stepDefaults: [Int] = []
    /// One line per decision when tracing.
    private(set) var trace: [String]?
    /// Set when the run ends early (unexpected finding, deadlock): threads unwind one by one,
    /// without switching; a thread waiting for a lock gets `ModelAbort.cancelled`.
    var aborting = false
    /// A deadlock found when the last runnable thread finished: thrown in a waiter.
    private var pendingDeadlock: Finding?
    unowned let model: Model
    /// Called on each switch away from a thread: attribute the model's new findings to it.
    var onSwitchAway: ((Int) -> Void)?

    init(program: Program, model: Model, trace: Bool) {
        var byThread: [Int: [Int]] = [:]
        for (i, op) in program.ops.enumerated() { byThread[op.thread & 63, default: []].append(i) }
        threads = byThread.keys.sorted().map { LThread(id: $0, ops: byThread[$0]!) }
        for (s, t) in threads.enumerated() { slotOf[t.id] = s }
        policy = SchedulePolicy(program.schedule, threads: threads.count,
                                estimatedSteps: 12 * program.ops.count)
        self.model = model
        self.trace = trace ? [] : nil
    }

    var threadCount: Int { threads.count }
    func threadID(_ slot: Int) -> Int { threads[slot].id }
    var runningSlot: Int { running }
    /// Some thread other than `slot` is in the middle of an op.
    func othersInFlight(_ slot: Int) -> Bool {
        threads.indices.contains { $0 != slot && threads[$0].inOp }
    }

    // MARK: runnable set and decisions

    private func runnable(_ s: Int) -> Bool {
        switch threads[s].state {
        case .done: return false
        case .blocked(let l, let m): return l.available(m, by: threads[s].id)
        case .ready: return threads[s].inOp || threads[s].next < threads[s].ops.count
        }
    }

    /// Program index of the op a thread is in or will start next.
    private func programIndex(_ s: Int) -> Int {
        let t = threads[s]
        return t.next < t.ops.count ? t.ops[t.next] : Int.max
    }

    private func decide(_ why: String, spinning: Bool = false) -> Int? {
        var cands = threads.indices.filter(runnable)
        if cands.isEmpty { return nil }
        if spinning && cands.count > 1 { cands.removeAll { $0 == running } }
        let cur: Int? = running >= 0 && cands.contains(running) ? running : nil
        decisions += 1
        let fallback: Int
        if let c = cur, threads[c].inOp { fallback = c } else {
            // Spinners (background actors, retry loops) run only when nobody else can, and
            // then the one parked longest first (a spinner waiting for another spinner's ack
            // must not starve behind it).
            let busy = cands.filter { !threads[$0].parkedInSpin }
            if busy.isEmpty {
                fallback = cands.min { (threads[$0].parkedAt, $0) < (threads[$1].parkedAt, $1) }!
            } else {
                fallback = busy.min { self.programIndex($0) < self.programIndex($1) }!
            }
        }
        let pick = policy.choose(decision: decisions, candidates: cands, current: cur, spinning: spinning,
                                 slotOf: { $0 >= 0 && $0 < 64 && self.slotOf[$0] >= 0 ? self.slotOf[$0] : nil },
                                 programOrderPick: { fallback })
        steps.append(threads[pick].id)
        stepOps.append(programIndex(pick))
        stepDefaults.append(threads[fallback].id)
        if trace != nil {
            let from = running >= 0 ? "t\(threads[running].id) \(why)" : "start"
            trace!.append("step \(steps.count - 1): \(from) -> t\(threads[pick].id)")
        }
        return pick
    }

    /// Hand the turnstile to `next` and wait until someone hands it back.
    private func switchTo(_ next: Int) {
        let me = running
        if next == me { return }
        if me >= 0 { onSwitchAway?(me) }
        running = next
        model.current = threads[next].id
        threads[next].sem.signal()
        if me >= 0 { threads[me].sem.wait() }
    }

    // MARK: ModelScheduler

    func schedPoint(_ m: Model, _ p: SchedPoint) {
        if aborting { return }
        var spinning = false
        if case .spin = p { spinning = true }
        guard let next = decide(trace != nil ? p.text : "", spinning: spinning) else { return }
        if next == running { return }
        let me = running
        threads[me].parkedInSpin = spinning
        if spinning { threads[me].parkedAt = decisions }
        switchTo(next)
        threads[me].parkedInSpin = false
    }

    func waitFor(_ l: ModelLock, _ mode: LockMode, _ m: Model) throws(ModelAbort) {
        if aborting { throw ModelAbort.cancelled }
        let me = running
        threads[me].state = .blocked(l, mode)
        guard let next = decide(trace != nil ? "waits for \(l.label)" : "") else {
            let f = deadlockFinding(from: me)
            threads[me].state = .ready
            aborting = true
            throw ModelAbort(f)
        }
        switchTo(next)
        threads[me].state = .ready
        if let d = pendingDeadlock {
            pendingDeadlock = nil
            throw ModelAbort(d)
        }
        if aborting { throw ModelAbort.cancelled }
    }

    /// The wait-for chain from `start`: (thread, lock, held by) until it closes a cycle.
    private func deadlockFinding(from start: Int) -> Finding {
        var parts: [String] = []
        var classes = Set<String>()
        var seen = Set<Int>()
        var s = start
        while !seen.contains(s) {
            seen.insert(s)
            guard case .blocked(let l, let mode) = threads[s].state else { break }
            classes.insert(l.cls.name)
            let holders = l.writer >= 0 ? [l.writer] : l.readers
            let queued = mode == .shared && l.writer < 0 && l.waitingWriters > 0 ? ", queued behind a waiting writer" : ""
            parts.append("t\(threads[s].id) waits for \(l.label) (\(mode == .shared ? "shared" : "exclusive")) held by \(holders.map { "t\($0)" }.joined(separator: ","))\(queued)")
            guard let h = holders.first(where: { slotOf[$0 & 63] >= 0 }) else { break }
            s = slotOf[h & 63]
        }
        let closed = seen.contains(s) && s == start
        return Finding(kind: .deadlock, id: classes.sorted().joined(separator: "+"),
                       message: parts.joined(separator: "; ") + (closed ? ": wait-for cycle, no thread can run" : ": no thread can run"))
    }

    // MARK: running a program

    /// Runs every logical thread on the pool; `runOp(slot, programIndex)` executes one op on
    /// the calling worker. Returns when every thread finished or was unwound.
    func run(_ runOp: @escaping (Int, Int) -> Void) {
        guard let first = decide("") else { return }
        running = first
        model.current = threads[first].id
        threads[first].sem.signal()
        WorkerPool.shared.run(threads.count) { slot in self.body(slot, runOp) }
    }

    private func body(_ s: Int, _ runOp: (Int, Int) -> Void) {
        threads[s].sem.wait()
        while !aborting && threads[s].next < threads[s].ops.count {
            threads[s].inOp = true
            runOp(s, threads[s].ops[threads[s].next])
            threads[s].inOp = false
            threads[s].next += 1
            if !aborting && threads[s].next < threads[s].ops.count, let n = decide("op end") { switchTo(n) }
        }
        threads[s].state = .done
        onSwitchAway?(s)
        // Pass the turnstile on: to a runnable thread, else (unwinding) to anyone not done.
        var next = aborting ? nil : decide("exits")
        if next == nil, let waiter = threads.indices.first(where: { !threads[$0].done }) {
            if !aborting {
                aborting = true
                pendingDeadlock = deadlockFinding(from: waiter)
            }
            next = waiter
        }
        guard let n = next else { return }
        running = n
        model.current = threads[n].id
        threads[n].sem.signal()
    }
}

extension ModelAbort {
    /// Thrown into a waiting thread while a run is torn down; not a finding.
    static let cancelled = ModelAbort(Finding(kind: .deadlock, id: "<cancelled>", message: "run torn down"))
    var isCancelled: Bool { finding.id == "<cancelled>" }
}
