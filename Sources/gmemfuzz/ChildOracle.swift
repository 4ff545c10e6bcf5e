import Foundation
import GmemHarness
import GmemModel

/// Replays a program in a child process, for findings that kill the process (ASan / TSan
/// reports, Swift traps): the libFuzzer binary (`--fuzzer PATH`, runs the file once) or this
/// executable's `run` subcommand (an ASan build of gmemfuzz). The signature comes from the
/// child's output (`Signature.fromChildOutput`).
struct ChildOracle: Oracle {
    let command: [String]
    let demangler: Demangler
    let dir: String
    var counter = 0
    var deterministic: Bool { true }

    init(fuzzer: String?) {
        if let f = fuzzer {
            command = [f, "-runs=1"]
        } else {
            command = [selfExecutable(), "run"]
        }
        demangler = swiftDemangler()
        dir = NSTemporaryDirectory() + "gmemfuzz-child-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    mutating func replay(_ p: Program) -> Outcome {
        counter += 1
        let path = "\(dir)/input-\(counter)"
        guard (try? writeFile(path, ByteCodec.encode(p))) != nil else { return .clean }
        defer { try? FileManager.default.removeItem(atPath: path) }
        let out = runChild(command + [path])
        return Signature.fromChildOutput(out, demangle: demangler).map { Outcome(signatures: [$0]) } ?? .clean
    }
}

/// Runs a child with the sanitizer-friendly environment (SPEC §10) and returns stdout+stderr.
func runChild(_ argv: [String]) -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: argv[0])
    p.arguments = Array(argv.dropFirst())
    var env = ProcessInfo.processInfo.environment
    // Swift's backtracer makes crashing children hang or crawl; dedup_token_length=3 puts the
    // top three frames in ASan's DEDUP_TOKEN line.
    env["SWIFT_BACKTRACE"] = "enable=no"
    env["ASAN_OPTIONS"] = [env["ASAN_OPTIONS"], "dedup_token_length=3"].compactMap { $0 }.joined(separator: ":")
    env["TSAN_OPTIONS"] = [env["TSAN_OPTIONS"], "halt_on_error=1"].compactMap { $0 }.joined(separator: ":")
    p.environment = env
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    do { try p.run() } catch { return "" }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

func selfExecutable() -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
}

/// `swift-demangle` (or `swift demangle`) from PATH, cached per symbol; `.none` if neither runs.
func swiftDemangler() -> Demangler {
    let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init) + ["/opt/swift/usr/bin"]
    var argv: [String]?
    for d in paths {
        if FileManager.default.isExecutableFile(atPath: d + "/swift-demangle") { argv = [d + "/swift-demangle"]; break }
        if FileManager.default.isExecutableFile(atPath: d + "/swift") { argv = [d + "/swift", "demangle"]; break }
    }
    guard let argv else { return .none }
    let cache = DemangleCache()
    return Demangler { sym in
        if let hit = cache.get(sym) { return hit }
        let out = runChild(argv + ["--compact", sym]).split(separator: "\n").first.map { String($0).trimmingCharacters(in: .whitespaces) }
        // The demangler echoes a symbol it cannot demangle: keep the mangled name then.
        let v = out.flatMap { $0.isEmpty || $0 == sym ? nil : $0 }
        cache.set(sym, v)
        return v
    }
}

final class DemangleCache: @unchecked Sendable {
    private let lock = NSLock()
    private var d: [String: String?] = [:]
    func get(_ k: String) -> String?? { lock.withLock { d[k] } }
    func set(_ k: String, _ v: String?) { lock.withLock { d[k] = v } }
}

/// In-process first; inputs the model replays clean go to the child (triage of a crash
/// directory that mixes model findings and sanitizer crashes).
struct HybridOracle: Oracle {
    var inProcess = InProcessOracle()
    var child: ChildOracle?
    var deterministic: Bool { true }
    mutating func replay(_ p: Program) -> Outcome {
        let o = inProcess.replay(p)
        if o.first != nil || child == nil { return o }
        return child!.replay(p)
    }
}
