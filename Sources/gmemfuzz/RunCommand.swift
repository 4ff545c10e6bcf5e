import ArgumentParser
import Foundation
import GmemHarness
import GmemModel

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Replay .gmf scenarios; print op log and findings.")

    @Argument(help: "Scenario files") var files: [String]
    @OptionGroup var config: ConfigOptions
    @Flag(help: "Print one JSON object per file") var json = false
    @Flag(help: "Check invariants only after each op (faster)") var opChecks = false
    @Option(help: "Logical threads: deterministic (default) or threads (real concurrency, for TSan)")
    var mode: String = "deterministic"
    @Flag(help: "Print every scheduling decision of a concurrent run") var trace = false

    func run() throws {
        var allOK = true
        for path in files {
            var program: Program
            do { program = try loadProgram(path) } catch {
                stderr("\(error)")
                throw Exit.input
            }
            do { try config.apply(to: &program.config) } catch {
                stderr("error: \(error)")
                throw Exit.input
            }
            guard let m = ExecMode(rawValue: mode) else {
                stderr("error: unknown mode '\(mode)' (deterministic, threads)")
                throw Exit.input
            }
            // Threads mode: the OS interleaves the threads (the tape orders only start points and
            // yields), so what an op returns in a concurrent program is not the scenario's to
            // fix: results are not checked, an expected finding may or may not fire, and only a
            // finding the scenario does not name fails it.
            let concurrent = m == .threads && program.ops.contains { $0.thread != 0 }
            var named: [String] = []
            for op in program.ops { if case .finding(let p)? = op.expect { named.append(p) } }
            if concurrent && !json { print("note: \(path): threads mode, op results not checked (the OS schedules)") }
            let r = Executor.run(program, options: .init(checkEveryStep: !opChecks, checkExpectations: !concurrent,
                                                         ignore: concurrent ? named : [], mode: m, trace: trace))
            print(json ? ReportFormat.json(r, file: path) : ReportFormat.text(r, file: path), terminator: json ? "\n" : "")
            allOK = allOK && r.ok
        }
        if !allOK { throw Exit.findings }
    }
}
