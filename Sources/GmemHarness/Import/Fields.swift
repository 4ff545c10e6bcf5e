/// The TP_printk text of one event, tokenized, with lookups by keyword. Formats drift across
/// kernel versions (kvm_page_fault has three, kvm_entry/kvm_exit four: research §1.2), so
/// fields are found by the word that precedes them, never by column.
struct Fields {
    let tokens: [ArraySlice<UInt8>]
    let event: String

    init(_ info: ArraySlice<UInt8>, event: String) {
        tokens = Bytes.tokens(info); self.event = event
    }

    struct Missing: Error { let message: String }

    /// The token after the first token equal to `kw` (trailing ',' on the keyword ignored).
    func after(_ kw: StaticString) -> ArraySlice<UInt8>? {
        for i in tokens.indices where i + 1 < tokens.count {
            if Bytes.equals(Bytes.stripPunct(tokens[i]), kw) { return Bytes.stripPunct(tokens[i + 1]) }
        }
        return nil
    }

    /// The value of a `key=value` token.
    func kv(_ key: StaticString) -> ArraySlice<UInt8>? {
        let n = key.utf8CodeUnitCount
        for t in tokens where t.count > n && t[t.startIndex + n] == UInt8(ascii: "=") {
            if Bytes.equals(t.prefix(n), key) { return Bytes.stripPunct(t.dropFirst(n + 1)) }
        }
        return nil
    }

    func fail(_ what: String, _ tok: ArraySlice<UInt8>?) -> Missing {
        if let tok { return Missing(message: "\(event): bad number '\(Bytes.show(tok))' for \(what)") }
        return Missing(message: "\(event): missing field '\(what)' (truncated line?)")
    }

    func hex(_ kw: StaticString) throws(Missing) -> UInt64 {
        let t = after(kw)
        guard let t, let v = NumberParser.hex(t) else { throw fail("\(kw)", t) }
        return v
    }
    func dec(_ kw: StaticString) throws(Missing) -> Int {
        let t = after(kw)
        guard let t, let v = NumberParser.dec(t) else { throw fail("\(kw)", t) }
        return v
    }
    func optDec(_ kw: StaticString) throws(Missing) -> Int? {
        guard let t = after(kw) else { return nil }
        guard let v = NumberParser.dec(t) else { throw fail("\(kw)", t) }
        return v
    }
    func kvHex(_ key: StaticString) throws(Missing) -> UInt64 {
        let t = kv(key)
        guard let t, let v = NumberParser.hex(t) else { throw fail("\(key)", t) }
        return v
    }
    func kvAny(_ key: StaticString) throws(Missing) -> UInt64 {
        let t = kv(key)
        guard let t, let v = NumberParser.any(t) else { throw fail("\(key)", t) }
        return v
    }
    func kvDec(_ key: StaticString) throws(Missing) -> Int {
        let t = kv(key)
        guard let t, let v = NumberParser.dec(t) else { throw fail("\(key)", t) }
        return v
    }
}
