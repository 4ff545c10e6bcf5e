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
