import ArgumentParser
import Foundation
import GmemHarness
import GmemModel

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import kernel / QEMU traces as .gmf scenarios (and seeds).",
        discussion: """
            Formats: ftrace (/sys/kernel/tracing/trace, trace_pipe), trace-cmd (trace-cmd report), \
            perf (perf script), qemu (-trace log backend). --format applies to every FILE; write \
            FORMAT:FILE to give one file its own format (e.g. with --merge: \
            --format ftrace kernel.txt qemu:qemu.log).
            """)

    @Option(help: "ftrace | trace-cmd | perf | qemu") var format: String
    @Argument(help: "Trace files ([FORMAT:]PATH)") var files: [String]
    @Option(name: .short, help: "Output directory") var output: String
    @Option(help: "sw | tdx (default: inferred; tdx if kvm_exit reason TDCALL is seen)") var platform: String?
    @Option(help: "per-vm | in-place (default: inferred from kvm_vm_set_mem_attributes lines)") var attributes: String?
    @Option(help: "TDX guest physical address width, 48 or 52 (default: inferred)") var gpaw: Int?
    @Flag(help: "Merge all files (kernel + QEMU of one run) into one scenario") var merge = false
    @Flag(help: "Any line that cannot be parsed is fatal (exit 2)") var strict = false
    @Option(help: "Where the binary seeds go, as DIR/<FuzzTarget>/<name> (default: OUTPUT/seeds)") var seeds: String?
    @Flag(help: "Write only the .gmf scenarios (e.g. into Corpus/scenarios/imported, from which `gmemfuzz corpus build` makes the seeds)") var noSeeds = false

    func run() throws {
        guard let fmt = TraceFormat(rawValue: format) else {
            stderr("error: unknown --format '\(format)' (ftrace, trace-cmd, perf, qemu)"); throw Exit.input
        }
        var opts = ImportOptions(merge: merge)
        if let p = platform {
            guard let v = ImportPlatform(rawValue: p) else { stderr("error: --platform must be sw or tdx"); throw Exit.input }
            opts.platform = v
        }
        if let a = attributes {
            guard let v = AttributeMode(rawValue: a) else { stderr("error: --attributes must be per-vm or in-place"); throw Exit.input }
            opts.attributes = v
        }
        if let g = gpaw {
            guard g == 48 || g == 52 else { stderr("error: --gpaw must be 48 or 52"); throw Exit.input }
            opts.gpaw = g
        }
        var inputs: [TraceInput] = []
        for spec in files {
            var path = spec, f = fmt
            if let colon = spec.firstIndex(of: ":"), let g = TraceFormat(rawValue: String(spec[..<colon])) {
                f = g; path = String(spec[spec.index(after: colon)...])
            }
            guard let data = FileManager.default.contents(atPath: path) else {
                stderr("\(path): cannot read file"); throw Exit.input
            }
            inputs.append(TraceInput(name: path, format: f, bytes: [UInt8](data)))
        }
        let r = TraceImporter.run(inputs, options: opts)
        for d in r.diagnostics { stderr(d.description) }
        if strict && r.skippedLines > 0 {
            stderr("error: \(r.skippedLines) line(s) could not be parsed (--strict); nothing written")
            throw Exit.input
        }
        do {
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        } catch {
            stderr("\(output): \(error.localizedDescription)"); throw Exit.input
        }
        for (name, s) in r.scenarios {
            let path = (output as NSString).appendingPathComponent(name + ".gmf")
            guard FileManager.default.createFile(atPath: path, contents: Data(ScenarioPrinter.print(s).utf8)) else {
                stderr("\(path): cannot write"); throw Exit.input
            }
            print("wrote \(path) (\(s.program.ops.count) ops)")
            if noSeeds { continue }
            // The same seed `gmemfuzz corpus build` makes from the scenario (Seeds.seed).
            switch Seeds.seed(for: s.program) {
            case .seed(let target, let bytes):
                let dir = ((seeds ?? (output as NSString).appendingPathComponent("seeds")) as NSString).appendingPathComponent(target.name)
                let seedPath = (dir as NSString).appendingPathComponent(name)
                do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
                    stderr("\(dir): \(error.localizedDescription)"); throw Exit.input
                }
                guard FileManager.default.createFile(atPath: seedPath, contents: Data(bytes)) else {
                    stderr("\(seedPath): cannot write"); throw Exit.input
                }
                print("wrote \(seedPath) (\(bytes.count) bytes, seed for \(target.name))")
            case .excluded(let why):
                print("no seed for \(name): \(why)")
            }
        }
        print("events read: \(r.eventsRead)")
        print("ops emitted: \(r.opsEmitted)")
        print("lines skipped: \(r.skippedLines)")
        if r.ignoredByName.isEmpty {
            print("events ignored by name: none")
        } else {
            print("events ignored by name: " + r.ignoredByName.map { "\($0.name) ×\($0.count)" }.joined(separator: ", "))
        }
    }
}
