import ArgumentParser
import Foundation
import GmemHarness
import GmemModel

/// Exit codes (SPEC §9): 0 ok, 1 finding or failed expectation, 2 usage or input error.
enum Exit {
    static let findings = ExitCode(1)
    static let input = ExitCode(2)
}

struct ConfigOptions: ParsableArguments {
    @Option(help: "Profile (overrides the scenario's): \(Profile.allCases.map(\.rawValue).joined(separator: ", "))")
    var profile: String?

    @Option(name: .customLong("variant"), help: "Variant switch, +NAME or -NAME (repeatable)")
    var variants: [String] = []

    func apply(to config: inout Config) throws {
        if let p = profile {
            guard let prof = Profile(rawValue: p) else {
                throw ValidationError("unknown profile '\(p)'; see 'gmemfuzz profiles'")
            }
            config.profile = prof
        }
        for s in variants {
            guard let sign = s.first, sign == "+" || sign == "-", let v = Variant(name: String(s.dropFirst())) else {
                throw ValidationError("bad variant '\(s)': expected +NAME or -NAME; see 'gmemfuzz variants'")
            }
            if sign == "+" { config.plus.insert(v); config.minus.remove(v) } else { config.minus.insert(v); config.plus.remove(v) }
        }
    }
}

/// Reads a `.gmf` scenario or a binary fuzzer input (decided by content: scenarios start with
/// the `gmemfuzz` header, a comment or whitespace; anything else is bytes for the codec).
func loadProgram(_ path: String) throws -> Program {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw InputError("\(path): cannot read file")
    }
    if isScenarioText(data) || path.hasSuffix(".gmf") {
        guard let text = String(data: data, encoding: .utf8) else {
            throw InputError("\(path):1:1: not UTF-8 text")
        }
        do {
            return try ScenarioParser.parse(text, file: path)
        } catch {
            throw InputError(error.description)
        }
    }
    return ByteCodec.decode([UInt8](data))
}

func isScenarioText(_ data: Data) -> Bool {
    guard let first = data.first else { return false }
    if first == UInt8(ascii: "#") || first == UInt8(ascii: " ") || first == UInt8(ascii: "\n") || first == UInt8(ascii: "\t") { return true }
    return data.starts(with: Array("gmemfuzz".utf8))
}

func readFile(_ path: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else { throw InputError("\(path): cannot read file") }
    return [UInt8](data)
}

func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    let url = URL(fileURLWithPath: path)
    try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    do { try Data(bytes).write(to: url) } catch { throw InputError("\(path): cannot write: \(error.localizedDescription)") }
}

/// Every `.gmf` file under `dir`, sorted (deterministic order).
func scenarioFiles(under dir: String) -> [String] {
    guard let e = FileManager.default.enumerator(atPath: dir) else { return [] }
    return e.compactMap { $0 as? String }.filter { $0.hasSuffix(".gmf") }.sorted().map { dir + "/" + $0 }
}

struct InputError: Error, CustomStringConvertible {
    let description: String
    init(_ s: String) { description = s }
}

func stderr(_ s: String) { FileHandle.standardError.write((s + "\n").data(using: .utf8)!) }
