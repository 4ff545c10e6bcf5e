import Testing
import GmemHarness
import GmemModel

/// Corpus/scenarios/huge (hp-v3 hugetlb guest_memfd): every expectation holds and, since each
/// runs the default profile with no variant, nothing is reported (zero false positives).
@Suite struct HugeScenarioTests {
    @Test func corpusIsPresent() {
        #expect(scenarioFiles("huge").count >= 10)
    }

    @Test(arguments: scenarioFiles("huge"))
    func expectationsHoldSilently(_ file: String) throws {
        let program = try loadScenario(file)
        let report = Executor.run(program)
        let text = SelftestScenarioTests.failureText(file, report)
        #expect(report.ok, "\(text)")
        #expect(report.findings.isEmpty, "\(text)")
        #expect(!report.stoppedEarly, "\(text)")
        #expect(program.ops.contains { $0.expect != nil }, "\(file) carries no expectation")
        #expect(program.config.plus.isEmpty && program.config.minus.isEmpty, "\(file): huge scenarios run without variants")
    }

    /// The scenarios written for another profile are also silent under the default one.
    @Test(arguments: scenarioFiles("huge"))
    func silentUnderDefaultConfig(_ file: String) throws {
        var program = try loadScenario(file)
        guard program.config != Config() else { return }   // already covered above
        program.config = Config()
        let report = Executor.run(program, options: .init(checkExpectations: false))
        #expect(report.findings.isEmpty, "\(SelftestScenarioTests.failureText(file, report))")
    }

    /// Per-step invariant checks and per-op checks agree (the 1G scenario is the expensive one).
    @Test func deterministic() throws {
        let p = try loadScenario("Corpus/scenarios/huge/2m-convert-back-merge.gmf")
        let a = Executor.run(p), b = Executor.run(p)
        #expect(a.opLog() == b.opLog())
    }
}
