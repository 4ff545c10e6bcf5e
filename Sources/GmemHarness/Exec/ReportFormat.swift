import GmemModel

/// Human and JSON renderings of a run.
public enum ReportFormat {
    public static func text(_ r: RunReport, file: String) -> String {
        var out = "== \(file)\n" + r.opLog() + "\n"
        for line in r.trace { out += "  " + line + "\n" }
        if !r.steps.isEmpty {
            out += "realized " + ScenarioPrinter.scheduleLine(.steps(r.steps)) + "\n"
        }
        for f in r.findings {
            let tag = r.unexpected.contains(f) ? "FINDING" : "expected finding"
            out += "\(tag) \(f.signature) at op \(f.opIndex): \(f.message)\n"
            if r.unexpected.contains(f) && !f.stateDump.isEmpty {
                out += f.stateDump.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n") + "\n"
            }
        }
        for e in r.failedExpectations {
            out += "EXPECT FAILED at op \(e.index): expected \(e.expected), got \(e.got)\n"
        }
        out += r.ok ? "PASS\n" : "FAIL\n"
        return out
    }

    public static func json(_ r: RunReport, file: String) -> String {
        func q(_ s: String) -> String {
            var o = "\""
            for c in s.unicodeScalars {
                switch c {
                case "\"": o += "\\\""
                case "\\": o += "\\\\"
                case "\n": o += "\\n"
                case "\t": o += "\\t"
                default:
                    if c.value < 0x20 { o += "\\u" + String(c.value, radix: 16).leftPad(4) } else { o.unicodeScalars.append(c) }
                }
            }
            return o + "\""
        }
        let ops = r.records.map { "{\"index\":\($0.index),\"op\":\(q(ScenarioPrinter.line($0.op, withExpectation: false))),\"result\":\(q($0.result.text))}" }
        let fs = r.findings.map { f in
            "{\"signature\":\(q(f.signature)),\"kind\":\(q(f.kind.rawValue)),\"id\":\(q(f.id)),\"op\":\(q(f.opName)),\"opIndex\":\(f.opIndex),\"expected\":\(!r.unexpected.contains(f)),\"message\":\(q(f.message)),\"state\":\(q(f.stateDump))}"
        }
        let ex = r.failedExpectations.map { "{\"index\":\($0.index),\"expected\":\(q($0.expected)),\"got\":\(q($0.got))}" }
        return "{\"file\":\(q(file)),\"ok\":\(r.ok),\"ops\":[\(ops.joined(separator: ","))],\"findings\":[\(fs.joined(separator: ","))],\"failedExpectations\":[\(ex.joined(separator: ","))]}"
    }
}
