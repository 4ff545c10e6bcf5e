import GmemModel

/// How each key type is written in the byte codec. Decoding reduces every value into the
/// key's range, so any byte reads as some valid argument.
enum ArgCoding {
    /// Slots of the keys that may be absent (default nil), in schema order; one presence bit each.
    static func optionalSlots(_ kind: OpKind) -> [Int] { table[Int(kind.rawValue)] }
    /// Schema keys per kind, hoisted out of OpSchema so decoding does not copy schemas.
    static func keys(_ kind: OpKind) -> [KeySpec] { keyTable[Int(kind.rawValue)] }
    private static let keyTable: [[KeySpec]] = OpKind.allCases.map(\.schema.keys)
    private static let table: [[Int]] = OpKind.allCases.map { k in
        k.schema.keys.indices.filter { k.schema.keys[$0].defaultValue == nil }
    }

    /// Upper bound of a numeric key.
    static func numberCap(_ key: KeySpec, _ kind: OpKind) -> Int {
        switch key.name {
        case "count", "times": ByteCodec.maxCount
        case "pages": ByteCodec.maxPages
        default: ByteCodec.maxNumber
        }
    }

    static func encode(_ v: Int, _ key: KeySpec, _ kind: OpKind, _ w: inout ByteWriter) {
        switch key.type {
        case .handle: w.byte(UInt8(clamp(v, Model.maxHandles - 1)))
        case .number: w.leb(UInt64(clamp(v, numberCap(key, kind))))
        case .choice: w.byte(UInt8(clamp(v, 255)))
        case .flags: w.byte(UInt8(truncatingIfNeeded: v))
        case .byte: w.byte(UInt8(truncatingIfNeeded: v))
        case .bool: w.byte(v != 0 ? 1 : 0)
        case .source:
            if v < 2 { w.byte(UInt8(max(v, 0))); return }
            w.byte(2)
            w.byte(UInt8(clamp((v - 2) >> 16, Model.maxHandles - 1)))
            w.leb(UInt64((v - 2) & 0xffff))
        case .word: break // presence is the value
        }
    }

    static func decode(_ key: KeySpec, _ kind: OpKind, _ r: inout ByteReader) -> Int {
        switch key.type {
        case .handle: return Int(r.byte()) % Model.maxHandles
        case .number: return Int(r.leb() % UInt64(numberCap(key, kind) + 1))
        case .choice(let names): return Int(r.byte()) % names.count
        case .flags(let names): return Int(r.byte()) & (1 << names.count - 1)
        case .byte: return Int(r.byte())
        case .bool: return Int(r.byte() & 1)
        case .source:
            let tag = Int(r.byte()) % 3
            if tag < 2 { return tag }
            let g = Int(r.byte()) % Model.maxHandles
            let n = Int(r.leb() & 0xffff)
            return 2 + g << 16 + n
        case .word: return 1
        }
    }

    private static func clamp(_ v: Int, _ hi: Int) -> Int { min(max(v, 0), hi) }
}
