import Foundation
import GmemHarness
import GmemModel

/// Repository root, found from this file's location (Tests/GmemHarnessTests/Support.swift).
let repoRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// All `.gmf` files under Corpus/scenarios/<sub>, sorted, as paths relative to the repo root.
func scenarioFiles(_ sub: String) -> [String] {
    let dir = repoRoot.appendingPathComponent("Corpus/scenarios/\(sub)")
    guard let e = FileManager.default.enumerator(atPath: dir.path) else { return [] }
    return e.compactMap { $0 as? String }.filter { $0.hasSuffix(".gmf") }.sorted().map { "Corpus/scenarios/\(sub)/\($0)" }
}

func loadScenario(_ rel: String) throws -> Program {
    let text = try String(contentsOf: repoRoot.appendingPathComponent(rel), encoding: .utf8)
    return try ScenarioParser.parse(text, file: rel)
}
