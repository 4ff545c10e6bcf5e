import GmemModel
import Testing
@testable import GmemHarness

@Suite struct MutatorTests {
    @Test func mutationsFitMaxSizeAndAreDeterministic() {
        for target in FuzzTarget.allCases where target.isProgramTarget {
            let m = Mutator(target: target)
            var rngA = FuzzRNG(seed: 5), rngB = FuzzRNG(seed: 5)
            var a = Program(), b = Program()
            for _ in 0..<500 {
                a = m.mutate(a, maxSize: 300, &rngA)
                b = m.mutate(b, maxSize: 300, &rngB)
                #expect(a == b)
                #expect(ByteCodec.encode(a).count <= 300)
                // Everything the mutator makes is inside the codec's domain.
                #expect(ByteCodec.decode(ByteCodec.encode(a)) == a)
            }
        }
    }

    @Test func everyStrategyChangesPrograms() {
        var seedRng = FuzzRNG(seed: 9)
        var base = Program()
        let gen = OpGenerator(target: .concurrent)
        for i in 0..<12 { base.ops.append(gen.op(for: base.ops, at: i, &seedRng)) }
        var m = Mutator(target: .concurrent, exploreConfig: true)
        m.rawMutate = nil
        for s in Mutator.Strategy.allCases {
            var changed = 0
            var rng = FuzzRNG(seed: 1)
            for _ in 0..<50 {
                var p = base
                m.apply(s, &p, &rng)
                if p != base { changed += 1 }
            }
            #expect(changed > 10, "strategy \(s) changed only \(changed)/50 programs")
        }
    }

    @Test func headerStaysPutUnlessExploring() {
        let m = Mutator(target: .conversion)
        var rng = FuzzRNG(seed: 2)
        var p = Program(config: Config(profile: .ml616))
        for _ in 0..<2000 { p = m.mutate(p, maxSize: 4096, &rng) }
        #expect(p.config == Config(profile: .ml616))
    }

    @Test func conversionTargetGeneratesNoTDXOps() {
        let m = Mutator(target: .conversion)
        var rng = FuzzRNG(seed: 4)
        var p = Program()
        for _ in 0..<2000 {
            p = m.mutate(p, maxSize: 4096, &rng)
            #expect(!p.ops.contains { FuzzTarget.tdxOnly.contains($0.kind) || ($0.kind == .vmCreate && $0["type"] == 1) })
        }
    }

    @Test func crossOverSplicesBothParents() {
        let m = Mutator(target: .conversion)
        let a = Program(ops: (0..<10).map { Op(.gmemAlloc, ["page": $0]) })
        let b = Program(ops: (0..<10).map { Op(.gmemPunch, ["page": $0]) })
        var rng = FuzzRNG(seed: 8)
        var mixed = 0
        for _ in 0..<100 {
            let c = m.crossOver(a, b, maxSize: 4096, &rng)
            let kinds = Set(c.ops.map(\.kind))
            if kinds.count == 2 { mixed += 1 }
            // Prefix of a, then suffix of b.
            if let firstPunch = c.ops.firstIndex(where: { $0.kind == .gmemPunch }) {
                #expect(c.ops[firstPunch...].allSatisfy { $0.kind == .gmemPunch })
            }
        }
        #expect(mixed > 30)
    }

    @Test func builtInLoopIsDeterministicAndGrowsThePoolOnlyWhenGuided() {
        let seeds = [Program(ops: [Op(.vmCreate), Op(.gmemCreate, ["pages": 8])])]
        var s = FuzzEntry.Settings()
        s.profile = .default
        var g1 = FuzzLoop(target: .conversion, seeds: seeds, guided: true, seed: 3, settings: s)
        var g2 = FuzzLoop(target: .conversion, seeds: seeds, guided: true, seed: 3, settings: s)
        var u = FuzzLoop(target: .conversion, seeds: seeds, guided: false, seed: 3, settings: s)
        for _ in 0..<300 {
            let a = g1.step(), b = g2.step()
            #expect(a.program == b.program)
            #expect(a.report.opLog() == b.report.opLog())
            _ = u.step()
        }
        #expect(g1.pool.count > 1)
        #expect(u.pool.count == 1)
    }
}
