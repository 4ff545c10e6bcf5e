import Testing
import GmemHarness
import GmemModel

/// Corpus/scenarios/tdx: TD lifecycle, populate paths, conversions, TDX selftests and injected
/// SEAMCALL failures. Every expectation holds, and with no variant and no injection nothing is
/// reported (zero false positives).
@Suite struct TDXScenarioTests {
    static func failureText(_ file: String, _ r: RunReport) -> String {
        let failed = r.failedExpectations.map { "op \($0.index): expected \($0.expected), got \($0.got)" }
        let found = r.findings.map { "\($0.signature): \($0.message)\n\($0.stateDump)" }
        return "\(file):\n\(r.opLog())\nfailed expectations: \(failed)\nfindings: \(found)"
    }

    /// The program without variants and without `inject` ops.
    static func plain(_ p: Program, profile: Profile) -> Program {
        var q = p
        q.config = Config(profile: profile)
        q.ops = p.ops.filter { $0.kind != .inject }
        return q
    }

    @Test func corpusIsPresent() {
        #expect(scenarioFiles("tdx").count >= 10)
    }

    @Test(arguments: scenarioFiles("tdx"))
    func expectationsHold(_ file: String) throws {
        let program = try loadScenario(file)
        let report = Executor.run(program)
        #expect(report.ok, "\(Self.failureText(file, report))")
        #expect(!report.stoppedEarly, "\(Self.failureText(file, report))")
        #expect(program.ops.contains { $0.expect != nil }, "\(file) carries no expectation")
        // A finding is only expected where a failure was injected or a variant is on.
        if report.findings.contains(where: { _ in true }) {
            #expect(report.injected || !program.config.plus.variants.isEmpty, "\(Self.failureText(file, report))")
        }
    }

    /// Zero false positives: the scenario's own (mainline) profile and the default profile, each
    /// with no variant and no injection, raise no finding.
    @Test(arguments: scenarioFiles("tdx") + scenarioFiles("zoo").filter { $0.contains("/tdx.") || $0.contains("populate") || $0.contains("filter") })
    func silentWithoutVariantsOrInjections(_ file: String) throws {
        let program = try loadScenario(file)
        var profiles: [Profile] = [.default]
        if program.config.profile != .default { profiles.append(program.config.profile) }
        for profile in profiles {
            let report = Executor.run(Self.plain(program, profile: profile), options: .init(checkExpectations: false))
            #expect(report.findings.isEmpty, "\(profile.rawValue): \(Self.failureText(file, report))")
            #expect(!report.stoppedEarly, "\(profile.rawValue): \(Self.failureText(file, report))")
        }
    }

    @Test(arguments: scenarioFiles("tdx"))
    func deterministic(_ file: String) throws {
        let p = try loadScenario(file)
        let a = Executor.run(p), b = Executor.run(p)
        #expect(a.opLog() == b.opLog())
        #expect(a.findings.map(\.signature) == b.findings.map(\.signature))
    }
}
