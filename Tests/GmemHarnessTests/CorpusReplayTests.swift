import Foundation
import GmemModel
import Testing
@testable import GmemHarness

/// Regression replay without libFuzzer (SPEC §7): every seed in Corpus/<target>/ and every file
/// in Fuzz/FailCases/<target>/ goes through the same decode + run as LLVMFuzzerTestOneInput.
@Suite struct CorpusReplayTests {
    static func files(_ dir: String) -> [URL] {
        let url = repoRoot.appendingPathComponent(dir)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { url.appendingPathComponent($0) }
    }

    @Test(arguments: FuzzTarget.allCases.filter(\.isProgramTarget))
    func seedsRunClean(_ target: FuzzTarget) throws {
        let seeds = Self.files("Corpus/\(target.name)")
        if target == .conversion { #expect(!seeds.isEmpty) }
        for url in seeds {
            let bytes = [UInt8](try Data(contentsOf: url))
            #expect(url.lastPathComponent == SHA1.hex(bytes), "seed not named by its sha1: \(url.path)")
            let p = ByteCodec.decode(bytes)
            let r = Executor.run(p, options: FuzzEntry.Settings().runOptions)
            #expect(r.unexpected.isEmpty, "\(url.lastPathComponent): \(r.unexpected.first?.signature ?? "")\n\(r.opLog())")
        }
    }

    /// A FailCase is a crash a fix closed: it must run clean now, or carry the finding it
    /// documents (a `<name>.expect` file next to it holding the signature prefix).
    @Test(arguments: FuzzTarget.allCases.filter(\.isProgramTarget))
    func failCasesReplay(_ target: FuzzTarget) throws {
        for url in Self.files("Fuzz/FailCases/\(target.name)") where url.pathExtension != "expect" {
            let p = ByteCodec.decode([UInt8](try Data(contentsOf: url)))
            let r = Executor.run(p, options: FuzzEntry.Settings().runOptions)
            let expectURL = url.appendingPathExtension("expect")
            if let want = try? String(contentsOf: expectURL, encoding: .utf8) {
                let prefix = want.trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(r.findings.contains { $0.signature.hasPrefix(prefix) }, "\(url.lastPathComponent) no longer raises \(prefix)")
            } else {
                #expect(r.unexpected.isEmpty, "\(url.lastPathComponent): \(r.unexpected.first?.signature ?? "")")
            }
        }
    }

    @Test func scenarioTextSeedsRoundTrip() throws {
        for url in Self.files("Corpus/FuzzScenarioText") {
            let text = try String(contentsOf: url, encoding: .utf8)
            let p = try ScenarioParser.parse(text, file: url.path)
            #expect(try ScenarioParser.parse(ScenarioPrinter.print(p)) == p)
        }
    }

    /// FuzzConcurrent starts from real interleavings: besides the threaded scenarios, every
    /// sequential scenario with two actors after its setup seeds a threaded variant
    /// (Seeds.threadedSeed) whose tape preempts one actor mid-op for another.
    @Test func concurrentSeedsInterleave() throws {
        let seeds = Self.files("Corpus/FuzzConcurrent")
        #expect(seeds.count >= 25)
        var preempting = 0
        for url in seeds {
            let r = Executor.run(ByteCodec.decode([UInt8](try Data(contentsOf: url))), options: FuzzEntry.Settings().runOptions)
            if zip(r.steps, r.stepDefaults).contains(where: { $0 != $1 }) { preempting += 1 }
        }
        #expect(preempting >= 25)
    }

    /// `gmemfuzz corpus build` output is committed: the seeds match the scenarios exactly.
    @Test func corpusIsUpToDate() throws {
        var want: [FuzzTarget: Set<String>] = [:]
        let all = try FileManager.default.subpathsOfDirectory(atPath: repoRoot.appendingPathComponent("Corpus/scenarios").path)
            .filter { $0.hasSuffix(".gmf") }.map { "Corpus/scenarios/" + $0 }
        #expect(!all.isEmpty)
        for rel in all {
            let p = try loadScenario(rel)
            if case .seed(let t, let bytes) = Seeds.seed(for: p) { want[t, default: []].insert(SHA1.hex(bytes)) }
            if case .seed(let t, let bytes)? = Seeds.threadedSeed(for: p) { want[t, default: []].insert(SHA1.hex(bytes)) }
            want[.scenarioText, default: []].insert(SHA1.hex([UInt8](try Data(contentsOf: repoRoot.appendingPathComponent(rel)))))
        }
        for name in try FileManager.default.contentsOfDirectory(atPath: repoRoot.appendingPathComponent("Corpus/traces").path)
        where !name.hasSuffix(".py") && !name.hasPrefix(".") {
            let bytes = [UInt8](try Data(contentsOf: repoRoot.appendingPathComponent("Corpus/traces/" + name)))
            want[.traceImport, default: []].insert(SHA1.hex(bytes))
        }
        for t in FuzzTarget.allCases {
            let have = Set(Self.files("Corpus/\(t.name)").map(\.lastPathComponent))
            #expect(have == (want[t] ?? []), "Corpus/\(t.name) is stale: run `swift run gmemfuzz corpus build`")
        }
        for t in FuzzTarget.allCases {
            guard let dict = FuzzDictionary.text(for: t) else { continue }
            let have = try? String(contentsOf: repoRoot.appendingPathComponent("Fuzz/\(t.name).dict"), encoding: .utf8)
            #expect(have == dict, "Fuzz/\(t.name).dict is stale: run `swift run gmemfuzz corpus build`")
        }
    }

    /// The harness bug the first fuzz run found: G14 was checked inside memory_failure() between
    /// PG_hwpoison and the zap. Only the documented F1 lock-order finding remains.
    @Test func memoryFailureOnMappedPrivatePageRaisesOnlyF1() throws {
        let p = try ScenarioParser.parse("""
            gmemfuzz 1
            vm.create
            vcpu.create
            gmem.create pages=8 flags=mmap,init_shared
            slot.create slot=1 gfn=0x100000 pages=8
            host.mmap
            gmem.convert page=7 count=1
            guest.write gfn=0x100007 value=0x42
            gmem.memory_failure page=7
            """)
        let r = Executor.run(p)
        #expect(r.findings.map(\.signature) == ["lockdep:folio_lock>invalidate_lock:gmem.memory_failure"])
    }
}
