import GmemModel

/// Random FuzzConcurrent programs for threads mode (`gmemfuzz bench stress`, ConcurrencyTests):
/// a setup prefix on t0 that creates handles the ops can use, then up to `maxOps` generated ops
/// spread over `threads` logical threads, grown further by the fuzzer's own mutator. Threads mode
/// must survive every one of them (no crash, no hang); on the default profile without variants
/// or injections none may report a finding (SPEC §11 zero false positives).
public struct ThreadsStress {
    public var maxOps = 80
    public var threads = 4
    /// Keep `inject` ops (off for the zero-finding check: injected failures are allowed to warn).
    public var injections = false
    public var config = Config()
    let gen = OpGenerator(target: .concurrent)
    let mutator = Mutator(target: .concurrent)

    public init() {}

    /// Handles the generated ops refer to: two VMs (sw), vCPUs, two gmem files (one mmap'able and
    /// shared-initialised), memslots over them, and host mappings in two processes.
    static let setup = """
        gmemfuzz 1
        vm.create vm=0 type=sw
        vcpu.create vm=0 vcpu=0
        vcpu.create vm=0 vcpu=1
        gmem.create gmem=0 vm=0 pages=16 flags=mmap,init_shared
        gmem.create gmem=1 vm=0 pages=8 flags=mmap
        slot.create vm=0 slot=0 gmem=0 gfn=0 pages=16
        slot.create vm=0 slot=1 gmem=1 gfn=16 pages=8
        host.mmap proc=0 gmem=0
        host.mmap proc=1 gmem=0
        """

    /// One program: the setup prefix, `n` generated ops on random threads, then a few mutator
    /// rounds (insert/duplicate/splice/swap as libFuzzer's custom mutator would).
    public func program(_ rng: inout FuzzRNG) -> Program {
        var p = try! ScenarioParser.parse(Self.setup, file: "stress")
        p.config = config
        let setupCount = p.ops.count
        let n = 8 + rng.below(max(maxOps - setupCount - 8, 1))
        for _ in 0..<n {
            var op = gen.op(for: p.ops, at: p.ops.count, &rng)
            op.thread = rng.below(threads)
            p.ops.append(op)
        }
        for _ in 0..<rng.below(4) { mutator.apply(mutator.pickStrategy(&rng), &p, &rng) }
        if !injections { p.ops.removeAll { $0.kind == .inject } }
        p.config = config
        p.schedule = nil
        return p
    }

    public struct Outcome: Sendable {
        public var programs = 0
        public var ops = 0
        /// Findings by signature (kind:id:op) with a count and the first program that raised it.
        public var findings: [String: (count: Int, program: String)] = [:]
    }

    /// Runs `count` programs from `seed` in threads mode.
    public func run(count: Int, seed: UInt64, ignore: [String] = KnownFindings.prefixes,
                    progress: ((Int) -> Void)? = nil) -> Outcome {
        var rng = FuzzRNG(seed: seed)
        var out = Outcome()
        let opts = Executor.Options(checkEveryStep: false, checkExpectations: false, ignore: ignore, mode: .threads)
        for i in 0..<count {
            let p = program(&rng)
            let r = Executor.run(p, options: opts)
            out.programs += 1
            out.ops += p.ops.count
            for f in r.unexpected where ignore.isEmpty || !KnownFindings.isKnown(f.signature, p) {
                let sig = f.signature
                if let e = out.findings[sig] {
                    out.findings[sig] = (e.count + 1, e.program)
                } else {
                    out.findings[sig] = (1, ScenarioPrinter.print(p))
                }
            }
            progress?(i)
        }
        return out
    }
}
