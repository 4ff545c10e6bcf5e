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
            let r = Executor.run(program, options: .init(checkEveryStep: !opChecks, mode: m, trace: trace))
            print(json ? ReportFormat.json(r, file: path) : ReportFormat.text(r, file: path), terminator: json ? "\n" : "")
            allOK = allOK && r.ok
        }
        if !allOK { throw Exit.findings }
    }
}
