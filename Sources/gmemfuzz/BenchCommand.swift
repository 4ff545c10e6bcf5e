import ArgumentParser
import Foundation
import GmemHarness
import GmemModel

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "In-process executor throughput on generated N-op inputs and the shipped corpus (no libFuzzer, no sanitizer; see Fuzz/bench.sh for those).",
        subcommands: [BenchThroughput.self, BenchConcurrency.self, BenchStress.self],
        defaultSubcommand: BenchThroughput.self)
}

struct BenchThroughput: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "throughput",
        abstract: "Executor exec/s on generated N-op inputs and on the shipped corpus.")

    @Option(help: "Targets (comma-separated)") var targets = "FuzzConversion,FuzzPopulate"
    @Option(help: "Ops per generated input") var ops = 64
    @Option(help: "Generated inputs per target") var inputs = 2000
    @Option(help: "Seconds per measurement") var seconds: Double = 3
    @OptionGroup var config: ConfigOptions

    func run() throws {
        var base = Config()
        do { try config.apply(to: &base) } catch {
            stderr("error: \(error)")
            throw Exit.input
        }
        print("target            inputs        checks      exec/s   ops/s      rss MB before→after")
        for name in targets.split(separator: ",") {
            guard let t = FuzzTarget(rawValue: String(name)), t.isProgramTarget else {
                stderr("error: unknown program target '\(name)'")
                throw Exit.input
            }
            var rng = FuzzRNG(seed: 42)
            let gen = OpGenerator(target: t)
            var programs: [[UInt8]] = []
            for _ in 0..<inputs {
                var p = Program(config: base)
                for i in 0..<ops { p.ops.append(gen.op(for: p.ops, at: i, &rng)) }
                programs.append(ByteCodec.encode(p))
            }
            let dir = "Corpus/\(t.name)"
            let corpus = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
                .compactMap { try? readFile(dir + "/" + $0) }
            for (label, set) in [("generated-\(ops)", programs), ("corpus", corpus)] where !set.isEmpty {
                for every in [true, false] {
                    let (rate, opRate, before, after) = measure(set, checkEveryStep: every)
                    print("\(t.name.padding(toLength: 18, withPad: " ", startingAt: 0))\(label.padding(toLength: 14, withPad: " ", startingAt: 0))\((every ? "every step" : "op end").padding(toLength: 12, withPad: " ", startingAt: 0))\(String(rate).padding(toLength: 9, withPad: " ", startingAt: 0))\(String(opRate).padding(toLength: 11, withPad: " ", startingAt: 0))\(before)→\(after)")
                }
            }
        }
    }

    /// Decode + run, the same work LLVMFuzzerTestOneInput does, round-robin over `inputs`.
    func measure(_ inputs: [[UInt8]], checkEveryStep: Bool) -> (Int, Int, Int, Int) {
        let before = rssMB()
        let clock = ContinuousClock()
        let start = clock.now
        var n = 0, nops = 0
        let opts = Executor.Options(checkEveryStep: checkEveryStep, checkExpectations: false, ignore: KnownFindings.prefixes)
        while clock.now - start < .milliseconds(Int(seconds * 1000)) {
            for _ in 0..<16 {
                let p = ByteCodec.decode(inputs[n % inputs.count])
                nops += Executor.run(p, options: opts).records.count
                n += 1
            }
        }
        let d = clock.now - start
        let secs = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        return (Int(Double(n) / secs), Int(Double(nops) / secs), before, rssMB())
    }
}

/// Resident set size from /proc/self/statm (Linux), in MB.
func rssMB() -> Int {
    guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let f = s.split(separator: " ")
    guard f.count > 1, let pages = Int(f[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE))) / (1 << 20)
}
