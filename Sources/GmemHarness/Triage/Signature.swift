import GmemModel

/// Crash signatures (SPEC §7): `kind:id:op` for model findings, `asan|tsan:<bug type>:<top model
/// frame>` for sanitizer reports. Two crashes with one signature are one bug. A signature never
/// holds an address, a pid, a thread number or a counter, so it is stable across runs and builds.
public enum Signature {
    /// The signature of a model finding (all model kinds share one shape: `kind:id:op`).
    public static func of(_ f: Finding) -> String { f.signature }

    /// The finding kind a signature starts with (`invariant`, `asan`, …), nil for an unknown kind
    /// (`crash:` for a Swift trap, `harness:` for a harness self-check).
    public static func kind(_ signature: String) -> FindingKind? {
        FindingKind(rawValue: String(signature.prefix { $0 != ":" }))
    }

    /// Sanitizer findings kill the process: they are replayed in a child process, never in-process.
    public static func needsChildProcess(_ signature: String) -> Bool {
        let k = signature.prefix { $0 != ":" }
        return k == "asan" || k == "tsan" || k == "crash"
    }

    /// The signature a crashed or finished child process reported on its output (stderr and
    /// stdout together), or nil when it reported none. Precedence: the harness's own
    /// `==gmemfuzz== FINDING` line (a model finding in libFuzzer mode), then a sanitizer report,
    /// then `gmemfuzz run`'s `FINDING sig at op N` line, then a bare Swift trap.
    public static func fromChildOutput(_ text: String, demangle: Demangler = .none) -> String? {
        var runFinding: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("==gmemfuzz== FINDING ") {
                return String(line.dropFirst("==gmemfuzz== FINDING ".count)).trimmed
            }
            if runFinding == nil, line.hasPrefix("FINDING "), let sig = line.dropFirst(8).split(separator: " ").first {
                runFinding = String(sig)
            }
        }
        if let r = SanitizerReport.parse(text, demangle: demangle) { return r.signature }
        return runFinding
    }
}

/// Turns a Swift mangled symbol into readable text (`swift demangle --simplified`), or nil.
/// The harness has no Foundation, so the CLI provides one that runs the toolchain's demangler;
/// without it mangled names are kept as they are (still stable: they do not depend on addresses).
public struct Demangler: Sendable {
    public let demangle: @Sendable (String) -> String?
    public init(_ f: @escaping @Sendable (String) -> String?) { demangle = f }
    public static let none = Demangler { _ in nil }
}

extension StringProtocol {
    var trimmed: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s = s.dropLast() }
        return String(s)
    }
}

extension String {
    /// Left-aligned in a column of `n` characters (no Foundation `padding(toLength:)`).
    func padding(_ n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
}
