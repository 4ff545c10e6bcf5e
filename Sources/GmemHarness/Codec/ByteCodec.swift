import GmemModel

/// The fuzzer input encoding (SPEC §5). Layout of version 1:
///
///     [version=1] [header] op* [tape marker, schedule tape]
///     header  = byte H: bits 0-2 profile index (mod profile count), bit 3 "variant masks follow";
///               if set: LEB128 plus mask, LEB128 minus mask (unknown bits ignored)
///     op      = byte C: bits 0-6 opcode (OpKind raw value), bit 7 "thread byte follows";
///               [thread byte (mod maxThreads)] [presence byte if the op has optional keys]
///               then one value per present key in schema order (see `ArgCoding`)
///     marker  = any byte whose low 7 bits are `tapeMarker`; the rest of the input is the schedule
///
/// Total: every byte string decodes (missing bytes read as 0, unknown opcodes are skipped as one
/// byte, values are reduced into range), and op k+1 decodes the same whatever happens to op k's
/// execution: preconditions are the executor's business, never the decoder's.
public enum ByteCodec {
    public static let version: UInt8 = 1
    /// Opcode value that starts the trailing schedule tape.
    public static let tapeMarker: UInt8 = 0x7f
    /// Bounds (SPEC §5: every input runs in well under 10 ms).
    public static let maxOps = 1024
    public static let maxThreads = 64
    public static let maxScheduleSteps = 1024
    /// `count` keys (pages touched by one op) and other numbers.
    public static let maxCount = 4096
    /// Sizes (`pages` of gmem.create / slot.create; a 1G hugetlb file is 262144 pages).
    public static let maxPages = 1 << 18
    public static let maxNumber = 1 << 24 - 1

    // MARK: encode

    /// Encodes a program. Expectations are not part of the byte format (fuzzing ignores them).
    /// Values outside the codec's bounds are clamped (see `clampedForCodec`).
    public static func encode(_ p: Program) -> [UInt8] {
        var w = ByteWriter()
        w.byte(version)
        encodeHeader(p.config, &w)
        for op in p.ops.prefix(maxOps) { encodeOp(op, &w) }
        if let s = p.schedule { encodeSchedule(s, &w) }
        return w.bytes
    }

    static func encodeHeader(_ c: Config, _ w: inout ByteWriter) {
        let pi = UInt8(Profile.allCases.firstIndex(of: c.profile)!)
        let hasMasks = c.plus.rawValue != 0 || c.minus.rawValue != 0
        w.byte(pi | (hasMasks ? 0x08 : 0))
        if hasMasks {
            w.leb(c.plus.rawValue)
            w.leb(c.minus.rawValue)
        }
    }

    public static func encodeOp(_ op: Op, _ w: inout ByteWriter) {
        let threaded = op.thread != 0
        w.byte(op.kind.rawValue | (threaded ? 0x80 : 0))
        if threaded { w.byte(UInt8(op.thread % maxThreads)) }
        let keys = op.kind.schema.keys
        let optional = ArgCoding.optionalSlots(op.kind)
        if !optional.isEmpty {
            var mask: UInt8 = 0
            for (bit, slot) in optional.enumerated() where op.args[slot] != Op.absent { mask |= 1 << UInt8(bit) }
            w.byte(mask)
        }
        for (i, k) in keys.enumerated() where op.args[i] != Op.absent {
            ArgCoding.encode(op.args[i], k, op.kind, &w)
        }
    }

    static func encodeSchedule(_ s: Schedule, _ w: inout ByteWriter) {
        w.byte(tapeMarker)
        switch s {
        case .steps(let st):
            w.byte(0)
            for t in st.prefix(maxScheduleSteps) { w.byte(UInt8(t % maxThreads)) }
        case .pct(let seed, let depth):
            w.byte(1)
            w.leb(UInt64(truncatingIfNeeded: seed) & 0xffff_ffff)
            w.byte(UInt8(min(max(depth, 0), 3)))
        }
    }

    // MARK: decode

    public static func decode(_ bytes: [UInt8]) -> Program {
        bytes.withUnsafeBufferPointer { decode(UnsafeRawBufferPointer($0)) }
    }

    /// Decodes any byte string (version byte first; unknown versions decode as the latest).
    public static func decode(_ buf: UnsafeRawBufferPointer) -> Program {
        var r = ByteReader(buf)
        var p = Program()
        guard !r.atEnd else { return p }
        _ = r.byte() // version: 1 is the only one so far; others decode as 1
        p.config = decodeHeader(&r)
        while !r.atEnd && p.ops.count < maxOps {
            let c = r.byte()
            let code = c & 0x7f
            if code == tapeMarker {
                p.schedule = decodeSchedule(&r)
                break
            }
            let thread = c & 0x80 != 0 ? Int(r.byte()) % maxThreads : 0
            // Unknown opcode (a newer table): skip the byte; the next op still decodes.
            guard let kind = OpKind(rawValue: code) else { continue }
            p.ops.append(decodeOp(kind, thread: thread, &r))
        }
        return p
    }

    static func decodeHeader(_ r: inout ByteReader) -> Config {
        let h = r.byte()
        var c = Config(profile: Profile.allCases[Int(h & 7) % Profile.allCases.count])
        if h & 0x08 != 0 {
            let valid = Variant.validMask
            c.plus = VariantSet(rawValue: r.leb() & valid)
            c.minus = VariantSet(rawValue: r.leb() & valid & ~c.plus.rawValue)
        }
        return c
    }

    public static func decodeOp(_ kind: OpKind, thread: Int, _ r: inout ByteReader) -> Op {
        let keys = ArgCoding.keys(kind)
        let optional = ArgCoding.optionalSlots(kind)
        // Bit i set = key i absent (only optional keys can be).
        var absent: UInt32 = 0
        if !optional.isEmpty {
            let mask = r.byte()
            for (bit, slot) in optional.enumerated() where mask & (1 << UInt8(bit)) == 0 { absent |= 1 << UInt32(slot) }
        }
        var args = [Int](repeating: Op.absent, count: keys.count)
        for i in keys.indices where absent & (1 << UInt32(i)) == 0 {
            args[i] = ArgCoding.decode(keys[i], kind, &r)
        }
        return Op(kind, thread: thread, args: args)
    }

    static func decodeSchedule(_ r: inout ByteReader) -> Schedule {
        if r.byte() & 1 == 0 {
            var steps: [Int] = []
            while !r.atEnd && steps.count < maxScheduleSteps { steps.append(Int(r.byte()) % maxThreads) }
            return .steps(steps)
        }
        let seed = Int(r.leb() & 0xffff_ffff)
        return .pct(seed: seed, depth: Int(r.byte()) & 3)
    }

    /// The program as the codec represents it: what `decode(encode(p))` returns.
    public static func clampedForCodec(_ p: Program) -> Program {
        decode(encode(p))
    }
}

extension Variant {
    /// Bits of every defined variant.
    public static let validMask: UInt64 = allCases.reduce(0) { $0 | 1 << UInt64($1.rawValue) }
}
