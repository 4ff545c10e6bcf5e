/// Byte-level helpers for the line parsers: the importer reads arbitrary bytes (binary garbage
/// included), so it never decodes a whole line as text and never indexes past a slice.
enum Bytes {
    static let space: UInt8 = 0x20, tab: UInt8 = 0x09, cr: UInt8 = 0x0d, nl: UInt8 = 0x0a
    /// Lines longer than this are reported and cut (bounded work per line).
    static let maxLine = 4096

    static func isSpace(_ c: UInt8) -> Bool { c == space || c == tab || c == cr }
    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    static func isHex(_ c: UInt8) -> Bool { isDigit(c) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x66) }
    /// [A-Za-z0-9_]
    static func isWord(_ c: UInt8) -> Bool { isDigit(c) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x7a) || c == 0x5f }

    /// Splits on "\n" (a trailing "\r" stays and counts as space). Line numbers are 1-based.
    static func lines(_ b: [UInt8]) -> [ArraySlice<UInt8>] {
        var out: [ArraySlice<UInt8>] = []
        var start = 0
        for i in b.indices where b[i] == nl {
            out.append(b[start..<i]); start = i + 1
        }
        if start < b.count { out.append(b[start...]) }
        return out
    }

    static func trim(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var lo = s.startIndex, hi = s.endIndex
        while lo < hi && isSpace(s[lo]) { lo += 1 }
        while hi > lo && isSpace(s[hi - 1]) { hi -= 1 }
        return s[lo..<hi]
    }

    static func tokens(_ s: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        var out: [ArraySlice<UInt8>] = []
        var i = s.startIndex
        while i < s.endIndex {
            while i < s.endIndex && isSpace(s[i]) { i += 1 }
            let st = i
            while i < s.endIndex && !isSpace(s[i]) { i += 1 }
            if st < i { out.append(s[st..<i]) }
        }
        return out
    }

    static func text(_ s: ArraySlice<UInt8>) -> String {
        String(decoding: s, as: UTF8.self)
    }

    /// Printable one-line rendering for messages and comments (control bytes become '?'),
    /// cut at `max` characters.
    static func show(_ s: ArraySlice<UInt8>, max: Int = 60) -> String {
        let cut = s.prefix(max)
        let clean = cut.map { $0 < 0x20 || $0 == 0x7f ? UInt8(ascii: "?") : $0 }
        return String(decoding: clean, as: UTF8.self) + (s.count > max ? "…" : "")
    }

    static func equals(_ s: ArraySlice<UInt8>, _ lit: StaticString) -> Bool {
        guard s.count == lit.utf8CodeUnitCount else { return false }
        var p = lit.utf8Start
        for c in s { if c != p.pointee { return false }; p += 1 }
        return true
    }

    static func hasPrefix(_ s: ArraySlice<UInt8>, _ lit: StaticString) -> Bool {
        guard s.count >= lit.utf8CodeUnitCount else { return false }
        return equals(s.prefix(lit.utf8CodeUnitCount), lit)
    }

    /// Drops trailing punctuation that formats glue to numbers: "0," "(rwxu)" "[0x8]".
    static func stripPunct(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var t = s
        while let f = t.first, f == UInt8(ascii: "[") || f == UInt8(ascii: "(") || f == UInt8(ascii: "'") { t = t.dropFirst() }
        while let l = t.last, l == UInt8(ascii: ",") || l == UInt8(ascii: "]") || l == UInt8(ascii: ")") || l == UInt8(ascii: ":")
            || l == UInt8(ascii: "'") { t = t.dropLast() }
        return t
    }
}
