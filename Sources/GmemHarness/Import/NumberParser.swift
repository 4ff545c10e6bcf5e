/// Number fields of tracepoint text (research traces-and-selftests.md §1.6):
/// - `%llx`/`%lx` print no `0x` (`gfn 80000`), `0x%llx` does: hex fields accept both;
/// - `%#016llx` pads to 16 *including* `0x` (`0x00000000080000`), and glibc renderers
///   (trace-cmd, perf) print value 0 as `0000000000000000` without `0x`;
/// - unknown `__print_symbolic` values print as hex.
/// Every parser is bounded: a token longer than 40 bytes or with more than 16 significant hex
/// digits (19 decimal) is rejected, never silently truncated.
enum NumberParser {
    static let maxToken = 40

    /// Hex with optional 0x/0X.
    static func hex(_ t: ArraySlice<UInt8>) -> UInt64? {
        guard t.count <= maxToken else { return nil }
        var d = t
        if d.count >= 2, d[d.startIndex] == UInt8(ascii: "0"), d[d.startIndex + 1] | 0x20 == UInt8(ascii: "x") { d = d.dropFirst(2) }
        guard !d.isEmpty else { return nil }
        var v: UInt64 = 0
        var significant = 0
        for c in d {
            guard Bytes.isHex(c) else { return nil }
            let x = Bytes.isDigit(c) ? UInt64(c - 0x30) : UInt64((c | 0x20) - 0x61 + 10)
            if significant > 0 || x != 0 { significant += 1 }
            if significant > 16 { return nil }
            v = v << 4 | x
        }
        return v
    }

    /// Decimal `%d`/`%u`, optional leading '-'.
    static func dec(_ t: ArraySlice<UInt8>) -> Int? {
        guard t.count <= maxToken else { return nil }
        var d = t
        var neg = false
        if d.first == UInt8(ascii: "-") { neg = true; d = d.dropFirst() }
        guard !d.isEmpty, d.count <= 18 else { return nil }
        var v = 0
        for c in d {
            guard Bytes.isDigit(c) else { return nil }
            v = v * 10 + Int(c - 0x30)
        }
        return neg ? -v : v
    }

    /// `0x…` as hex, otherwise decimal (QEMU `%d` fields that some versions print as hex).
    static func any(_ t: ArraySlice<UInt8>) -> UInt64? {
        if t.count >= 2, t[t.startIndex] == UInt8(ascii: "0"), t[t.startIndex + 1] | 0x20 == UInt8(ascii: "x") { return hex(t) }
        guard let d = dec(t), d >= 0 else { return nil }
        return UInt64(d)
    }
}
