import Testing
import GmemHarness
import GmemModel

/// Every zoo scenario fires exactly its expected signature, and is silent with its variant off.
@Suite struct ZooTests {
    /// The variant a zoo file is named after (`<variant>.gmf`).
    static func variant(of file: String) -> Variant? {
        let base = file.split(separator: "/").last!.dropLast(4)
        return Variant(name: String(base))
    }

    @Test(arguments: scenarioFiles("zoo"))
    func firesItsSignature(_ file: String) throws {
        let p = try loadScenario(file)
        let v = try #require(Self.variant(of: file), "zoo file must be named after a variant")
        #expect(p.config.plus.has(v), "\(file) must switch its variant on")
        let r = Executor.run(p)
        #expect(r.ok, "\(file):\n\(r.opLog())\n\(r.failedExpectations)")
        let expected = p.ops.compactMap { op -> String? in
            if case .finding(let s) = op.expect { return s }
            return nil
        }
        #expect(!expected.isEmpty, "\(file) must expect a finding")
        #expect(Set(r.findings.map(\.signature)) == Set(expected), "\(file): \(r.findings.map(\.signature))")
    }

    @Test(arguments: scenarioFiles("zoo"))
    func silentWithVariantOff(_ file: String) throws {
        var p = try loadScenario(file)
        let v = try #require(Self.variant(of: file))
        p.config.plus.remove(v)
        p.config.minus.insert(v)
        let r = Executor.run(p, options: .init(checkExpectations: false))
        #expect(r.findings.isEmpty, "\(file) with -\(v.name):\n\(r.opLog())\n\(r.findings.map { "\($0.signature): \($0.message)" })")
        #expect(!r.stoppedEarly)
    }

    /// The replay is deterministic: same input, same op log and signatures.
    @Test(arguments: scenarioFiles("zoo"))
    func deterministic(_ file: String) throws {
        let p = try loadScenario(file)
        let a = Executor.run(p), b = Executor.run(p)
        #expect(a.opLog() == b.opLog())
        #expect(a.findings.map(\.signature) == b.findings.map(\.signature))
    }
}
