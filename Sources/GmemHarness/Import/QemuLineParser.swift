/// QEMU log backend lines (research traces-and-selftests.md §3): `<name> <args>` after an
/// optional prefix, one of
/// - `tid@sec.usec:` (QEMU ≤ ~10.0 with `-msg timestamp=on`; no space before the name),
/// - `YYYY-MM-DDTHH:MM:SS.uuuuuuZ (tid) ` (mid-2025 patch),
/// - `YYYY-MM-DDTHH:MM:SS.uuuuuuZ ` (current tree, timestamp from qemu_log()).
enum QemuLineParser {
    static func parse(_ raw: ArraySlice<UInt8>) throws(LineError) -> LineResult {
        var line = Bytes.trim(raw)
        if line.isEmpty || line.first == UInt8(ascii: "#") { return .skip }
        var task = "qemu"
        // tid@sec.usec:name
        if let at = line.prefix(24).firstIndex(of: UInt8(ascii: "@")), at > line.startIndex,
           line[line.startIndex..<at].allSatisfy(Bytes.isDigit) {
            guard let colon = line[at...].prefix(40).firstIndex(of: UInt8(ascii: ":")),
                  KernelLineParser.isTimestamp(line[(at + 1)..<colon]) else {
                throw LineError(message: "bad QEMU 'tid@sec.usec:' prefix: '\(Bytes.show(line))'")
            }
            task = "qemu-" + Bytes.text(line[line.startIndex..<at])
            line = line[(colon + 1)...]
        } else if let first = Bytes.tokens(line.prefix(64)).first, isISOTime(first) {
            line = Bytes.trim(line[first.endIndex...])
            if line.first == UInt8(ascii: "("), let close = line.prefix(24).firstIndex(of: UInt8(ascii: ")")) {
                let tid = line[(line.startIndex + 1)..<close]
                guard !tid.isEmpty, tid.allSatisfy(Bytes.isDigit) else { throw LineError(message: "bad QEMU '(tid)' column: '\(Bytes.show(line))'") }
                task = "qemu-" + Bytes.text(tid)
                line = Bytes.trim(line[(close + 1)...])
            }
        }
        let end = line.firstIndex(where: Bytes.isSpace) ?? line.endIndex
        let name = line[line.startIndex..<end]
        // QEMU event names are lower-case C identifiers (trace-events).
        guard !name.isEmpty, name.count <= 64,
              name.allSatisfy({ Bytes.isWord($0) && !($0 >= 0x41 && $0 <= 0x5a) }), !Bytes.isDigit(name.first!) else {
            throw LineError(message: "not a QEMU trace line (expected '<event> <args>' after an optional timestamp; wrong --format?): '\(Bytes.show(line))'")
        }
        return .event(RawEvent(task: task, name: Bytes.text(name), info: line[end...]))
    }

    /// 2025-06-13T10:11:12.123456Z (the date part is enough to recognise it).
    static func isISOTime(_ t: ArraySlice<UInt8>) -> Bool {
        guard t.count >= 20, t.last == UInt8(ascii: "Z") else { return false }
        let b = Array(t.prefix(11))
        return b[0...3].allSatisfy(Bytes.isDigit) && b[4] == UInt8(ascii: "-") && b[7] == UInt8(ascii: "-") && b[10] == UInt8(ascii: "T")
    }
}
