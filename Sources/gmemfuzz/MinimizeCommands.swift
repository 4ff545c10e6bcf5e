import ArgumentParser
import Foundation
import GmemHarness
import GmemModel

/// Options shared by `minimize` and `reproduce`.
struct MinimizeOptions: ParsableArguments {
    @Argument(help: "Crash input (.gmf scenario or binary fuzzer input)") var file: String
    @OptionGroup var config: ConfigOptions
    @Option(help: "libFuzzer binary to replay sanitizer findings with (child process)") var fuzzer: String?
    @Flag(help: "Replay in a child process even if the model raises the finding in-process") var child = false
    @Flag(help: "No progress lines") var quiet = false
    @Flag(help: "Go past KnownFindings (FINDINGS.md) like the fuzz jobs do, so a crash file keeps the signature the job reported") var skipKnown = false

    /// Loads, applies --profile/--variant, checks determinism (3 replays), and minimizes.
    func minimize() throws -> (original: Program, minimized: Program, signature: String) {
        var p: Program
        do { p = try loadProgram(file) } catch {
            stderr("\(error)")
            throw Exit.input
        }
        do { try config.apply(to: &p.config) } catch {
            stderr("error: \(error)")
            throw Exit.input
        }
        for i in p.ops.indices { p.ops[i].expect = nil }
        p = ByteCodec.clampedForCodec(p)
        var inProc = InProcessOracle(ignore: skipKnown ? KnownFindings.prefixes : [])
        if !child, case .stable(let sig) = DeterminismCheck.check(p, oracle: &inProc) {
            return (p, run(p, sig, oracle: inProc), sig)
        }
        var co = ChildOracle(fuzzer: fuzzer)
        let v = DeterminismCheck.check(p, oracle: &co)
        guard case .stable(let sig) = v else {
            stderr("\(file): \(DeterminismCheck.describe(v, deterministic: co.deterministic))")
            if case .clean = v, fuzzer == nil {
                stderr("hint: sanitizer crashes need --fuzzer Fuzz/out/address-release/<target> (or an ASan build of gmemfuzz)")
            }
            throw Exit.findings
        }
        return (p, run(p, sig, oracle: co), sig)
    }

    func run<O: Oracle>(_ p: Program, _ sig: String, oracle: O) -> Program {
        let clock = ContinuousClock()
        let start = clock.now
        var m = Minimizer(oracle: oracle, signature: sig)
        let mode = oracle is InProcessOracle ? "in-process" : "child process"
        if !quiet {
            stderr("minimize: \(file): \(sig), \(p.ops.count) ops, \(mode)")
            m.progress = { stderr($0) }
        }
        let out = m.minimize(p)
        let d = clock.now - start
        let secs = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        if !quiet {
            stderr("minimize: done: \(p.ops.count) -> \(out.ops.count) ops, \(m.stats.accepted) steps accepted, \(m.stats.tests) runs + \(m.stats.memoHits) memo hits, \(String(format: "%.3f", secs)) s")
        }
        return out
    }
}

struct Minimize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Op-level minimization keeping the signature (cut tail, unrelated handles, ddmin + single removal, argument defaults, variants/threads/schedule).")
    @OptionGroup var options: MinimizeOptions
    @Option(name: .shortAndLong, help: "Output: .gmf (text with => finding:SIG) or anything else (bytes)") var output: String

    func run() throws {
        let (_, min, sig) = try options.minimize()
        let r = Reproducer(name: "minimized", signature: sig, program: min, source: options.file)
        if output.hasSuffix(".gmf") {
            try writeFile(output, Array(ScenarioPrinter.print(r.program, comments: ["Minimized from \(options.file)", "Signature: \(sig)"]).utf8))
        } else {
            try writeFile(output, r.bytes)
        }
        print("\(output): \(min.ops.count) ops, \(sig)")
    }
}

struct Reproduce: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Minimize, then write Corpus/scenarios/reproducers/NAME.gmf, Tests/Reproducers/NAME.swift and Fuzz/FailCases/<target>/NAME (+ .expect).")
    @OptionGroup var options: MinimizeOptions
    @Option(help: "Reproducer name (file names; [A-Za-z0-9_.-])") var name: String
    @Option(help: "Repository root to write into") var root = "."

    func run() throws {
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "_.-".contains($0) }) else {
            stderr("error: --name must be [A-Za-z0-9_.-]+")
            throw Exit.input
        }
        let (_, min, sig) = try options.minimize()
        let r = Reproducer(name: name, signature: sig, program: min, source: (options.file as NSString).lastPathComponent)
        // The minimized reproducer must itself be deterministic before it is committed.
        var o = InProcessOracle(ignore: options.skipKnown ? KnownFindings.prefixes : [])
        if !Signature.needsChildProcess(sig) {
            let v = DeterminismCheck.check(r.program, oracle: &o)
            guard v == .stable(sig) else {
                stderr("error: minimized program: \(DeterminismCheck.describe(v, deterministic: true))")
                throw Exit.findings
            }
        }
        try writeFile("\(root)/\(r.scenarioPath)", Array(r.scenario.utf8))
        try writeFile("\(root)/\(r.testPath)", Array(r.swiftTest.utf8))
        try writeFile("\(root)/\(r.failCasePath)", r.bytes)
        var written = [r.scenarioPath, r.testPath, r.failCasePath]
        if let e = r.expectFile {
            try writeFile("\(root)/\(r.failCasePath).expect", Array(e.utf8))
            written.append(r.failCasePath + ".expect")
        }
        for w in written { print("wrote \(w)") }
        print("signature \(sig), \(min.ops.count) ops; now run `swift run gmemfuzz corpus build` and commit")
    }
}

struct TriageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "triage",
        abstract: "Replay every crash file of a directory (3x each), group by signature, keep the smallest per group.")
    @Argument(help: "Crash directory") var dir: String
    @Flag(help: "Print JSON instead of the table") var json = false
    @Option(name: .shortAndLong, help: "Also write the JSON here") var output: String?
    @Option(help: "libFuzzer binary for inputs the model replays clean (sanitizer crashes)") var fuzzer: String?
    @OptionGroup var config: ConfigOptions

    func run() throws {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        var inputs: [(name: String, bytes: [UInt8])] = []
        for n in names {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir + "/" + n, isDirectory: &isDir), !isDir.boolValue else { continue }
            do {
                var p = try loadProgram(dir + "/" + n)
                try config.apply(to: &p.config)
                inputs.append((n, ByteCodec.encode(p)))
            } catch {
                stderr("skip \(n): \(error)")
            }
        }
        guard !inputs.isEmpty else {
            stderr("error: no crash files in \(dir)")
            throw Exit.input
        }
        var oracle = HybridOracle(child: fuzzer.map { ChildOracle(fuzzer: $0) })
        let (groups, items) = CrashTriage.group(inputs, oracle: &oracle)
        for i in items {
            if case .flaky = i.verdict { stderr("\(i.file): \(DeterminismCheck.describe(i.verdict, deterministic: true))") }
        }
        let js = CrashTriage.json(groups, items: items, deterministic: true)
        if let o = output { try writeFile(o, Array((js + "\n").utf8)) }
        print(json ? js : CrashTriage.table(groups), terminator: json ? "\n" : "")
        if groups.contains(where: { $0.signature == "flaky" }) { throw Exit.findings }
    }
}
