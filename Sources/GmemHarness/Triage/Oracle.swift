import GmemModel

/// What replaying a program produced: the signature of the finding it stopped on (nil = ran
/// clean) and, for in-process runs, the index of the op where it fired.
public struct Outcome: Equatable, Sendable {
    public var signatures: [String]
    public var opIndex: Int?
    /// In-process concurrent runs: the realized schedule (see `RunReport.steps`, `stepOps`,
    /// `stepDefaults`) and the program indices of the ops that started; the minimizer keeps
    /// tapes aligned and cuts never-started ops with them. Empty / nil otherwise.
    public var steps: [Int] = []
    public var stepOps: [Int] = []
    public var stepDefaults: [Int] = []
    public var started: [Int]?
    public init(signatures: [String], opIndex: Int? = nil) {
        self.signatures = signatures; self.opIndex = opIndex
    }
    public static let clean = Outcome(signatures: [])
    public var first: String? { signatures.first }
    public func raises(_ sig: String) -> Bool { signatures.contains(sig) }
}

/// Replays a program and reports what it raised. The minimizer, the determinism check and
/// triage only talk to this, so model findings (in-process) and sanitizer findings (child
/// process: `gmemfuzz run` or the libFuzzer binary, see the CLI) go through the same code.
public protocol Oracle {
    mutating func replay(_ p: Program) -> Outcome
    /// Whether a replay can differ between runs of the same input (never true for the model:
    /// threads are logical and the schedule is part of the input, SPEC §6).
    var deterministic: Bool { get }
}

/// The model in this process: the run stops at the first finding (known findings included by
/// default: minimizing a FINDINGS.md reproducer must still see it), expectations ignored.
public struct InProcessOracle: Oracle {
    public var options: Executor.Options
    /// `ignore`: signature prefixes the run goes past, as a fuzz job does with KnownFindings
    /// (a crash file from a job stopped on the first finding *after* the known ones).
    public init(checkEveryStep: Bool = true, ignore: [String] = []) {
        options = .init(checkEveryStep: checkEveryStep, checkExpectations: false, ignore: ignore)
    }
    public var deterministic: Bool { true }
    public mutating func replay(_ p: Program) -> Outcome {
        let r = Executor.run(p, options: options)
        let ignore = options.ignore
        let fs = ignore.isEmpty ? r.findings : r.findings.filter { f in !ignore.contains { f.signature.hasPrefix($0) } }
        guard let f = fs.first else { return .clean }
        // Every finding of the op the run stopped on (one op can fire several).
        var o = Outcome(signatures: fs.filter { $0.opIndex == f.opIndex }.map(\.signature), opIndex: f.opIndex)
        if !r.steps.isEmpty {
            o.steps = r.steps
            o.stepOps = r.stepOps
            o.stepDefaults = r.stepDefaults
            o.started = r.records.map(\.index).sorted()
        }
        return o
    }
}

/// The determinism check (SPEC §11, anchors: syzkaller accepts a repro after 3 OK runs): a
/// finding is reported only if `runs` replays all raise the same signature.
public enum DeterminismCheck {
    public enum Verdict: Equatable, Sendable {
        case stable(String)
        /// The first replay's signature and how many of `runs` replays raised it.
        case flaky(String?, hits: Int, runs: Int)
        case clean
    }

    public static func check<O: Oracle>(_ p: Program, oracle: inout O, runs: Int = 3) -> Verdict {
        let outs = (0..<runs).map { _ in oracle.replay(p).first }
        guard let sig = outs.compactMap({ $0 }).first else { return .clean }
        let hits = outs.filter { $0 == sig }.count
        return hits == runs ? .stable(sig) : .flaky(sig, hits: hits, runs: runs)
    }

    /// The text for a verdict; in deterministic mode a flaky result is a harness bug.
    public static func describe(_ v: Verdict, deterministic: Bool) -> String {
        switch v {
        case .stable(let s): return "stable \(s) (3/3)"
        case .clean: return "does not reproduce (0/3)"
        case .flaky(let s, let k, let n):
            let base = "flaky \(k)/\(n) \(s ?? "-")"
            return deterministic
                ? "HARNESS BUG: \(base): replays of one input differ in deterministic mode (model state leaks between runs, or an uncontrolled source of nondeterminism)"
                : base
        }
    }
}
