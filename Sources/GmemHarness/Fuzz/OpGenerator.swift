import GmemModel

/// Generates ops with arguments biased toward what makes programs interesting: handles that
/// earlier ops created, page numbers inside small files, small counts (Hypothesis-style
/// "stable op selection": the same RNG state always yields the same op).
public struct OpGenerator {
    public let target: FuzzTarget
    /// Also generate SEAMCALL statuses KVM answers with KVM_BUG_ON.
    public var exploreStatuses = false
    public init(target: FuzzTarget, exploreStatuses: Bool = false) {
        self.target = target
        self.exploreStatuses = exploreStatuses
    }

    /// busy, busy_twice, epoch_busy, interrupted (indices into OpSchema.statuses).
    static let survivableStatuses: [Int] = ["busy", "busy_twice", "epoch_busy", "interrupted"].compactMap {
        OpSchema.statuses.firstIndex(of: $0)
    }

    /// Handle values already used in `ops[..<pos]`, per key name (vm, gmem, slot, proc, vcpu).
    static func handlesInScope(_ ops: ArraySlice<Op>) -> [String: [Int]] {
        var seen: [String: [Int]] = [:]
        for op in ops {
            for (k, v) in op.handles where !(seen[k]?.contains(v) ?? false) { seen[k, default: []].append(v) }
        }
        return seen
    }

    /// Keeps an op inside the target's space after byte-level mutation (e.g. FuzzConversion
    /// stays on `sw` VMs).
    public func conform(_ op: inout Op) {
        if op.kind == .vmCreate, let t = target.vmType { op["type"] = t }
        if op.kind == .inject, !exploreStatuses, let st = op.opt("status"), !Self.survivableStatuses.contains(st) {
            op["status"] = Self.survivableStatuses[st % Self.survivableStatuses.count]
        }
    }

    /// A new op for position `pos` of `program`.
    public func op(for program: [Op], at pos: Int, _ rng: inout FuzzRNG) -> Op {
        let kind = rng.pick(target.opKinds)
        let scope = Self.handlesInScope(program[..<min(pos, program.count)])
        var op = Op(kind)
        for i in kind.schema.keys.indices {
            let k = kind.schema.keys[i]
            if k.defaultValue == nil && rng.oneIn(2) { op.args[i] = Op.absent; continue }
            op.args[i] = value(for: k, kind, scope: scope, &rng)
        }
        if kind == .inject { shapeInject(&op, &rng) }
        if target.threaded && !rng.oneIn(3) { op.thread = rng.below(3) }
        return op
    }

    /// A fresh value for one key.
    public func value(for k: KeySpec, _ kind: OpKind, scope: [String: [Int]], _ rng: inout FuzzRNG) -> Int {
        switch k.type {
        case .handle:
            // Mostly a handle an earlier op named (so ops connect), else a small id.
            let name = k.name == "child" ? "proc" : k.name
            if let used = scope[name], !used.isEmpty, !rng.oneIn(4) { return rng.pick(used) }
            return rng.oneIn(4) ? rng.below(Model.maxHandles) : rng.below(2)
        case .number:
            return number(k.name, kind, &rng)
        case .choice(let names):
            if kind == .vmCreate, k.name == "type", let t = target.vmType { return t }
            return rng.below(names.count)
        case .flags(let names):
            return rng.below(1 << names.count)
        case .byte:
            return rng.oneIn(2) ? rng.pick([0x00, 0xaa, 0x55, 0xe7, 0xff]) : rng.below(256)
        case .bool:
            return rng.below(2)
        case .source:
            switch rng.below(3) {
            case 0: return 0
            case 1: return 1
            default: return 2 + rng.below(2) << 16 + rng.below(8)
            }
        case .word:
            return 1
        }
    }

    func number(_ key: String, _ kind: OpKind, _ rng: inout FuzzRNG) -> Int {
        switch key {
        case "count", "times":
            return rng.oneIn(8) ? rng.below(64) : 1 + rng.below(4)
        case "slices":
            // vcpu.run: scheduling points spent in guest mode (bounded; a kick ends one early).
            return 1 + rng.below(8)
        case "pages":
            // File and slot sizes: small, sometimes one 2M huge page (512 4K pages).
            return rng.oneIn(8) ? rng.pick([512, 1024]) : rng.pick([1, 2, 4, 8, 16])
        default:
            // page / gfn / off: inside small files, occasionally out of range or huge-aligned.
            if rng.oneIn(16) { return rng.pick([512, 1023, 1 << 18]) }
            return rng.oneIn(4) ? rng.below(32) : rng.below(8)
        }
    }

    /// `inject` names exactly one failure (the others stay absent), matching the target.
    func shapeInject(_ op: inout Op, _ rng: inout FuzzRNG) {
        for i in op.args.indices { op.args[i] = Op.absent }
        var choices = ["alloc", "gup", "signal", "cmpxchg"]
        if target != .conversion { choices += ["seamcall", "seamcall"] }
        let which = rng.pick(choices)
        switch which {
        case "seamcall":
            op["seamcall"] = rng.below(OpSchema.seamcalls.count)
            // state_incorrect / walk_failed / error are results KVM treats as impossible and
            // answers with KVM_BUG_ON by design: every injection of one is a `warn` finding that
            // says nothing new. Only busy-family statuses, which KVM must survive, are generated
            // unless the job explores (GMEMFUZZ_EXPLORE=1).
            op["status"] = exploreStatuses ? rng.below(OpSchema.statuses.count) : rng.pick(Self.survivableStatuses)
        case "alloc":
            op["alloc"] = rng.below(OpSchema.allocSites.count)
        case "gup":
            op["gup"] = 0
        default:
            op[which] = 1
        }
        if rng.oneIn(4) { op["times"] = 1 + rng.below(3) }
    }
}
