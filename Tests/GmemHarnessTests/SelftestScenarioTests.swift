import Testing
import GmemHarness
import GmemModel

/// The kernel selftests (research traces-and-selftests.md §4.1, §4.2, §4.3, §4.5) as scenarios
/// under Corpus/scenarios/selftests: every expectation holds and the model reports nothing.
@Suite struct SelftestScenarioTests {
    static func failureText(_ file: String, _ r: RunReport) -> String {
        let failed = r.failedExpectations.map { "op \($0.index): expected \($0.expected), got \($0.got)" }
        let found = r.findings.map { "\($0.signature): \($0.message)" }
        return "\(file):\n\(r.opLog())\nfailed expectations: \(failed)\nfindings: \(found)"
    }

    @Test func corpusIsPresent() {
        #expect(!scenarioFiles("selftests").isEmpty, "Corpus/scenarios/selftests holds no .gmf file")
    }

    /// Every expectation holds, no finding is raised, and the scenario checks something.
    @Test(arguments: scenarioFiles("selftests"))
    func expectationsHold(_ file: String) throws {
        let program = try loadScenario(file)
        let report = Executor.run(program)
        #expect(report.ok, "\(Self.failureText(file, report))")
        #expect(report.findings.isEmpty, "\(Self.failureText(file, report))")
        #expect(!report.stoppedEarly, "\(Self.failureText(file, report))")
        #expect(report.records.count == program.ops.count, "\(Self.failureText(file, report))")
        #expect(program.ops.contains { $0.expect != nil }, "\(file) carries no expectation")
    }

    /// Zero false positives: with the default profile and no variant (the scenario's profile is kept
    /// only when it is a mainline `ml-*` one), a selftest scenario raises no finding.
    @Test(arguments: scenarioFiles("selftests"))
    func silentUnderDefaultConfig(_ file: String) throws {
        var program = try loadScenario(file)
        let profile = program.config.profile
        program.config = Config()
        if profile.rawValue.hasPrefix("ml-") { program.config.profile = profile }
        let report = Executor.run(program, options: .init(checkExpectations: false))
        #expect(report.findings.isEmpty, "\(Self.failureText(file, report))")
        #expect(!report.stoppedEarly, "\(Self.failureText(file, report))")
    }
}
