import GmemModel

/// The built-in in-process fuzz loop (`gmemfuzz fuzz`): the libFuzzer mutator without
/// libFuzzer. Guided by model-level features (op kind × result, op-pair × result) instead of
/// code coverage; `guided: false` never grows the pool (the unguided baseline of SPEC §11).
public struct FuzzLoop {
    public let target: FuzzTarget
    public let guided: Bool
    public var settings: FuzzEntry.Settings
    public var maxLen: Int
    public private(set) var pool: [Program]
    public private(set) var features = Set<UInt32>()
    public private(set) var execs = 0
    var rng: FuzzRNG
    var mutator: Mutator

    public struct Step {
        public let program: Program
        public let report: RunReport
        public let newFeatures: Int
        let settings: FuzzEntry.Settings
        /// The first finding the job does not ignore.
        public var finding: Finding? {
            guard let f = report.unexpected.first, settings.stops(on: f, report, program) else { return nil }
            return f
        }
    }

    public init(target: FuzzTarget, seeds: [Program], guided: Bool, seed: UInt64,
                settings: FuzzEntry.Settings, maxLen: Int = 4096) {
        self.target = target
        self.guided = guided
        self.settings = settings
        self.maxLen = maxLen
        self.rng = FuzzRNG(seed: seed)
        self.pool = seeds.isEmpty ? [Program()] : seeds
        for i in pool.indices { settings.apply(to: &pool[i].config) }
        self.mutator = Mutator(target: target, exploreConfig: settings.explore)
    }

    /// Mutate one pool entry, run it, keep it if it shows new features (guided only).
    public mutating func step() -> Step {
        let base = pool[rng.below(pool.count)]
        let snapshot = pool
        var m = mutator
        m.donor = { rng in snapshot[rng.below(snapshot.count)] }
        var p = m.mutate(base, maxSize: maxLen, &rng)
        // The job's pins win over whatever the mutation did to the header.
        settings.apply(to: &p.config)
        let r = Executor.run(p, options: settings.runOptions)
        execs += 1
        var fresh = 0
        for f in Self.features(of: r) where features.insert(f).inserted { fresh += 1 }
        let step = Step(program: p, report: r, newFeatures: fresh, settings: settings)
        if guided && fresh > 0 && step.finding == nil { pool.append(p) }
        return step
    }

    /// Model-level coverage: what each op did, and what it did right after the previous op.
    public static func features(of r: RunReport) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(r.records.count * 2)
        var prev: UInt32 = 0xff
        for rec in r.records {
            let k = UInt32(rec.op.kind.rawValue)
            let res = resultCode(rec.result)
            out.append(k << 16 | res)
            out.append(1 << 31 | prev << 22 | k << 14 | res)
            prev = k
            for f in rec.findings { out.append(0x4000_0000 | (fnv1a(f.signature) & 0xffff)) }
        }
        return out
    }

    static func resultCode(_ r: SysResult) -> UInt32 {
        switch r {
        case .ok: 0
        case .err(let e, let off): 0x100 | UInt32(e.rawValue & 0xff) | (off == nil ? 0 : 0x200)
        case .value(let v): 0x400 | (v == 0 ? 0 : v == 0xe7 ? 1 : 2)
        case .count(let n): 0x800 | UInt32(min(n, 8))
        case .sigbus: 1
        case .sigsegv: 2
        case .exit(let x): 0x1000 | (fnv1a(x.rawValue) & 0xf)
        case .skipped: 3
        }
    }

    /// FNV-1a: a hash that is the same in every process (Swift's hashValue is seeded per run).
    static func fnv1a(_ s: String) -> UInt32 {
        var h: UInt32 = 0x811c_9dc5
        for b in s.utf8 { h = (h ^ UInt32(b)) &* 0x0100_0193 }
        return h
    }
}
