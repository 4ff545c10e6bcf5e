import GmemModel

/// Structure-aware mutation of programs (SPEC §5): works on the op list, not on bytes, so a
/// mutation never breaks the op framing. Weights follow syzkaller's prog.Mutate: mostly argument
/// changes and insertions, fewer deletions, rare schedule/config changes.
public struct Mutator {
    public enum Strategy: CaseIterable, Sendable {
        case mutateArg, insert, remove, duplicate, swap, splice, rawBytes, mutateSchedule, toggleVariant

        var weight: Int {
            switch self {
            case .mutateArg: 35
            case .insert: 25
            case .remove: 10
            case .duplicate: 5
            case .swap: 5
            case .splice: 6
            case .rawBytes: 8
            case .mutateSchedule: 4
            case .toggleVariant: 2
            }
        }
    }

    public let target: FuzzTarget
    let gen: OpGenerator
    /// Allow header changes (profile, variants). Off by default: a job on one profile stays on it.
    public var exploreConfig: Bool
    /// Byte-level fallback for one op's argument bytes (LLVMFuzzerMutate in libFuzzer builds).
    public var rawMutate: ((inout [UInt8], Int) -> Void)?
    /// Splice donor (the built-in loop's corpus); nil = splice within the program itself.
    public var donor: ((inout FuzzRNG) -> Program?)?

    /// Programs stay around this many ops (syzkaller's RecommendedCalls): past it, growing
    /// mutations mostly turn into removals, so executions stay cheap (SPEC §11: ≤ 64-op inputs).
    public var recommendedOps = 48

    public init(target: FuzzTarget, exploreConfig: Bool = false) {
        self.target = target
        self.gen = OpGenerator(target: target, exploreStatuses: exploreConfig)
        self.exploreConfig = exploreConfig
    }

    static let totalWeight = Strategy.allCases.reduce(0) { $0 + $1.weight }

    func pickStrategy(_ rng: inout FuzzRNG) -> Strategy {
        var x = rng.below(Self.totalWeight)
        for s in Strategy.allCases {
            if x < s.weight { return s }
            x -= s.weight
        }
        return .mutateArg
    }

    /// One to four mutations, then trimmed from the tail to fit `maxSize` encoded bytes.
    public func mutate(_ input: Program, maxSize: Int, _ rng: inout FuzzRNG) -> Program {
        var p = input
        var rounds = 1
        while rounds < 4 && rng.oneIn(2) { rounds += 1 }
        for _ in 0..<rounds { apply(pickStrategy(&rng), &p, &rng) }
        return fit(p, maxSize: maxSize)
    }

    /// Drops ops from the end until the encoding fits.
    public func fit(_ p: Program, maxSize: Int) -> Program {
        var p = p
        p.ops = Array(p.ops.prefix(ByteCodec.maxOps))
        while !p.ops.isEmpty && ByteCodec.encode(p).count > maxSize { p.ops.removeLast() }
        return p
    }

    public func apply(_ s: Strategy, _ p: inout Program, _ rng: inout FuzzRNG) {
        if p.ops.isEmpty && !(s == .toggleVariant && exploreConfig) {
            p.ops.append(gen.op(for: p.ops, at: 0, &rng))
            return
        }
        let n = p.ops.count
        var s = s
        if n >= recommendedOps && (s == .insert || s == .duplicate || s == .splice) && !rng.oneIn(4) { s = .remove }
        // Threads and schedules belong to FuzzConcurrent: elsewhere they only slow runs down.
        if s == .mutateSchedule && !target.threaded { s = .mutateArg }
        switch s {
        case .mutateArg:
            let ops = p.ops
            mutateArg(&p.ops[rng.below(n)], in: ops, &rng)
        case .insert:
            let pos = rng.oneIn(3) ? n : rng.below(n + 1)
            if n < ByteCodec.maxOps { p.ops.insert(gen.op(for: p.ops, at: pos, &rng), at: pos) }
        case .remove:
            let i = rng.below(n)
            let len = rng.oneIn(4) ? min(1 + rng.below(4), n - i) : 1
            p.ops.removeSubrange(i..<i + len)
        case .duplicate:
            let i = rng.below(n)
            if n < ByteCodec.maxOps { p.ops.insert(p.ops[i], at: rng.below(n + 1)) }
        case .swap:
            p.ops.swapAt(rng.below(n), rng.below(n))
        case .splice:
            let src = donor?(&rng) ?? p
            guard !src.ops.isEmpty else { return }
            let a = rng.below(src.ops.count)
            let b = min(src.ops.count, a + 1 + rng.below(8))
            p.ops.insert(contentsOf: src.ops[a..<b], at: rng.below(n + 1))
        case .rawBytes:
            rawMutateOp(&p.ops[rng.below(n)], &rng)
        case .mutateSchedule:
            mutateSchedule(&p, &rng)
        case .toggleVariant:
            guard exploreConfig else {
                let ops = p.ops
                mutateArg(&p.ops[rng.below(n)], in: ops, &rng)
                return
            }
            if rng.oneIn(4) {
                p.config.profile = rng.pick(Profile.allCases)
            } else {
                let v = rng.pick(Variant.allCases)
                if p.config.plus.has(v) { p.config.plus.remove(v) } else { p.config.plus.insert(v); p.config.minus.remove(v) }
            }
        }
    }

    /// Change one argument: a fresh biased value, a neighbour (±1), or absent/present.
    func mutateArg(_ op: inout Op, in ops: [Op], _ rng: inout FuzzRNG) {
        let keys = op.kind.schema.keys
        guard !keys.isEmpty else { return }
        if op.kind == .inject && rng.oneIn(2) { gen.shapeInject(&op, &rng); return }
        let i = rng.below(keys.count)
        let k = keys[i]
        if k.defaultValue == nil && rng.oneIn(4) {
            op.args[i] = op.args[i] == Op.absent ? gen.value(for: k, op.kind, scope: [:], &rng) : Op.absent
            gen.conform(&op)
            return
        }
        let old = op.args[i] == Op.absent ? (k.defaultValue ?? 0) : op.args[i]
        switch (k.type, rng.below(3)) {
        case (.number, 0), (.handle, 0):
            op.args[i] = max(0, old + (rng.oneIn(2) ? 1 : -1))
            if k.type == .handle { op.args[i] %= Model.maxHandles }
        default:
            let scope = OpGenerator.handlesInScope(ops[...])
            op.args[i] = gen.value(for: k, op.kind, scope: scope, &rng)
        }
        gen.conform(&op)
    }

    /// libFuzzer's byte mutations on one op's argument bytes; decoding makes any result valid.
    func rawMutateOp(_ op: inout Op, _ rng: inout FuzzRNG) {
        var w = ByteWriter()
        ByteCodec.encodeOp(Op(op.kind, args: op.args), &w)
        var args = Array(w.bytes.dropFirst())
        if let raw = rawMutate {
            raw(&args, args.count + 4)
        } else if !args.isEmpty {
            // No libFuzzer: flip one random bit of one argument byte.
            args[rng.below(args.count)] ^= 1 << UInt8(rng.below(8))
        }
        let thread = op.thread
        args.withUnsafeBytes { buf in
            var r = ByteReader(buf)
            op = ByteCodec.decodeOp(op.kind, thread: thread, &r)
        }
        gen.conform(&op)
    }

    /// Threads and schedules: move an op to another thread, or rewrite the schedule tape.
    func mutateSchedule(_ p: inout Program, _ rng: inout FuzzRNG) {
        let threads = Set(p.ops.map(\.thread)).count
        switch rng.below(4) {
        case 0:
            p.ops[rng.below(p.ops.count)].thread = rng.below(3)
        case 1:
            let len = 1 + rng.below(16)
            p.schedule = .steps((0..<len).map { _ in rng.below(max(threads, 2)) })
        case 2:
            p.schedule = .pct(seed: rng.below(1 << 16), depth: 1 + rng.below(3))
        default:
            if case .steps(var st) = p.schedule, !st.isEmpty {
                st[rng.below(st.count)] = rng.below(max(threads, 2))
                p.schedule = .steps(st)
            } else {
                p.schedule = nil
            }
        }
    }

    /// Crossover: a prefix of `a` followed by a suffix of `b` (syzkaller's splice), `a`'s header.
    public func crossOver(_ a: Program, _ b: Program, maxSize: Int, _ rng: inout FuzzRNG) -> Program {
        var p = a
        let i = rng.below(a.ops.count + 1)
        let j = rng.below(b.ops.count + 1)
        p.ops = Array(a.ops[..<i]) + Array(b.ops[j...])
        if p.schedule == nil { p.schedule = b.schedule }
        return fit(p, maxSize: maxSize)
    }
}
