import GmemModel

/// Buries a scenario among random unrelated ops: the minimizer's benchmark and its tests (the
/// "200-op crash" of SPEC §11). Padding ops come from the mutator's `OpGenerator` with every
/// handle moved to ids 5–7, so they never touch the scenario's objects; `inject` (global) and
/// 1G files (slow) are left out.
public enum Padding {
    public static func pad(_ p: Program, extraOps: Int, seed: UInt64, target: FuzzTarget = .conversion) -> Program {
        var rng = FuzzRNG(seed: seed)
        let gen = OpGenerator(target: target)
        var filler: [Op] = []
        while filler.count < extraOps {
            var op = gen.op(for: filler, at: filler.count, &rng)
            if op.kind == .inject { continue }
            for (i, k) in op.kind.schema.keys.enumerated() where k.type == .handle && op.args[i] != Op.absent {
                op.args[i] = 5 + op.args[i] % 3
            }
            if op.kind == .gmemCreate && op["huge"] == 2 { op["huge"] = 0 }
            op.thread = 0
            filler.append(op)
        }
        // A schedule tape counts scheduling decisions from the start: filler ops before the
        // scenario's would shift every step, so scheduled programs get their filler after.
        if p.schedule != nil {
            var out = p
            out.ops += filler
            return out
        }
        // Interleave: scenario ops keep their order; filler goes anywhere before the last
        // scenario op (and a few after it, for the tail cut).
        var out = p
        out.ops = []
        var body = p.ops.dropLast()
        let tailCount = extraOps / 10
        var head = filler.dropLast(tailCount)
        while !body.isEmpty || !head.isEmpty {
            if !head.isEmpty && (body.isEmpty || rng.below(body.count + head.count) < head.count) {
                out.ops.append(head.removeFirst())
            } else {
                out.ops.append(body.removeFirst())
            }
        }
        if let last = p.ops.last { out.ops.append(last) }
        out.ops += filler.suffix(tailCount)
        return out
    }

    /// `pad` with the first seed (from `seed` on) whose padded program still raises `signature`
    /// first (a filler op can trip a finding of its own under the scenario's variants).
    public static func padKeeping(_ p: Program, signature: String, extraOps: Int, seed: UInt64) -> Program? {
        var oracle = InProcessOracle()
        for s in seed..<seed + 64 {
            let q = ByteCodec.clampedForCodec(pad(p, extraOps: extraOps, seed: s))
            if oracle.replay(q).first == signature { return q }
        }
        return nil
    }
}

extension Padding {
    /// A scheduled scenario buried among unrelated ops on a filler thread and under a long,
    /// noisy schedule: the realized schedule of the scenario with random filler-thread steps
    /// inserted (a filler step runs part of an unrelated op and leaves the scenario's threads
    /// where they were), entries naming absent threads (program-order fallbacks) and a random
    /// tail; half of the filler also follows the scenario on t0. The schedule minimizer's test.
    public static func padScheduled(_ p: Program, extraOps: Int, seed: UInt64) -> Program {
        var rng = FuzzRNG(seed: seed)
        var base = p
        base.ops = []
        base.schedule = nil
        let filler = pad(base, extraOps: extraOps, seed: seed).ops
        let fillerThread = (p.ops.map(\.thread).max() ?? 0) + 1
        let realized = Executor.run(p, options: .init(checkExpectations: false)).steps
        // Filler ops on their own thread, anywhere in program order.
        var out = p
        var body = p.ops[...]
        var onThread = filler.prefix(extraOps / 2).map { op -> Op in var o = op; o.thread = fillerThread; return o }[...]
        out.ops = []
        while !body.isEmpty || !onThread.isEmpty {
            if !onThread.isEmpty && (body.isEmpty || rng.below(body.count + onThread.count) < onThread.count) {
                out.ops.append(onThread.removeFirst())
            } else {
                out.ops.append(body.removeFirst())
            }
        }
        out.ops += filler.dropFirst(extraOps / 2)
        // The schedule: realized steps with filler-thread noise in between, then a random tail
        // that also names absent threads. (An absent-thread entry between realized steps falls
        // back to the running thread, which may be a scenario thread: it would run one step
        // ahead of the realized tape and miss a one-step window after a long setup.)
        var tape: [Int] = []
        for s in realized {
            while rng.below(3) == 0 { tape.append(fillerThread) }
            tape.append(s)
        }
        let threads = Array(Set(out.ops.map(\.thread))).sorted()
        for _ in 0..<extraOps {
            tape.append(rng.below(4) == 0 ? fillerThread + 1 + rng.below(5) : threads[rng.below(threads.count)])
        }
        out.schedule = .steps(Array(tape.prefix(ByteCodec.maxScheduleSteps)))
        return out
    }

    /// `padScheduled` with the first seed (from `seed` on) whose program still raises `signature`.
    public static func padScheduledKeeping(_ p: Program, signature: String, extraOps: Int, seed: UInt64) -> Program? {
        var oracle = InProcessOracle()
        for s in seed..<seed + 64 {
            let q = ByteCodec.clampedForCodec(padScheduled(p, extraOps: extraOps, seed: s))
            if oracle.replay(q).first == signature { return q }
        }
        return nil
    }
}
