import GmemModel

/// The `.gmf` scenario parser (SPEC §4). Total: any text yields a Program or a ScenarioError.
public enum ScenarioParser {
    public static func parse(_ text: String, file: String = "<input>") throws(ScenarioError) -> Program {
        var program = Program()
        var sawHeader = false
        var sawOp = false
        var lineNo = 0
        // "\r\n" is one Character in Swift: split on any newline so CRLF files parse.
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            lineNo += 1
            let line = Substring(rawLine.prefix { $0 != "#" })
            let tokens = tokenize(line)
            guard let first = tokens.first else { continue }
            func fail(_ col: Int, _ msg: String) -> ScenarioError {
                ScenarioError(file: file, line: lineNo, column: col, message: msg)
            }
            if !sawHeader {
                guard first.text == "gmemfuzz" else { throw fail(first.col, "expected header 'gmemfuzz 1'") }
                guard tokens.count == 2, tokens[1].text == "1" else {
                    throw fail(tokens.count > 1 ? tokens[1].col : first.col, "unsupported format version (expected 'gmemfuzz 1')")
                }
                sawHeader = true
                continue
            }
            switch first.text {
            case "profile":
                guard !sawOp else { throw fail(first.col, "'profile' must come before the first op") }
                guard tokens.count == 2 else { throw fail(first.col, "expected 'profile NAME'") }
                guard let p = Profile(rawValue: tokens[1].text) else {
                    throw fail(tokens[1].col, "unknown profile '\(tokens[1].text)' (known: \(Profile.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                program.config.profile = p
            case "variant":
                guard !sawOp else { throw fail(first.col, "'variant' must come before the first op") }
                guard tokens.count >= 2 else { throw fail(first.col, "expected 'variant +NAME' or 'variant -NAME'") }
                for t in tokens.dropFirst() {
                    let sign = t.text.first
                    guard sign == "+" || sign == "-" else { throw fail(t.col, "variant must start with + or -") }
                    let name = String(t.text.dropFirst())
                    guard let v = Variant(name: name) else { throw fail(t.col + 1, "unknown variant '\(name)'") }
                    if sign == "+" { program.config.plus.insert(v); program.config.minus.remove(v) }
                    else { program.config.minus.insert(v); program.config.plus.remove(v) }
                }
            case "schedule":
                program.schedule = try parseSchedule(tokens, fail)
            default:
                sawOp = true
                program.ops.append(try parseOp(tokens, fail))
            }
        }
        if !sawHeader { throw ScenarioError(file: file, line: max(lineNo, 1), column: 1, message: "empty scenario: expected header 'gmemfuzz 1'") }
        return program
    }

    struct Token { let text: String; let col: Int }

    static func tokenize(_ line: Substring) -> [Token] {
        var out: [Token] = []
        var cur = ""
        var start = 0
        var col = 0
        for ch in line {
            col += 1
            if ch == " " || ch == "\t" || ch == "\r" {
                if !cur.isEmpty { out.append(Token(text: cur, col: start)); cur = "" }
            } else {
                if cur.isEmpty { start = col }
                cur.append(ch)
            }
        }
        if !cur.isEmpty { out.append(Token(text: cur, col: start)) }
        return out
    }

    /// Decimal or 0x hex, non-negative, bounded so arithmetic in the model cannot overflow.
    public static func number(_ s: Substring) -> Int? {
        let v: Int?
        if s.hasPrefix("0x") || s.hasPrefix("0X") { v = Int(s.dropFirst(2), radix: 16) } else { v = Int(s) }
        guard let v, v >= 0, v <= 1 << 40 else { return nil }
        return v
    }

    static func parseSchedule(_ tokens: [Token], _ fail: (Int, String) -> ScenarioError) throws(ScenarioError) -> Schedule {
        guard tokens.count >= 2 else { throw fail(tokens[0].col, "expected 'schedule steps=...' or 'schedule pct seed=N depth=D'") }
        if tokens[1].text.hasPrefix("steps=") {
            guard tokens.count == 2 else { throw fail(tokens[2].col, "unexpected token after steps=") }
            var steps: [Int] = []
            let list = tokens[1].text.dropFirst(6)
            for part in list.isEmpty ? [] : list.split(separator: ",", omittingEmptySubsequences: false) {
                // `T*K`: thread T for K steps in a row.
                let rk = part.split(separator: "*", maxSplits: 1, omittingEmptySubsequences: false)
                guard let n = number(rk[0]), n < 64 else { throw fail(tokens[1].col, "bad thread number '\(part)' in steps") }
                var k = 1
                if rk.count == 2 {
                    guard let r = number(rk[1]), r >= 1, r <= 100_000, steps.count + r <= 100_000 else {
                        throw fail(tokens[1].col, "bad repeat count in '\(part)'")
                    }
                    k = r
                }
                steps.append(contentsOf: repeatElement(n, count: k))
            }
            return .steps(steps)
        }
        guard tokens[1].text == "pct" else { throw fail(tokens[1].col, "unknown schedule kind '\(tokens[1].text)'") }
        var seed: Int?, depth: Int?
        for t in tokens.dropFirst(2) {
            let kv = t.text.split(separator: "=", maxSplits: 1)
            guard kv.count == 2, let n = number(kv[1]) else { throw fail(t.col, "expected key=number") }
            switch kv[0] {
            case "seed": seed = n
            case "depth":
                guard n <= 3 else { throw fail(t.col, "pct depth must be <= 3") }
                depth = n
            default: throw fail(t.col, "unknown schedule key '\(kv[0])'")
            }
        }
        return .pct(seed: seed ?? 0, depth: depth ?? 1)
    }

    static func parseOp(_ tokensIn: [Token], _ fail: (Int, String) -> ScenarioError) throws(ScenarioError) -> Op {
        var tokens = tokensIn[...]
        var thread = 0
        if let t = tokens.first, t.text.hasPrefix("t"), t.text.hasSuffix(":") {
            guard let n = number(t.text.dropFirst().dropLast()), n < 64 else { throw fail(t.col, "bad thread prefix '\(t.text)'") }
            thread = n
            tokens = tokens.dropFirst()
        }
        guard let nameTok = tokens.first else { throw fail(tokensIn[0].col, "expected an op after the thread prefix") }
        guard let kind = OpKind.named(nameTok.text) else { throw fail(nameTok.col, "unknown op '\(nameTok.text)'") }
        tokens = tokens.dropFirst()
        var op = Op(kind, thread: thread)
        let schema = kind.schema
        var seen = Set<String>()
        while let t = tokens.first {
            tokens = tokens.dropFirst()
            if t.text == "=>" {
                guard let e = tokens.first else { throw fail(t.col, "expected an expectation after '=>'") }
                guard tokens.count == 1 else { throw fail(tokens.dropFirst().first!.col, "unexpected token after the expectation") }
                op.expect = try parseExpectation(e, fail)
                break
            }
            let parts = t.text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0])
            guard let slot = schema.slot(key) else {
                throw fail(t.col, "unknown key '\(key)' for \(kind.name) (keys: \(schema.keys.map(\.name).joined(separator: " ")))")
            }
            guard seen.insert(key).inserted else { throw fail(t.col, "duplicate key '\(key)'") }
            let spec = schema.keys[slot]
            if case .word = spec.type {
                guard parts.count == 1 else { throw fail(t.col, "'\(key)' takes no value") }
                op.args[slot] = 1
                continue
            }
            guard parts.count == 2, !parts[1].isEmpty else { throw fail(t.col, "expected \(key)=VALUE") }
            guard let v = parseValue(parts[1], spec.type) else {
                throw fail(t.col + key.count + 1, "bad value '\(parts[1])' for \(key) (\(describe(spec.type)))")
            }
            op.args[slot] = v
        }
        return op
    }

    public static func parseValue(_ s: Substring, _ type: ArgType) -> Int? {
        switch type {
        case .handle:
            guard let n = number(s), n < Model.maxHandles else { return nil }
            return n
        case .number: return number(s)
        case .byte:
            guard let n = number(s), n <= 255 else { return nil }
            return n
        case .bool:
            guard s == "0" || s == "1" else { return nil }
            return s == "1" ? 1 : 0
        case .choice(let names):
            return names.firstIndex(of: String(s))
        case .flags(let names):
            var mask = 0
            for part in s.split(separator: ",", omittingEmptySubsequences: false) {
                guard let i = names.firstIndex(of: String(part)) else { return nil }
                mask |= 1 << i
            }
            return mask
        case .source:
            if s == "none" { return 0 }
            if s == "anon" { return 1 }
            let p = s.split(separator: ":", omittingEmptySubsequences: false)
            guard p.count == 3, p[0] == "gmem", let g = number(p[1]), g < Model.maxHandles,
                  let n = number(p[2]), n < 1 << 16 else { return nil }
            return 2 + (g << 16) + n
        case .word: return 1
        }
    }

    static func describe(_ t: ArgType) -> String {
        switch t {
        case .handle: "an id 0..\(Model.maxHandles - 1)"
        case .number: "a number"
        case .byte: "a byte 0..255"
        case .bool: "0 or 1"
        case .choice(let n): n.joined(separator: "|")
        case .flags(let n): "comma-separated " + n.joined(separator: ",")
        case .source: "none|anon|gmem:G:N"
        case .word: "no value"
        }
    }

    static func parseExpectation(_ t: Token, _ fail: (Int, String) -> ScenarioError) throws(ScenarioError) -> Expectation {
        let s = t.text
        switch s {
        case "ok": return .ok
        case "SIGBUS": return .sigbus
        case "SIGSEGV": return .sigsegv
        case "skipped": return .skipped
        default: break
        }
        if s.hasPrefix("finding:") {
            let p = String(s.dropFirst(8))
            guard !p.isEmpty else { throw fail(t.col, "empty finding prefix") }
            return .finding(p)
        }
        if s.hasPrefix("exit:") {
            guard let x = VMExit(rawValue: String(s.dropFirst(5))) else { throw fail(t.col, "unknown exit '\(s)'") }
            return .exit(x)
        }
        if s.hasPrefix("count:") {
            guard let n = number(s.dropFirst(6)) else { throw fail(t.col, "bad count '\(s)'") }
            return .count(n)
        }
        if s.hasPrefix("0x") || s.hasPrefix("0X") {
            guard let n = number(Substring(s)), n <= 255 else { throw fail(t.col, "bad value '\(s)' (one byte)") }
            return .value(UInt8(n))
        }
        let parts = s.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
        guard let e = Errno(name: String(parts[0])) else { throw fail(t.col, "unknown expectation '\(s)'") }
        if parts.count == 2 {
            guard let off = number(parts[1]) else { throw fail(t.col + parts[0].count + 1, "bad error offset '\(parts[1])'") }
            return .errno(e, offset: off)
        }
        return .errno(e, offset: nil)
    }
}
