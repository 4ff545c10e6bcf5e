import ArgumentParser
import Foundation
import GmemHarness
import GmemModel

struct BenchMinimize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-minimize",
        abstract: "Minimization time (SPEC §11: a 200-op crash to a 1-minimal reproducer in <= 10 s): each zoo scenario padded to N ops with unrelated random ops.")
    @Argument(help: "Scenarios (default: Corpus/scenarios/zoo/*.gmf)") var files: [String] = []
    @Option(help: "Total ops after padding") var ops = 200
    @Option(help: "Padding RNG seed") var seed: UInt64 = 1
    @Option(help: "Replay each candidate with this libFuzzer binary (child process) instead of in-process") var fuzzer: String?

    func run() throws {
        let list = files.isEmpty ? scenarioFiles(under: "Corpus/scenarios/zoo") : files
        print("scenario                                   ops  ->  min  zoo  1-min  runs  memo   seconds")
        var worst = 0.0
        for f in list {
            var p = try loadProgram(f)
            for i in p.ops.indices { p.ops[i].expect = nil }
            var o = InProcessOracle()
            guard let sig = o.replay(p).first,
                  let padded = Padding.padKeeping(p, signature: sig, extraOps: max(0, ops - p.ops.count), seed: seed) else {
                print("\(f): raises nothing / padding always disturbs it; skipped")
                continue
            }
            let clock = ContinuousClock()
            let start = clock.now
            let (out, oneMin, stats) = fuzzer.map { minimize(padded, sig, ChildOracle(fuzzer: $0)) }
                ?? minimize(padded, sig, InProcessOracle())
            let d = clock.now - start
            let secs = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
            worst = max(worst, secs)
            let name = (f as NSString).lastPathComponent
            print("\(name.padding(toLength: 42, withPad: " ", startingAt: 0)) \(String(padded.ops.count).padding(toLength: 4, withPad: " ", startingAt: 0)) -> \(String(out.ops.count).padding(toLength: 4, withPad: " ", startingAt: 0)) \(String(p.ops.count).padding(toLength: 4, withPad: " ", startingAt: 0)) \((oneMin ? "yes" : "NO").padding(toLength: 6, withPad: " ", startingAt: 0)) \(String(stats.tests).padding(toLength: 5, withPad: " ", startingAt: 0)) \(String(stats.memoHits).padding(toLength: 6, withPad: " ", startingAt: 0)) \(String(format: "%.3f", secs))")
        }
        print("worst: \(String(format: "%.3f", worst)) s (target <= 10 s)")
    }

    /// Minimizes and checks 1-minimality (the check is not part of the measured time).
    func minimize<O: Oracle>(_ p: Program, _ sig: String, _ o: O) -> (Program, Bool, (tests: Int, memoHits: Int)) {
        var m = Minimizer(oracle: o, signature: sig)
        let out = m.minimize(p)
        let stats = (tests: m.stats.tests, memoHits: m.stats.memoHits)
        return (out, m.isOneMinimal(out), stats)
    }
}
