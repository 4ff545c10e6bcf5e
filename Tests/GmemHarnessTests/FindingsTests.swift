import Testing
import GmemHarness
import GmemModel

/// FINDINGS.md reproducers: design issues the model shows under the default profile with no
/// variant and no injection. Each must keep firing its documented signature (flip the
/// expectation on purpose when the design is fixed).
@Test(arguments: scenarioFiles("findings"))
func findingReproducerFires(_ file: String) throws {
    let p = try loadScenario(file)
    #expect(p.config.plus.isEmpty && p.config.minus.isEmpty, "FINDINGS reproducers run without variants")
    let r = Executor.run(p)
    #expect(r.ok, "\(file):\n\(r.opLog())\n\(r.failedExpectations)")
    #expect(!r.injected)
    #expect(!r.findings.isEmpty)
}
