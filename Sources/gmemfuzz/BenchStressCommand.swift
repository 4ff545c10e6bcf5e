import ArgumentParser
import Foundation
import GmemHarness
import GmemModel

/// Threads-mode robustness: thousands of random FuzzConcurrent programs on real threads.
struct BenchStress: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stress",
        abstract: "Run random multi-threaded programs in threads mode; exit 1 on any finding (default profile, no variants/injections).")

    @Option(help: "Programs to run") var programs = 5000
    @Option(help: "RNG seed") var seed: UInt64 = 1
    @Option(help: "Up to this many ops per program (setup prefix included)") var maxOps = 80
    @Option(help: "Logical threads") var threads = 4
    @Flag(help: "Keep inject ops (findings are then reported, not failures)") var injections = false
    @OptionGroup var config: ConfigOptions

    func run() throws {
        var s = ThreadsStress()
        s.maxOps = maxOps
        s.threads = threads
        s.injections = injections
        do { try config.apply(to: &s.config) } catch {
            stderr("error: \(error)")
            throw Exit.input
        }
        let clock = ContinuousClock()
        let start = clock.now
        let out = s.run(count: programs, seed: seed) { i in
            if (i + 1) % 1000 == 0 { stderr("stress: \(i + 1) programs") }
        }
        let d = clock.now - start
        let secs = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        print("stress: \(out.programs) programs, \(out.ops) ops, \(threads) threads, \(Int(Double(out.programs) / secs)) programs/s, rss \(rssMB()) MB")
        for (sig, e) in out.findings.sorted(by: { $0.key < $1.key }) {
            print("finding \(sig) x\(e.count); first program:\n\(e.program)")
        }
        if !out.findings.isEmpty && !injections && config.variants.isEmpty { throw Exit.findings }
    }
}
