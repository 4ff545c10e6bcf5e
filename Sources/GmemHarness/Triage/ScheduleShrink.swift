import GmemModel

/// Schedule shrinking for the minimizer (SPEC §6/§7: "fewer preemptions, fewer threads").
/// Anchors: shuttle and loom replay a schedule as its list of decisions and shrink it by
/// dropping preemptions; PCT's bug-depth result says few preemptions suffice, so a reproducer
/// should show only those.
///
/// Vocabulary: the *realized* schedule of a run is the thread picked at every decision
/// (`RunReport.steps`); a *preemption* is a decision where that differs from the program-order
/// pick (`RunReport.stepDefaults`). A tape that spells out the realized steps up to the last
/// preemption replays the run exactly (after the tape the executor falls back to program
/// order, which is what the run did anyway): that is the *canonical* tape.
extension Minimizer {
    /// The realized steps of `p` up to its last preemption; nil when `p` ran no scheduled
    /// steps (single thread, or an oracle that does not report them).
    mutating func canonicalTape(_ p: Program) -> [Int]? {
        let o = outcome(p)
        guard !o.steps.isEmpty, o.steps.count == o.stepDefaults.count else { return nil }
        guard let last = o.steps.indices.last(where: { o.steps[$0] != o.stepDefaults[$0] }) else { return [] }
        return Array(o.steps[...last].prefix(ByteCodec.maxScheduleSteps))
    }

    /// The tape for `p` with the ops at `gone` deleted: `p`'s realized steps minus the steps in
    /// which a deleted op ran, up to the last remaining preemption. nil when `p` has no schedule.
    mutating func realignedTape(_ p: Program, removing gone: Set<Int>) -> [Int]? {
        guard p.schedule != nil else { return nil }
        let o = outcome(p)
        guard !o.steps.isEmpty, o.steps.count == o.stepOps.count, o.steps.count == o.stepDefaults.count else { return nil }
        var tape: [Int] = []
        var lastPreemption = -1
        for k in o.steps.indices where !gone.contains(o.stepOps[k]) {
            tape.append(o.steps[k])
            if o.steps[k] != o.stepDefaults[k] { lastPreemption = tape.count - 1 }
        }
        return Array(tape.prefix(lastPreemption + 1).prefix(ByteCodec.maxScheduleSteps))
    }

    /// 6. Drop the schedule; else (pct) take the steps it produced when they read shorter; then
    /// (steps) canonical tape, fewer preemptions (from the last one back), shorter runs.
    mutating func shrinkSchedule(_ p: inout Program) {
        guard let sched = p.schedule else { return }
        var none = p
        none.schedule = nil
        if tryAccept(&p, none) { return }
        if case .pct(let seed, let depth) = sched {
            if let tape = canonicalTape(p), !tape.isEmpty,
               ScenarioPrinter.scheduleLine(.steps(tape)).count < ScenarioPrinter.scheduleLine(sched).count {
                tryAcceptTape(&p, tape)
            } else if depth > 1 {
                var c = p
                c.schedule = .pct(seed: seed, depth: depth - 1)
                tryAccept(&p, c)
            }
            guard case .steps = p.schedule else { return }
        }
        canonicalize(&p)
        shortestPrefix(&p)
        dropPreemptions(&p)
        shortenRuns(&p)
        canonicalize(&p)
    }

    func tape(_ p: Program) -> [Int] { if case .steps(let s) = p.schedule { s } else { [] } }

    @discardableResult
    mutating func tryAcceptTape(_ p: inout Program, _ t: [Int]) -> Bool {
        var c = p
        // An empty tape is program order; keep one step so the run stays on the scheduler.
        c.schedule = .steps(t.isEmpty ? Array(tape(p).prefix(1)) : t)
        return tryAccept(&p, c)
    }

    /// Replace the tape with the canonical one (same run, no steps after the last preemption,
    /// no entries naming threads that could not run).
    mutating func canonicalize(_ p: inout Program) {
        guard let t = canonicalTape(p), t != tape(p) else { return }
        tryAcceptTape(&p, t)
    }

    /// Bisect the shortest tape prefix that keeps the signature (drops a tail of preemptions
    /// at once; not every prefix is tested, so single preemptions follow).
    mutating func shortestPrefix(_ p: inout Program) {
        let t = tape(p)
        var lo = 1, hi = t.count
        while lo < hi {
            let mid = (lo + hi) / 2
            var c = p
            c.schedule = .steps(Array(t.prefix(mid)))
            if keeps(c) { hi = mid } else { lo = mid + 1 }
        }
        if hi < t.count {
            tryAcceptTape(&p, Array(t.prefix(hi)))
            canonicalize(&p)
        }
    }

    /// Remove preemptions one at a time, the last first: the step becomes the program-order
    /// pick, else it is deleted (later steps move one decision earlier). To a fixpoint.
    mutating func dropPreemptions(_ p: inout Program) {
        var changed = true
        while changed {
            changed = false
            let o = outcome(p)
            let t = tape(p)
            guard o.steps.count >= t.count, o.stepDefaults.count >= t.count else { return }
            for k in t.indices.reversed() where o.steps[k] != o.stepDefaults[k] {
                var asDefault = t
                asDefault[k] = o.stepDefaults[k]
                var deleted = t
                deleted.remove(at: k)
                if tryAcceptTape(&p, asDefault) || tryAcceptTape(&p, deleted) {
                    canonicalize(&p)
                    changed = true
                    break
                }
            }
        }
    }

    /// Delete single entries from the back: shortens the run an entry belongs to, so the steps
    /// after it happen one decision earlier (one try per run: every entry of a run gives the
    /// same tape, and the memo answers the rest).
    mutating func shortenRuns(_ p: inout Program) {
        var i = tape(p).count - 1
        while i >= 0 {
            let t = tape(p)
            if i < t.count, i == t.count - 1 || t[i] != t[i + 1] {
                var s = t
                s.remove(at: i)
                if !s.isEmpty { tryAcceptTape(&p, s) }
            }
            i -= 1
        }
    }
}
