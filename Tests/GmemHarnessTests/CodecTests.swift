import GmemModel
import Testing
@testable import GmemHarness

/// A random program inside the codec's domain (every key type, absent optionals, threads,
/// schedules, headers with variants), so the round-trip tests cover the whole format.
func randomProgram(_ rng: inout FuzzRNG, maxOps: Int = 40) -> Program {
    var p = Program()
    p.config.profile = rng.pick(Profile.allCases)
    if rng.oneIn(3) {
        p.config.plus.insert(rng.pick(Variant.allCases))
        let v = rng.pick(Variant.allCases)
        if !p.config.plus.has(v) { p.config.minus.insert(v) }
    }
    let gens = FuzzTarget.allCases.filter(\.isProgramTarget).map { OpGenerator(target: $0) }
    for i in 0..<rng.below(maxOps + 1) {
        var op = rng.pick(gens).op(for: p.ops, at: i, &rng)
        if rng.oneIn(5) { op.thread = rng.below(ByteCodec.maxThreads) }
        // Wide values too: the generator is biased small.
        for (j, k) in op.kind.schema.keys.enumerated() where op.args[j] != Op.absent && rng.oneIn(4) {
            switch k.type {
            case .number: op.args[j] = rng.below(ArgCoding.numberCap(k, op.kind) + 1)
            case .byte: op.args[j] = rng.below(256)
            case .handle: op.args[j] = rng.below(Model.maxHandles)
            case .source: op.args[j] = 2 + rng.below(Model.maxHandles) << 16 + rng.below(1 << 16)
            default: break
            }
        }
        p.ops.append(op)
    }
    switch rng.below(3) {
    case 0: p.schedule = nil
    case 1: p.schedule = .steps((0..<rng.below(20)).map { _ in rng.below(ByteCodec.maxThreads) })
    default: p.schedule = .pct(seed: rng.below(1 << 32), depth: rng.below(4))
    }
    return p
}

@Suite struct CodecTests {
    @Test func roundTripRandomPrograms() {
        var rng = FuzzRNG(seed: 7)
        for _ in 0..<2000 {
            let p = randomProgram(&rng)
            let bytes = ByteCodec.encode(p)
            #expect(ByteCodec.decode(bytes) == p, "\(ScenarioPrinter.print(p))")
        }
    }

    @Test func expectationsAreNotEncoded() throws {
        let p = try ScenarioParser.parse("gmemfuzz 1\nvm.create => ok\ngmem.create pages=4 => ok\n")
        var stripped = p
        for i in stripped.ops.indices { stripped.ops[i].expect = nil }
        #expect(ByteCodec.decode(ByteCodec.encode(p)) == stripped)
    }

    @Test func arbitraryBytesDecodeAndPrintAsValidScenarios() throws {
        var rng = FuzzRNG(seed: 11)
        for n in 0..<3000 {
            let bytes = (0..<rng.below(200)).map { _ in UInt8(rng.below(256)) }
            let p = ByteCodec.decode(bytes)
            #expect(p.ops.count <= ByteCodec.maxOps)
            let text = ScenarioPrinter.print(p)
            let q = try ScenarioParser.parse(text, file: "decoded-\(n)")
            #expect(q == p, "\(text)")
            // Decoding is a fixpoint after one re-encode.
            #expect(ByteCodec.decode(ByteCodec.encode(p)) == p)
        }
    }

    @Test func emptyAndTinyInputs() {
        #expect(ByteCodec.decode([]) == Program())
        #expect(ByteCodec.decode([1]).ops.isEmpty)
        // Any version byte decodes (unknown versions read as the latest).
        #expect(ByteCodec.decode([0xee, 5, OpKind.vmCreate.rawValue, 0, 0]).ops.map(\.kind) == [.vmCreate])
    }

    @Test func defaultHeaderIsTwoBytesAndProfileIsSelectable() {
        for (i, prof) in Profile.allCases.enumerated() {
            let bytes = ByteCodec.encode(Program(config: Config(profile: prof)))
            #expect(bytes == [ByteCodec.version, UInt8(i)])
            #expect(ByteCodec.decode(bytes).config.profile == prof)
        }
        var c = Config()
        c.plus.insert(.skipRefcountCheck)
        let p = ByteCodec.decode(ByteCodec.encode(Program(config: c)))
        #expect(p.config.plus.has(.skipRefcountCheck))
        #expect(p.config.effective.has(.skipRefcountCheck))
    }

    /// SPEC §5: deleting op k never changes how op k+1 reads.
    @Test func stableUnderDeletion() {
        var rng = FuzzRNG(seed: 3)
        for _ in 0..<300 {
            var p = randomProgram(&rng, maxOps: 12)
            p.schedule = nil
            guard !p.ops.isEmpty else { continue }
            var header = ByteWriter()
            header.byte(ByteCodec.version)
            ByteCodec.encodeHeader(p.config, &header)
            let segments = p.ops.map { op -> [UInt8] in
                var w = ByteWriter()
                ByteCodec.encodeOp(op, &w)
                return w.bytes
            }
            #expect(header.bytes + segments.flatMap { $0 } == ByteCodec.encode(p))
            let k = rng.below(p.ops.count)
            var cut = segments
            cut.remove(at: k)
            var expected = p
            expected.ops.remove(at: k)
            #expect(ByteCodec.decode(header.bytes + cut.flatMap { $0 }) == expected)
        }
    }

    @Test func unknownOpcodeIsSkippedAsOneByte() {
        let unknown = UInt8(OpKind.allCases.count)   // first opcode not in the table yet
        let bytes: [UInt8] = [1, 5, unknown, OpKind.vmCreate.rawValue, 0, 0]
        #expect(ByteCodec.decode(bytes).ops == [Op(.vmCreate)])
    }

    @Test func valuesAreBounded() {
        // A huge LEB128 count is reduced into range, never trapping.
        let bytes: [UInt8] = [1, 5, OpKind.gmemAlloc.rawValue, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]
        let p = ByteCodec.decode(bytes)
        #expect(p.ops.count == 1)
        #expect(p.ops[0]["count"] <= ByteCodec.maxCount)
    }

    @Test func scheduleTape() {
        let p = Program(ops: [Op(.vmCreate, thread: 1), Op(.vmCreate, ["vm": 1])], schedule: .steps([0, 1, 1, 0]))
        let bytes = ByteCodec.encode(p)
        #expect(bytes.suffix(6) == [ByteCodec.tapeMarker, 0, 0, 1, 1, 0])
        #expect(ByteCodec.decode(bytes) == p)
        // The high bit of a marker byte is ignored (any byte with low 7 bits 0x7f starts the tape).
        var b2 = bytes
        b2[b2.count - 6] = 0xff
        #expect(ByteCodec.decode(b2).schedule == .steps([0, 1, 1, 0]))
    }

    @Test func sha1Vectors() {
        #expect(SHA1.hex(Array("abc".utf8)) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(SHA1.hex([]) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(SHA1.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
    }
}
