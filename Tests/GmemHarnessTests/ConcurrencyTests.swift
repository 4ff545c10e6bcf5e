import Testing
import GmemHarness
import GmemModel

/// The deterministic scheduler, the schedule policies and the threads mode.
@Suite struct ConcurrencyTests {
    /// Corpus/scenarios/concurrency: interleavings under the default profile, no findings.
    @Test(arguments: scenarioFiles("concurrency"))
    func concurrencyScenarioPasses(_ file: String) throws {
        let p = try loadScenario(file)
        #expect(p.config.plus.isEmpty && p.config.minus.isEmpty, "default profile, no variants")
        let r = Executor.run(p)
        #expect(r.ok, "\(file):\n\(r.opLog())\n\(r.failedExpectations)")
        #expect(r.findings.isEmpty)
        #expect(!r.steps.isEmpty)
        // The realized schedule replays the run exactly.
        var q = p
        q.schedule = .steps(r.steps)
        let again = Executor.run(q)
        #expect(again.opLog() == r.opLog() && again.steps == r.steps)
    }

    static func program(_ text: String) throws -> Program { try ScenarioParser.parse(text, file: "test") }

    /// gmem B20: the refcount check saves the variant when the fault already holds the folio.
    @Test func faultWithoutILSavedByRefcountWhenRefHeld() throws {
        var p = try loadScenario("Corpus/scenarios/concurrency/fault-ref-vs-convert.gmf")
        p.config.plus.insert(.faultWithoutIL)
        p.schedule = .steps(Array(repeating: 0, count: 13) + [1])   // t0 holds the folio ref
        let r = Executor.run(p)
        #expect(r.ok && r.findings.isEmpty, "\(r.opLog())")
        #expect(r.records.first { $0.index == 5 }?.result == .err(.EAGAIN, errorOffset: 0))
    }

    /// A self-contained ABBA (punch hole vs memory failure): the wait-for cycle names both.
    @Test func deadlockReportsWaitForCycle() throws {
        let p = try loadScenario("Corpus/scenarios/findings/d8-deadlock-memory-failure-vs-punch.gmf")
        let r = Executor.run(p)
        let d = try #require(r.findings.first { $0.kind == .deadlock })
        #expect(d.message.contains("t1 waits for invalidate_lock(gmem0)"))
        #expect(d.message.contains("t0 waits for folio_lock(gmem0:0)"))
        #expect(d.message.contains("cycle"))
        #expect(!r.findings.contains { $0.kind == .lockdep }, "the deadlock subsumes the inversion")
    }

    /// Lockdep keeps recording across threads: the inversion is reported on a schedule that
    /// does not deadlock (program order runs each op to completion).
    @Test func lockdepWithoutDeadlock() throws {
        var p = try loadScenario("Corpus/scenarios/findings/d8-deadlock-memory-failure-vs-punch.gmf")
        p.schedule = nil
        p.ops.swapAt(4, 5)          // memory failure (t1) first, then the punch hole (t0)
        for i in p.ops.indices { p.ops[i].expect = nil }
        let r = Executor.run(p, options: .init(checkExpectations: false))
        #expect(r.findings.map(\.signature) == ["lockdep:folio_lock>invalidate_lock:gmem.memory_failure"])
        #expect(!r.steps.isEmpty)
    }

    /// PCT: same seed, same run; every depth <= 3 runs the conversion race without findings.
    @Test(arguments: 0..<24)
    func pctDeterministicAndClean(_ seed: Int) throws {
        var p = try loadScenario("Corpus/scenarios/concurrency/fault-vs-convert-blocked.gmf")
        for i in p.ops.indices { p.ops[i].expect = nil }
        p.schedule = .pct(seed: seed, depth: 1 + seed % 3)
        let a = Executor.run(p), b = Executor.run(p)
        #expect(a.steps == b.steps && a.opLog() == b.opLog())
        #expect(a.findings.isEmpty, "\(a.opLog())\n\(a.findings.map(\.message))")
    }

    /// A spinning fault (RET_PF_RETRY) yields to the thread whose invalidation it waits for,
    /// whatever the tape says: no false K6 liveness finding.
    @Test func spinYieldsToInvalidator() throws {
        let p = try Self.program("""
        gmemfuzz 1
        vm.create vm=0 type=sw
        vcpu.create vm=0 vcpu=0
        gmem.create gmem=0 vm=0 pages=4 flags=mmap,init_shared
        slot.create vm=0 slot=0 gmem=0 gfn=0x100 pages=4
        t1: gmem.punch gmem=0 page=0 count=4
        guest.write vcpu=0 gfn=0x100 value=0x33 => ok
        schedule steps=0*13,1,1,0*300
        """)
        let r = Executor.run(p)
        #expect(r.ok && r.findings.isEmpty, "\(r.opLog())\n\(r.findings.map(\.message))")
    }

    /// Single-threaded programs take the fast path: no scheduler, no steps.
    @Test func singleThreadFastPath() throws {
        let p = try loadScenario("Corpus/scenarios/zoo/gmem.skip_refcount_check.gmf")
        #expect(Executor.run(p).steps.isEmpty)
    }

    /// Threads mode runs every op of a multi-threaded program on the pool (results may vary,
    /// the default profile stays clean).
    @Test func threadsModeRunsClean() throws {
        var p = try loadScenario("Corpus/scenarios/concurrency/fault-vs-convert-blocked.gmf")
        for i in p.ops.indices { p.ops[i].expect = nil }
        for _ in 0..<50 {
            let r = Executor.run(p, options: .init(mode: .threads))
            #expect(r.records.count == p.ops.count)
            #expect(r.findings.isEmpty, "\(r.opLog())\n\(r.findings.map(\.message))")
        }
    }

    /// Threads mode survives random multi-threaded programs (up to 80 ops on 4 threads, the
    /// fuzzer's generator and mutator): every run returns and accounts at least its setup prefix
    /// (a thread aborted by a finding skips its later ops). `gmemfuzz bench stress` runs thousands.
    @Test func threadsModeSurvivesRandomPrograms() {
        let s = ThreadsStress()
        var rng = FuzzRNG(seed: 99)
        for _ in 0..<150 {
            let p = s.program(&rng)
            let r = Executor.run(p, options: .init(checkEveryStep: false, checkExpectations: false,
                                                   ignore: KnownFindings.prefixes, mode: .threads))
            #expect(r.records.count >= 9 || r.stoppedEarly)
            #expect(r.records.count <= p.ops.count)
        }
    }

    @Test func tapeRunLengthRoundTrips() throws {
        let p = try Self.program("gmemfuzz 1\nschedule steps=0*3,1,2*2\n")
        #expect(p.schedule == .steps([0, 0, 0, 1, 2, 2]))
        #expect(ScenarioPrinter.scheduleLine(p.schedule!) == "schedule steps=0*3,1,2,2")
    }
}
