import GmemModel

/// Op-level minimizer (SPEC §7; anchors: syzkaller prog minimization, proptest's sequential
/// shrinking, Hypothesis' memoized adaptive deletion). Passes, in order:
///
/// 1. cut after the failing op;
/// 2. drop every op unrelated to the failing op's handles (`Op.handles` closure);
/// 3. remove ops to a fixpoint: ddmin-style chunks (halves, quarters, …) first, then singles;
/// 4. reset arguments to their defaults;
/// 5. drop variant switches, move threads (then single ops) to t0;
/// 6. shrink the schedule (`ScheduleShrink.swift`): drop it, else fewer preemptions, then a
///    shorter tape; a `pct` schedule becomes the steps it produced when those read shorter.
///
/// Scheduled programs keep their tape aligned while ops go: a deletion that fails as is is
/// retried with the realized schedule minus the steps of the deleted ops (shuttle/loom replay
/// a schedule as a list of decisions, so deleting an op must delete its decisions too).
///
/// 3–6 repeat until a whole round changes nothing, so the result is 1-minimal: deleting any
/// single op loses the signature. Every candidate is tested through the `Oracle` and memoized by
/// the SHA-1 of its encoded bytes (the byte format is what a crash file holds, and equal bytes
/// replay equally).
public struct Minimizer<O: Oracle> {
    public struct Stats: Sendable {
        /// Candidates replayed, and candidates answered from the memo.
        public var tests = 0
        public var memoHits = 0
        /// Accepted shrinking steps.
        public var accepted = 0
        /// (pass, ops after it, tests it ran)
        public var passes: [(pass: String, ops: Int, tests: Int)] = []
    }

    public private(set) var oracle: O
    /// The signature every candidate must keep.
    public let signature: String
    public private(set) var stats = Stats()
    /// Progress lines (one per pass); nil = quiet.
    public var progress: ((String) -> Void)?
    var memo: [String: Outcome] = [:]

    public init(oracle: O, signature: String) {
        self.oracle = oracle
        self.signature = signature
    }

    /// Replays `p` (memoized) and reports whether it still raises the signature.
    public mutating func outcome(_ p: Program) -> Outcome {
        let key = SHA1.hex(ByteCodec.encode(p))
        if let o = memo[key] {
            stats.memoHits += 1
            return o
        }
        stats.tests += 1
        let o = oracle.replay(p)
        memo[key] = o
        return o
    }

    public mutating func keeps(_ p: Program) -> Bool { outcome(p).raises(signature) }

    /// Minimizes `input` (which must raise `signature`; else it is returned unchanged).
    public mutating func minimize(_ input: Program) -> Program {
        var p = ByteCodec.clampedForCodec(input)
        guard keeps(p) else {
            progress?("minimize: input does not raise \(signature); nothing to do")
            return input
        }
        runPass("cut-tail", &p) { m, p in m.cutTail(&p) }
        runPass("unrelated", &p) { m, p in m.dropUnrelated(&p) }
        var round = 0
        while true {
            round += 1
            let before = ByteCodec.encode(p)
            runPass("remove-ops #\(round)", &p) { m, p in m.removeOps(&p) }
            runPass("arg-defaults #\(round)", &p) { m, p in m.resetArgs(&p) }
            runPass("config #\(round)", &p) { m, p in m.simplifyConfig(&p) }
            runPass("schedule #\(round)", &p) { m, p in m.shrinkSchedule(&p) }
            if ByteCodec.encode(p) == before { break }
        }
        return p
    }

    /// Runs one pass and prints its progress line.
    mutating func runPass(_ name: String, _ p: inout Program, _ body: (inout Minimizer, inout Program) -> Void) {
        let tests = stats.tests, ops = p.ops.count
        body(&self, &p)
        stats.passes.append((name, p.ops.count, stats.tests - tests))
        progress?("minimize: \(name.padding(16)) \(ops) -> \(p.ops.count) ops  (\(stats.tests - tests) runs, \(stats.tests) total, \(stats.memoHits) memo hits)")
    }

    // MARK: passes

    /// 1. The run stops at the failing op: anything after it never executes. In-process the
    /// oracle says where it fired; a child process does not, so bisect the shortest prefix.
    mutating func cutTail(_ p: inout Program) {
        let o = outcome(p)
        if let i = o.opIndex {
            if Self.isConcurrent(p) {
                // Interleaved: ops after the failing one in program order may have run before
                // it; only the ops that never started are surely dead.
                let started = Set(o.started ?? Array(0...i))
                tryRemoving(&p, Set(p.ops.indices.filter { !started.contains($0) }))
            } else {
                tryAccept(&p, ops: Array(p.ops.prefix(i + 1)))
            }
            return
        }
        var lo = 1, hi = p.ops.count
        while lo < hi {
            let mid = (lo + hi) / 2
            var c = p
            c.ops = Array(p.ops.prefix(mid))
            if keeps(c) { hi = mid } else { lo = mid + 1 }
        }
        tryAccept(&p, ops: Array(p.ops.prefix(hi)))
    }

    /// 2. Keep the failing (last) op, every op connected to it through shared handles (to a
    /// fixpoint: a vcpu links to its vm, a slot to its gmem, …) and ops that name no handle
    /// (`inject`: the config pass and the removal pass decide those).
    mutating func dropUnrelated(_ p: inout Program) {
        guard let last = p.ops.last else { return }
        var related = Set(Self.handleKeys(last))
        var keep = [Bool](repeating: false, count: p.ops.count)
        keep[p.ops.count - 1] = true
        var changed = true
        while changed {
            changed = false
            for (i, op) in p.ops.enumerated() where !keep[i] {
                let hs = Self.handleKeys(op)
                if hs.isEmpty || hs.contains(where: related.contains) {
                    keep[i] = true
                    related.formUnion(hs)
                    changed = true
                }
            }
        }
        tryRemoving(&p, Set(p.ops.indices.filter { !keep[$0] }))
    }

    /// Handle identities an op names; `child` is a process id like `proc`.
    static func handleKeys(_ op: Op) -> [String] {
        op.handles.map { k, v in "\(k == "child" ? "proc" : k)=\(v)" }
    }

    /// 3. ddmin-style chunk deletion from the back (halves, quarters, … of the current length),
    /// then single ops, repeated until no single deletion keeps the signature.
    mutating func removeOps(_ p: inout Program) {
        var chunk = p.ops.count / 2
        while chunk >= 2 {
            var start = p.ops.count - chunk
            while start >= 0 {
                if start + chunk <= p.ops.count {
                    tryRemoving(&p, Set(start..<start + chunk))
                }
                start -= chunk
            }
            chunk /= 2
        }
        var changed = true
        while changed {
            changed = false
            var i = p.ops.count - 1
            while i >= 0 {
                if i < p.ops.count, tryRemoving(&p, [i]) { changed = true }
                i -= 1
            }
        }
    }

    /// 4. Each argument back to its schema default (absent for optional keys), one at a time.
    mutating func resetArgs(_ p: inout Program) {
        for i in p.ops.indices {
            let keys = p.ops[i].kind.schema.keys
            for k in keys.indices {
                guard i < p.ops.count else { return }
                let def = keys[k].defaultValue ?? Op.absent
                guard p.ops[i].args[k] != def else { continue }
                var c = p
                c.ops[i].args[k] = def
                tryAccept(&p, c)
            }
        }
    }

    /// 5. Variant switches one by one, then threads (all to t0, else one thread at a time), then
    /// the schedule (dropped, else single steps from the back).
    mutating func simplifyConfig(_ p: inout Program) {
        for v in p.config.plus.variants {
            var c = p
            c.config.plus.remove(v)
            tryAccept(&p, c)
        }
        for v in p.config.minus.variants {
            var c = p
            c.config.minus.remove(v)
            tryAccept(&p, c)
        }
        let threads = Set(p.ops.map(\.thread)).subtracting([0]).sorted()
        if !threads.isEmpty {
            var all = p
            for i in all.ops.indices { all.ops[i].thread = 0 }
            if !tryAccept(&p, all) {
                for t in threads {
                    var c = p
                    for i in c.ops.indices where c.ops[i].thread == t { c.ops[i].thread = 0 }
                    tryAccept(&p, c)
                }
                // Then single ops, from the back (the later an op, the fewer steps it shifts).
                var i = p.ops.count - 1
                while i >= 0 {
                    if i < p.ops.count, p.ops[i].thread != 0 {
                        var c = p
                        c.ops[i].thread = 0
                        tryAccept(&p, c)
                    }
                    i -= 1
                }
            }
        }
    }

    // MARK: acceptance

    @discardableResult
    mutating func tryAccept(_ p: inout Program, ops: [Op]) -> Bool {
        var c = p
        c.ops = ops
        return tryAccept(&p, c)
    }

    /// Takes `c` if it keeps the signature (and is not the same program); then cuts whatever
    /// follows the op where it now fires.
    @discardableResult
    mutating func tryAccept(_ p: inout Program, _ c: Program) -> Bool {
        guard c != p else { return false }
        let o = outcome(c)
        guard o.raises(signature) else { return false }
        p = c
        stats.accepted += 1
        if Self.isConcurrent(p) {
            // Ops that never started are dead, but removing them can move program-order
            // picks: a tested candidate, not a blind cut.
            if let started = o.started.map(Set.init), started.count < p.ops.count {
                tryRemoving(&p, Set(p.ops.indices.filter { !started.contains($0) }))
            }
        } else if let i = o.opIndex, i + 1 < p.ops.count {
            p.ops.removeSubrange((i + 1)...)
        }
        return true
    }

    /// Deletes the ops at `gone`; for a scheduled program that fails as is, retries with the
    /// tape realigned (the realized steps minus the deleted ops' steps).
    @discardableResult
    mutating func tryRemoving(_ p: inout Program, _ gone: Set<Int>) -> Bool {
        guard !gone.isEmpty, gone.count < p.ops.count else { return false }
        var c = p
        c.ops = p.ops.indices.filter { !gone.contains($0) }.map { p.ops[$0] }
        if tryAccept(&p, c) { return true }
        guard let tape = realignedTape(p, removing: gone) else { return false }
        c.schedule = tape.isEmpty ? nil : .steps(tape)
        return tryAccept(&p, c)
    }

    static func isConcurrent(_ p: Program) -> Bool {
        p.schedule != nil || p.ops.contains { $0.thread != 0 }
    }

    /// Whether deleting any single op loses the signature (the 1-minimality the passes promise).
    public mutating func isOneMinimal(_ p: Program) -> Bool {
        p.ops.indices.allSatisfy { i in
            var c = p
            c.ops.remove(at: i)
            return !keeps(c)
        }
    }
}
