import GmemModel

/// How a `.gmf` scenario becomes a seed input (`gmemfuzz corpus build`).
public enum Seeds {
    public enum Outcome: Equatable, Sendable {
        case seed(FuzzTarget, [UInt8])
        /// Not a seed, with the reason (shown by `corpus build`).
        case excluded(String)
    }

    /// The seed for one scenario: its ops under its profile with the variant switches dropped
    /// (seeds must run clean, or libFuzzer refuses the corpus at startup; variants are switched on
    /// per job through the input header or `GMEMFUZZ_VARIANT`). A scenario whose ops still raise
    /// a finding without its variants (e.g. a FINDINGS.md reproducer) is excluded.
    public static func seed(for scenario: Program) -> Outcome {
        var p = scenario
        p.config.plus = []
        p.config.minus = []
        for i in p.ops.indices { p.ops[i].expect = nil }
        // A split 1G folio is 262144 4K folios the checker walks at every step (~1 s per run):
        // far too slow for a seed. 2M scenarios cost milliseconds and stay, and so does a 1G
        // create that fails (a size that is not whole 1G pages is EINVAL).
        let oneG = 1 << 18
        if p.ops.contains(where: { $0.kind == .gmemCreate && $0["huge"] == 2 && $0["pages"] >= oneG && $0["pages"] % oneG == 0 }) {
            return .excluded("1G hugetlb: too slow for fuzzing")
        }
        let bytes = ByteCodec.encode(p)
        let decoded = ByteCodec.decode(bytes)
        if decoded.ops.count != p.ops.count { return .excluded("more than \(ByteCodec.maxOps) ops") }
        let r = Executor.run(decoded, options: .init(checkEveryStep: true, checkExpectations: false))
        if let f = r.findings.first { return .excluded("raises \(f.signature) without variants") }
        return .seed(FuzzTarget.forProgram(p), bytes)
    }
}
