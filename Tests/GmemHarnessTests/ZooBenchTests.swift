import Foundation
import GmemModel
import Testing
@testable import GmemHarness

/// What Fuzz/zoo.sh relies on: each zoo scenario's own seed (the one `gmemfuzz corpus
/// seed-name` names and the benchmark removes) is in the shipped corpus of its target, and
/// GMEMFUZZ_STOP_ON lets only the expected signature stop a job.
@Suite struct ZooBenchTests {
    @Test(arguments: scenarioFiles("zoo"))
    func ownSeedIsShipped(_ rel: String) throws {
        guard case .seed(let target, let bytes) = Seeds.seed(for: try loadScenario(rel)) else {
            Issue.record("\(rel) is not a seed: the zoo benchmark could not leave it out")
            return
        }
        let path = repoRoot.appendingPathComponent("Corpus/\(target.name)/\(SHA1.hex(bytes))").path
        #expect(FileManager.default.fileExists(atPath: path), "\(rel): seed \(SHA1.hex(bytes)) not in Corpus/\(target.name)")
    }

    @Test func stopOnFiltersBySignaturePrefix() throws {
        let p = try loadScenario("Corpus/scenarios/zoo/gmem.skip_refcount_check.gmf")
        let r = Executor.run(p, options: .init(checkEveryStep: true, checkExpectations: false))
        let f = try #require(r.findings.first)
        #expect(f.signature.hasPrefix("invariant:G4"))
        var s = FuzzEntry.Settings()
        #expect(s.stops(f), "no filter: every finding stops")
        s.stopOn = ["invariant:G4"]
        #expect(s.stops(f))
        s.stopOn = ["invariant:G9", "liveness:"]
        #expect(!s.stops(f))
    }
}
