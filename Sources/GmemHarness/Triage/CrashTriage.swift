import GmemModel

/// Dedup of a crash directory (SPEC §7): replay every file, group by signature, keep the
/// smallest input per group (syzkaller `crashes/<hash>/`, ClusterFuzz crash state).
public enum CrashTriage {
    public struct Item: Sendable {
        public let file: String
        public let size: Int
        public let verdict: DeterminismCheck.Verdict
    }

    public struct Group: Sendable {
        /// The signature, `flaky` for inputs whose replays disagree, `none` for inputs that no
        /// longer raise anything.
        public let signature: String
        public var files: [String]
        public var smallest: String
        public var smallestSize: Int
        public var count: Int { files.count }
    }

    /// Replays each (name, bytes) input `runs` times and groups them. Order: by signature.
    public static func group<O: Oracle>(_ inputs: [(name: String, bytes: [UInt8])], oracle: inout O,
                                        runs: Int = 3) -> (groups: [Group], items: [Item]) {
        var items: [Item] = []
        var groups: [String: Group] = [:]
        for (name, bytes) in inputs {
            let v = DeterminismCheck.check(ByteCodec.decode(bytes), oracle: &oracle, runs: runs)
            items.append(Item(file: name, size: bytes.count, verdict: v))
            let key: String
            switch v {
            case .stable(let s): key = s
            case .flaky: key = "flaky"
            case .clean: key = "none"
            }
            if var g = groups[key] {
                g.files.append(name)
                if bytes.count < g.smallestSize || bytes.count == g.smallestSize && name < g.smallest {
                    g.smallest = name
                    g.smallestSize = bytes.count
                }
                groups[key] = g
            } else {
                groups[key] = Group(signature: key, files: [name], smallest: name, smallestSize: bytes.count)
            }
        }
        return (groups.values.sorted { $0.signature < $1.signature }, items)
    }

    public static func table(_ groups: [Group]) -> String {
        let w = max(9, groups.map(\.signature.count).max() ?? 0)
        var out = "signature".padding(w) + "  count  smallest  first file\n"
        for g in groups {
            out += g.signature.padding(w) + "  " + String(g.count).padding(5) + "  " + (String(g.smallestSize) + " B").padding(8)
                + "  " + (g.files.first ?? "") + "\n"
        }
        return out
    }

    public static func json(_ groups: [Group], items: [Item], deterministic: Bool) -> String {
        let gs = groups.map { g in
            "{\"signature\":\(q(g.signature)),\"count\":\(g.count),\"smallest\":\(q(g.smallest)),\"smallestSize\":\(g.smallestSize),\"files\":[\(g.files.map(q).joined(separator: ","))]}"
        }
        let its = items.map { i in
            "{\"file\":\(q(i.file)),\"size\":\(i.size),\"verdict\":\(q(DeterminismCheck.describe(i.verdict, deterministic: deterministic)))}"
        }
        return "{\"groups\":[\(gs.joined(separator: ","))],\"inputs\":[\(its.joined(separator: ","))]}"
    }

    static func q(_ s: String) -> String {
        var o = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": o += "\\\""
            case "\\": o += "\\\\"
            case "\n": o += "\\n"
            default:
                if c.value < 0x20 { o += "\\u" + String(c.value, radix: 16).leftPad(4) } else { o.unicodeScalars.append(c) }
            }
        }
        return o + "\""
    }
}
