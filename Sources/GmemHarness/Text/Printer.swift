import GmemModel

/// Prints a Program as a canonical `.gmf` scenario: `parse(print(p)) == p` for every program.
public enum ScenarioPrinter {
    public static func print(_ p: Program, comments: [String] = []) -> String {
        print(p, comments: comments, opComments: [:])
    }

    /// An imported scenario: the program plus the importer's comments before each op
    /// (`opComments[i]` precedes op i; `opComments[ops.count]` follows the last op). Comments
    /// are not part of `Program`, so codec round trips and `Op` equality ignore them.
    public static func print(_ s: ImportedScenario) -> String {
        print(s.program, comments: s.header, opComments: s.opComments)
    }

    static func print(_ p: Program, comments: [String], opComments: [Int: [String]]) -> String {
        var out = "gmemfuzz 1\n"
        for c in comments { out += commentLine(c) }
        out += "profile \(p.config.profile.rawValue)\n"
        for v in p.config.plus.variants { out += "variant +\(v.name)\n" }
        for v in p.config.minus.variants { out += "variant -\(v.name)\n" }
        for (i, op) in p.ops.enumerated() {
            for c in opComments[i] ?? [] { out += commentLine(c) }
            out += line(op) + "\n"
        }
        for c in opComments[p.ops.count] ?? [] { out += commentLine(c) }
        if let s = p.schedule { out += scheduleLine(s) + "\n" }
        return out
    }

    /// One `# …` line; line breaks inside a comment would end it, so they become spaces.
    static func commentLine(_ c: String) -> String {
        "# " + String(c.map { $0.isNewline ? " " : $0 }) + "\n"
    }

    public static func scheduleLine(_ s: Schedule) -> String {
        switch s {
        case .steps(let st): "schedule steps=" + runs(st)
        case .pct(let seed, let depth): "schedule pct seed=\(seed) depth=\(depth)"
        }
    }

    /// One op as a scenario line (without the trailing newline).
    public static func line(_ op: Op, withExpectation: Bool = true) -> String {
        var s = op.thread != 0 ? "t\(op.thread): " : ""
        s += op.kind.name
        for (i, k) in op.kind.schema.keys.enumerated() {
            let v = op.args[i]
            if v == Op.absent { continue }
            if let d = k.defaultValue, v == d { continue }
            if case .word = k.type { s += " \(k.name)"; continue }
            s += " \(k.name)=\(value(v, k.type))"
        }
        if withExpectation, let e = op.expect { s += " => \(e.text)" }
        return s
    }

    public static func value(_ v: Int, _ type: ArgType) -> String {
        switch type {
        case .handle, .number, .bool: String(v)
        case .byte: "0x" + String(v, radix: 16).leftPad(2)
        case .choice(let names): names.indices.contains(v) ? names[v] : String(v)
        case .flags(let names):
            names.indices.filter { v & (1 << $0) != 0 }.map { names[$0] }.joined(separator: ",")
        case .source:
            v == 0 ? "none" : v == 1 ? "anon" : "gmem:\((v - 2) >> 16):\((v - 2) & 0xffff)"
        case .word: ""
        }
    }
}

extension ScenarioPrinter {
    /// `0,0,0,1` prints as `0*3,1` (the parser expands it back).
    static func runs(_ st: [Int]) -> String {
        var out: [String] = []
        var i = 0
        while i < st.count {
            var j = i
            while j < st.count && st[j] == st[i] { j += 1 }
            out.append(j - i > 2 ? "\(st[i])*\(j - i)" : Array(repeating: String(st[i]), count: j - i).joined(separator: ","))
            i = j
        }
        return out.joined(separator: ",")
    }
}
