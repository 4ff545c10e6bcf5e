/// Chooses which logical thread runs the next step (SPEC §6). Deterministic: the choice depends
/// only on the schedule and on the sequence of runnable sets seen so far.
struct SchedulePolicy {
    enum Kind {
        /// No schedule: program order. The running thread keeps going until its op ends or it
        /// blocks; then the thread whose next op comes first in the program runs.
        case programOrder
        /// `schedule steps=…`: entry k names the thread that runs step k; an entry naming a
        /// thread that cannot run, and every step after the tape, falls back to program order.
        case tape([Int])
        /// `schedule pct seed=N depth=D` (Burckhardt et al., ASPLOS 2010): random distinct
        /// priorities, D-1 priority-change points; the highest-priority runnable thread runs.
        case pct
    }

    let kind: Kind
    private var pos = 0
    /// PCT state: priority per thread slot; decision numbers where the running thread drops.
    private var priority: [Int] = []
    private var changePoints: [Int] = []
    /// Every lowered priority is below every initial one (initial ones are >= 1).
    private var lowest = 0

    init(_ schedule: Schedule?, threads: Int, estimatedSteps: Int) {
        switch schedule {
        case nil: kind = .programOrder
        case .steps(let s): kind = .tape(s)
        case .pct(let seed, let depth):
            kind = .pct
            var rng = SplitMix64(seed: UInt64(truncatingIfNeeded: seed))
            // Distinct initial priorities above every change-point priority (Fisher-Yates).
            let d = max(1, min(depth, 3))
            priority = (0..<threads).map { d + $0 }
            if threads > 1 {
                for i in stride(from: threads - 1, to: 0, by: -1) {
                    priority.swapAt(i, Int(rng.next() % UInt64(i + 1)))
                }
            }
            let k = max(1, estimatedSteps)
            for _ in 1..<d { changePoints.append(1 + Int(rng.next() % UInt64(k))) }
        }
    }

    /// `candidates`: runnable thread slots (sorted). `current`: slot of the thread that reached
    /// the point, if it may keep running. `programOrderPick`: the fallback choice.
    mutating func choose(decision: Int, candidates: [Int], current: Int?, spinning: Bool,
                         slotOf: (Int) -> Int?, programOrderPick: () -> Int) -> Int {
        switch kind {
        case .programOrder:
            return programOrderPick()
        case .tape(let tape):
            guard pos < tape.count else { return programOrderPick() }
            let want = tape[pos]
            pos += 1
            if let s = slotOf(want), candidates.contains(s) { return s }
            return programOrderPick()
        case .pct:
            if let c = current, changePoints.contains(decision) || spinning {
                // A change point, or a spinning thread yielding (Coyote does the same): the
                // running thread drops below everyone.
                lowest -= 1
                priority[c] = lowest
            }
            return candidates.max { priority[$0] < priority[$1] }!
        }
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, seedable, good enough for schedules.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
