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

func loadProgram(_ path: String) throws -> Program {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw InputError("\(path): cannot read file")
    }
    guard let text = String(data: data, encoding: .utf8), text.hasPrefix("gmemfuzz") || text.hasPrefix("#") || text.first?.isWhitespace == true else {
        throw InputError("\(path): not a .gmf scenario (binary inputs need the byte codec)")
    }
    do {
        return try ScenarioParser.parse(text, file: path)
    } catch {
        throw InputError(error.description)
    }
}

struct InputError: Error, CustomStringConvertible {
    let description: String
    init(_ s: String) { description = s }
}

func stderr(_ s: String) { FileHandle.standardError.write((s + "\n").data(using: .utf8)!) }
