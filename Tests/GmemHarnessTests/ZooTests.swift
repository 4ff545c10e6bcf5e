import Testing
import GmemHarness
import GmemModel

/// Every zoo scenario fires exactly its expected signature, and is silent with its variant off.
@Suite struct ZooTests {
    /// The variant a zoo file is named after (`<variant>.gmf`, or `<variant>.<form>.gmf` for
    /// a second scenario of the same variant).
    static func variant(of file: String) -> Variant? {
        let base = String(file.split(separator: "/").last!.dropLast(4))
        return Variant.allCases.filter { base == $0.name || base.hasPrefix($0.name + ".") }
            .max { $0.name.count < $1.name.count }
    }

    /// Zoo scenarios that need interleavings (logical threads or a schedule).
    static let concurrent = scenarioFiles("zoo").filter { f in
        (try? loadScenario(f)).map { $0.schedule != nil || $0.ops.contains { $0.thread != 0 } } ?? false
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
        // Every finding is one the scenario expects (by prefix), and every expectation fired.
        for f in r.findings {
            #expect(expected.contains { f.signature.hasPrefix($0) }, "\(file): unexpected \(f.signature)")
        }
        for e in expected {
            #expect(r.findings.contains { $0.signature.hasPrefix(e) }, "\(file): \(e) did not fire")
        }
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

    /// Concurrency zoo: 100 replays give the same signatures, op log and realized schedule.
    @Test(arguments: concurrent)
    func deterministicUnderInterleaving(_ file: String) throws {
        let p = try loadScenario(file)
        let first = Executor.run(p)
        #expect(!first.steps.isEmpty, "\(file) must run through the scheduler")
        for _ in 0..<100 {
            let r = Executor.run(p)
            #expect(r.opLog() == first.opLog())
            #expect(r.findings.map(\.signature) == first.findings.map(\.signature))
            #expect(r.steps == first.steps)
        }
    }

    /// tdx B11: TDX_PREVIOUS_TLB_EPOCH_BUSY comes from the module's epoch tracking (the vCPU in
    /// guest mode is still in the epoch before t0's TRACK while t0 waits for its ack), not from
    /// an injection: the same two zaps without the vCPU thread raise nothing.
    @Test func trackEpochBusyNeedsTheVcpuInGuestMode() throws {
        let p = try loadScenario("Corpus/scenarios/zoo/tdx.track_under_read_lock.gmf")
        #expect(!p.ops.contains { $0.kind == .inject })
        let r = Executor.run(p)
        #expect(!r.injected)
        let f = try #require(r.findings.first { $0.signature.hasPrefix("warn:tdx_track:") })
        #expect(f.message.contains("TDX_PREVIOUS_TLB_EPOCH_BUSY"))
        var q = p
        q.ops.removeAll { $0.kind == .vcpuRun }
        let rq = Executor.run(q, options: .init(checkExpectations: false))
        #expect(rq.findings.isEmpty, "\(rq.findings.map(\.signature))")
    }

    /// The concurrency zoo is not empty: the B25, B20 and I28 scenarios are there, and the TDX
    /// ones (tdx B11 with a vCPU in guest mode, B12, D2 interleaved).
    @Test func concurrencyZooPresent() {
        let names = Set(Self.concurrent.map { String($0.split(separator: "/").last!) })
        for n in ["kvm.private_check_before_seq.gmf", "gmem.fault_without_il.gmf", "gmem.no_lru_drain.retry.gmf",
                  "tdx.track_under_read_lock.gmf", "tdx.vp_init_without_mmu_lock.gmf",
                  "gmem.populate_gup_inside_il.interleaved.gmf"] {
            #expect(names.contains(n), "missing zoo/\(n)")
        }
    }
}
