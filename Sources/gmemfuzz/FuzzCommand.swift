import ArgumentParser
import Foundation
import GmemHarness
import GmemModel

struct Fuzz: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Built-in in-process fuzz loop (same mutator as libFuzzer; model-feature guided, or --unguided).")

    @Option(help: "Target: \(FuzzTarget.allCases.filter(\.isProgramTarget).map(\.name).joined(separator: ", "))")
    var target = "FuzzConversion"
    @Option(help: "Stop after this many seconds") var seconds: Double = 10
    @Option(help: "Stop after this many executions (0 = no limit)") var runs = 0
    @Option(help: "RNG seed (same seed + same corpus = same run)") var seed: UInt64 = 1
    @Option(help: "Seed corpus directory (default Corpus/<target>)") var corpus: String?
    @Option(help: "Where crash files go") var artifacts = "."
    @Option(help: "Max encoded input size in bytes") var maxLen = 4096
    @OptionGroup var config: ConfigOptions
    @Flag(help: "Never grow the pool (the unguided baseline)") var unguided = false
    @Flag(help: "Let the mutator change profile and variants") var explore = false
    @Flag(help: "Also stop on the known findings of FINDINGS.md") var reportKnown = false
    @Flag(help: "Keep going after a finding (count distinct signatures)") var keepGoing = false
    @Option(help: "Stop only at a finding whose signature starts with this prefix (others are counted; repeatable)")
    var stopOn: [String] = []
    @Flag(help: "No progress lines") var quiet = false
    @Flag(help: "Print one JSON summary line at the end") var json = false

    func run() throws {
        guard let t = FuzzTarget(rawValue: target), t.isProgramTarget else {
            stderr("error: unknown program target '\(target)'")
            throw Exit.input
        }
        var settings = FuzzEntry.Settings()
        var pinned = Config()
        do { try config.apply(to: &pinned) } catch {
            stderr("error: \(error)")
            throw Exit.input
        }
        if config.profile != nil { settings.profile = pinned.profile }
        settings.plus = pinned.plus
        settings.minus = pinned.minus
        settings.explore = explore
        if reportKnown { settings.ignore = [] }

        let dir = corpus ?? "Corpus/\(t.name)"
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
        let seeds = names.compactMap { try? loadProgram(dir + "/" + $0) }
        var loop = FuzzLoop(target: t, seeds: seeds, guided: !unguided, seed: seed, settings: settings, maxLen: maxLen)

        let clock = ContinuousClock()
        let start = clock.now
        var lastPrint = start
        var found: [String: (count: Int, file: String, execs: Int, secs: Double)] = [:]
        var firstFindingAt: Double?
        func elapsed() -> Double {
            let d = clock.now - start
            return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        }
        if !quiet {
            stderr("fuzz: \(t.name) \(unguided ? "unguided" : "guided (model features)"), \(seeds.count) seeds from \(dir), seed \(seed)")
        }
        while elapsed() < seconds && (runs == 0 || loop.execs < runs) {
            let step = loop.step()
            if let f = step.finding {
                let sig = f.signature
                if found[sig] == nil {
                    let bytes = ByteCodec.encode(step.program)
                    let path = "\(artifacts)/crash-\(SHA1.hex(bytes))"
                    try writeFile(path, bytes)
                    let at = elapsed()
                    firstFindingAt = firstFindingAt ?? at
                    found[sig] = (1, path, loop.execs, at)
                    if !quiet {
                        stderr("==gmemfuzz== FINDING \(sig) after \(loop.execs) execs, \(String(format: "%.2f", at)) s")
                        stderr(step.report.opLog())
                        stderr("==gmemfuzz== input written to \(path)")
                    }
                } else {
                    found[sig]!.count += 1
                }
                if !keepGoing && (stopOn.isEmpty || stopOn.contains(where: { sig.hasPrefix($0) })) { break }
            }
            if !quiet && clock.now - lastPrint > .seconds(2) {
                lastPrint = clock.now
                let e = elapsed()
                stderr("#\(loop.execs)  exec/s: \(Int(Double(loop.execs) / max(e, 1e-9)))  pool: \(loop.pool.count)  features: \(loop.features.count)  findings: \(found.count)")
            }
        }
        let e = elapsed()
        let rate = Int(Double(loop.execs) / max(e, 1e-9))
        if json {
            let items = found.sorted { $0.key < $1.key }.map { k, v in
                "{\"signature\":\"\(k)\",\"count\":\(v.count),\"file\":\"\(v.file)\",\"execs\":\(v.execs),\"seconds\":\(v.secs)}"
            }.joined(separator: ",")
            print("{\"target\":\"\(t.name)\",\"guided\":\(!unguided),\"execs\":\(loop.execs),\"seconds\":\(e),\"exec_per_sec\":\(rate),\"pool\":\(loop.pool.count),\"features\":\(loop.features.count),\"findings\":[\(items)]}")
        } else {
            print("done: \(loop.execs) execs in \(String(format: "%.1f", e)) s, \(rate) exec/s, pool \(loop.pool.count), features \(loop.features.count), findings \(found.count)")
            for (sig, v) in found.sorted(by: { $0.key < $1.key }) {
                print("  \(sig)  x\(v.count)  first after \(v.execs) execs (\(String(format: "%.2f", v.secs)) s)  \(v.file)")
            }
        }
        if !found.isEmpty { throw Exit.findings }
    }
}
