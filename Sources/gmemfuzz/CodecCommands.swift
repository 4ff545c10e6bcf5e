import ArgumentParser
import Foundation
import GmemHarness
import GmemModel

struct Fmt: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Decode a binary input to .gmf text without running it.")
    @Argument(help: "Binary input (or a .gmf file, printed canonically)") var file: String

    func run() throws {
        do {
            print(ScenarioPrinter.print(try loadProgram(file)), terminator: "")
        } catch {
            stderr("\(error)")
            throw Exit.input
        }
    }
}

struct Encode: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Encode a .gmf scenario into fuzzer input bytes.")
    @Argument(help: "Scenario file") var file: String
    @Option(name: .shortAndLong, help: "Output file") var output: String
    @OptionGroup var config: ConfigOptions

    func run() throws {
        do {
            var p = try loadProgram(file)
            try config.apply(to: &p.config)
            let bytes = ByteCodec.encode(p)
            if ByteCodec.decode(bytes).ops.count != p.ops.count {
                stderr("warning: \(file): only the first \(ByteCodec.maxOps) ops fit the byte format")
            }
            try writeFile(output, bytes)
            print("\(output): \(bytes.count) bytes, \(p.ops.count) ops")
        } catch let e as ValidationError {
            stderr("error: \(e)")
            throw Exit.input
        } catch {
            stderr("\(error)")
            throw Exit.input
        }
    }
}

struct CorpusGroup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "corpus", abstract: "Seed corpus management.", subcommands: [CorpusBuild.self, CorpusGen.self, CorpusSetHeader.self, CorpusSeedName.self])
}

struct CorpusBuild: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Regenerate Corpus/<target>/ from Corpus/scenarios/** (files named by sha1).")
    @Option(help: "Corpus root") var corpus = "Corpus"
    @Flag(help: "Only check that Corpus/<target>/ is up to date (exit 1 if not)") var check = false

    func run() throws {
        let files = scenarioFiles(under: corpus + "/scenarios")
        guard !files.isEmpty else {
            stderr("error: no .gmf files under \(corpus)/scenarios")
            throw Exit.input
        }
        var wanted: [FuzzTarget: [String: [UInt8]]] = [:]
        var excluded: [(String, String)] = []
        for path in files {
            let program: Program
            do { program = try loadProgram(path) } catch {
                stderr("\(error)")
                throw Exit.input
            }
            // Every scenario also seeds the text target as it is.
            let text = try readFile(path)
            wanted[.scenarioText, default: [:]][SHA1.hex(text)] = text
            switch Seeds.seed(for: program) {
            case .seed(let t, let bytes): wanted[t, default: [:]][SHA1.hex(bytes)] = bytes
            case .excluded(let why): excluded.append((path, why))
            }
            // Its threaded variant for FuzzConcurrent, when its tail has two actors.
            switch Seeds.threadedSeed(for: program) {
            case .seed(let t, let bytes)?: wanted[t, default: [:]][SHA1.hex(bytes)] = bytes
            case .excluded(let why)?: excluded.append((path, why))
            case nil: break
            }
        }
        // The trace importer's seeds are the sample traces.
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: corpus + "/traces")) ?? []).sorted()
        where !name.hasSuffix(".py") && !name.hasPrefix(".") {
            let bytes = try readFile(corpus + "/traces/" + name)
            wanted[.traceImport, default: [:]][SHA1.hex(bytes)] = bytes
        }
        var stale = false
        for t in FuzzTarget.allCases {
            let dir = "\(corpus)/\(t.name)"
            let want = wanted[t] ?? [:]
            let have = Set((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
            let extra = have.subtracting(want.keys), missing = Set(want.keys).subtracting(have)
            if check {
                if !extra.isEmpty || !missing.isEmpty {
                    stale = true
                    print("\(dir): \(missing.count) missing, \(extra.count) stale")
                }
                continue
            }
            for name in extra { try? FileManager.default.removeItem(atPath: dir + "/" + name) }
            for (name, bytes) in want.sorted(by: { $0.key < $1.key }) where missing.contains(name) {
                try writeFile(dir + "/" + name, bytes)
            }
            print("\(dir): \(want.count) seeds (\(missing.count) new, \(extra.count) removed)")
        }
        // Dictionaries next to the fuzz package (Fuzz/<Target>.dict).
        for t in FuzzTarget.allCases {
            guard let dict = FuzzDictionary.text(for: t) else { continue }
            let path = "Fuzz/\(t.name).dict"
            let have = (try? readFile(path)) ?? []
            if have != Array(dict.utf8) {
                if check { stale = true; print("\(path): stale") } else { try writeFile(path, Array(dict.utf8)) }
            }
        }
        for (path, why) in excluded { print("not a seed: \(path): \(why)") }
        if stale { throw Exit.findings }
    }
}

struct CorpusGen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gen",
        abstract: "Write generated N-op inputs (the mutator's generator, fixed seed) for benchmarks.")
    @Option(help: "Target") var target = "FuzzConversion"
    @Option(help: "Ops per input") var ops = 64
    @Option(help: "Number of inputs") var count = 200
    @Option(help: "RNG seed") var seed: UInt64 = 42
    @Option(name: .shortAndLong, help: "Output directory") var output: String
    @OptionGroup var config: ConfigOptions

    func run() throws {
        guard let t = FuzzTarget(rawValue: target), t.isProgramTarget else {
            stderr("error: unknown program target '\(target)'")
            throw Exit.input
        }
        var base = Config()
        do { try config.apply(to: &base) } catch {
            stderr("error: \(error)")
            throw Exit.input
        }
        var rng = FuzzRNG(seed: seed)
        let gen = OpGenerator(target: t)
        for _ in 0..<count {
            var p = Program(config: base)
            for i in 0..<ops { p.ops.append(gen.op(for: p.ops, at: i, &rng)) }
            let bytes = ByteCodec.encode(p)
            try writeFile("\(output)/\(SHA1.hex(bytes))", bytes)
        }
        print("\(output): \(count) inputs of \(ops) ops for \(t.name)")
    }
}

struct CorpusSetHeader: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set-header",
        abstract: "Copy a directory of binary inputs, rewriting each input header (profile, variants).")
    @Argument(help: "Input directory") var input: String
    @Option(name: .shortAndLong, help: "Output directory") var output: String
    @OptionGroup var config: ConfigOptions

    func run() throws {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: input)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        var n = 0
        for name in names {
            var p = ByteCodec.decode(try readFile(input + "/" + name))
            do { try config.apply(to: &p.config) } catch {
                stderr("error: \(error)")
                throw Exit.input
            }
            let bytes = ByteCodec.encode(p)
            try writeFile("\(output)/\(SHA1.hex(bytes))", bytes)
            n += 1
        }
        print("\(output): \(n) inputs")
    }
}

struct CorpusSeedName: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed-name",
        abstract: "Print '<target> <sha1>' of the seed `corpus build` makes from a scenario ('<target> - excluded: why' when it is not a seed).")
    @Argument(help: "Scenario files") var files: [String]

    func run() throws {
        for path in files {
            do {
                // Same rule as `corpus build`: Seeds.seed drops the variant switches.
                let program = try loadProgram(path)
                switch Seeds.seed(for: program) {
                case .seed(let t, let bytes): print("\(path) \(t.name) \(SHA1.hex(bytes))")
                case .excluded(let why): print("\(path) \(FuzzTarget.forProgram(program).name) - excluded: \(why)")
                }
            } catch {
                stderr("\(error)")
                throw Exit.input
            }
        }
    }
}
