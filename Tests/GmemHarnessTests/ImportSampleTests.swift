import Foundation
import Testing
import GmemHarness
import GmemModel

/// The constructed sample traces under Corpus/traces import to pinned op sequences, every
/// kernel renderer gives the same ops, and the committed Corpus/scenarios/imported files are
/// what the importer produces today.
@Suite struct ImportSampleTests {
    static func input(_ file: String, _ format: TraceFormat) throws -> TraceInput {
        let rel = "Corpus/traces/\(file)"
        let data = try Data(contentsOf: repoRoot.appendingPathComponent(rel))
        return TraceInput(name: rel, format: format, bytes: [UInt8](data))
    }

    static func lines(_ s: ImportedScenario) -> [String] { s.program.ops.map { ScenarioPrinter.line($0) } }

    static let swSetup = ["vm.create", "vcpu.create", "gmem.create pages=16", "slot.create gfn=1048576 pages=16"]

    static let swConvertKernel = swSetup + [
        "guest.write gfn=1048576",                       // shared fault
        "guest.map_gpa gfn=1048576 count=2",             // KVM_HC_MAP_GPA_RANGE to private
        "guest.write gfn=1048576",                       // private faults
        "guest.read gfn=1048577",
        "guest.write gfn=1048579 private=1",             // memory-fault exit: wanted private
        "vm.set_attr gfn=1048579",                       // the VMM's implicit conversion
        "guest.write gfn=1048579",
        "guest.map_gpa gfn=1048576 count=2 to=shared",
        "guest.read gfn=1048576",
    ]

    static let tdxKernel = [
        "vm.create type=tdx", "tdx.init_vm", "vcpu.create", "tdx.init_vcpu",
        "gmem.create pages=32", "slot.create gfn=524288 pages=32",
        "vm.set_attr gfn=524288 count=32",               // QEMU sets RAM private (clipped to the window)
        "tdx.init_mem_region gfn=524288 count=4 src=anon",   // leaves before the first kvm_entry
        "tdx.finalize",
        "guest.accept gfn=524304",                       // private GPA fault
        "guest.map_gpa gfn=524304 count=16 to=shared",   // TDCALL + KVM_EXIT_HYPERCALL + attributes
        "guest.read gfn=524304 private=0",               // GPA bit 47 set
    ]

    static let punchKernel = [
        "vm.create", "vcpu.create", "gmem.create pages=16 flags=mmap", "slot.create gfn=1048576 pages=16",
        "guest.write gfn=1048576", "guest.write gfn=1048577", "guest.write gfn=1048578", "guest.write gfn=1048579",
        "gmem.punch count=4",                            // VMM-thread zaps, no conversion in flight
        "guest.read gfn=1048576",
    ]

    static let kernelCases: [(String, [String])] = [("sw-convert", swConvertKernel), ("tdx-mapgpa", tdxKernel), ("punch-hole", punchKernel)]

    @Test(arguments: ["sw-convert", "tdx-mapgpa", "punch-hole"])
    func everyKernelRendererGivesThePinnedOps(_ sample: String) throws {
        let want = Self.kernelCases.first { $0.0 == sample }!.1
        for (suffix, f) in [("ftrace.txt", TraceFormat.ftrace), ("trace-cmd.txt", .traceCmd), ("perf.txt", .perf)] {
            let r = TraceImporter.run([try Self.input("\(sample).\(suffix)", f)])
            #expect(r.diagnostics.filter { $0.severity == .error }.isEmpty, "\(r.diagnostics)")
            #expect(r.scenarios.count == 1)
            #expect(Self.lines(r.scenarios[0].scenario) == want, "\(sample).\(suffix)")
        }
    }

    @Test func qemuLogsGiveThePinnedOps() throws {
        let sw = TraceImporter.run([try Self.input("sw-convert.qemu.log", .qemu)])
        #expect(Self.lines(sw.scenarios[0].scenario) == Self.swSetup + [
            "guest.map_gpa gfn=1048576 count=2",
            "guest.read gfn=1048579 private=1",          // kvm_memory_fault flags 0x8
            "vm.set_attr gfn=1048579",
            "guest.map_gpa gfn=1048576 count=2 to=shared",
        ])
        let tdx = TraceImporter.run([try Self.input("tdx-mapgpa.qemu.log", .qemu)])
        #expect(Self.lines(tdx.scenarios[0].scenario) == [
            "vm.create type=tdx", "tdx.init_vm", "vcpu.create", "tdx.init_vcpu",
            "gmem.create pages=16", "slot.create gfn=524304 pages=16",
            "guest.map_gpa gfn=524304 count=16 to=shared",
        ])
        let punch = TraceImporter.run([try Self.input("punch-hole.qemu.log", .qemu)])
        #expect(Self.lines(punch.scenarios[0].scenario) == Self.swSetup + [
            "guest.map_gpa gfn=1048576 count=4",
            "kvm.unmap gfn=1048576 count=4",             // discard of the shared backing
        ])
        for r in [sw, tdx, punch] { #expect(r.diagnostics.isEmpty, "\(r.diagnostics)") }
    }

    /// Kernel + QEMU of one run: the QEMU lines are placed by exit anchors and the kernel's
    /// attribute lines confirm the QEMU conversions instead of doubling them.
    @Test func mergedTracesGiveThePinnedOps() throws {
        let sw = TraceImporter.run([try Self.input("sw-convert.ftrace.txt", .ftrace), try Self.input("sw-convert.qemu.log", .qemu)],
                                   options: ImportOptions(merge: true))
        #expect(sw.scenarios.count == 1)
        #expect(Self.lines(sw.scenarios[0].scenario) == Self.swConvertKernel)
        let text = ScenarioPrinter.print(sw.scenarios[0].scenario)
        #expect(text.contains("merged by exit anchors: 3 of 3 QEMU exits matched"))
        #expect(text.contains("confirmed by kvm_vm_set_mem_attributes at Corpus/traces/sw-convert.ftrace.txt:50"))
        let tdx = TraceImporter.run([try Self.input("tdx-mapgpa.ftrace.txt", .ftrace), try Self.input("tdx-mapgpa.qemu.log", .qemu)],
                                    options: ImportOptions(merge: true))
        #expect(Self.lines(tdx.scenarios[0].scenario) == Self.tdxKernel)
    }

    /// Corpus/scenarios/imported is regenerated output: a fresh import prints the same bytes.
    @Test func committedImportedScenariosAreCurrent() throws {
        var produced: [String: String] = [:]
        for sample in ["sw-convert", "tdx-mapgpa", "punch-hole"] {
            let inputs = [try Self.input("\(sample).ftrace.txt", .ftrace), try Self.input("\(sample).trace-cmd.txt", .traceCmd),
                          try Self.input("\(sample).perf.txt", .perf), try Self.input("\(sample).qemu.log", .qemu)]
            for (n, s) in TraceImporter.run(inputs).scenarios { produced[n] = ScenarioPrinter.print(s) }
            if sample != "punch-hole" {   // the punch-hole kernel and QEMU samples are different runs
                for (n, s) in TraceImporter.run([inputs[0], inputs[3]], options: ImportOptions(merge: true)).scenarios {
                    produced[n] = ScenarioPrinter.print(s)
                }
            }
        }
        let files = scenarioFiles("imported")
        #expect(files.count == produced.count)
        for f in files {
            let name = String(f.split(separator: "/").last!.dropLast(4))
            let text = try String(contentsOf: repoRoot.appendingPathComponent(f), encoding: .utf8)
            #expect(produced[name] == text, "\(f) differs from a fresh import (re-run gmemfuzz import, see README)")
        }
    }

    /// Imported scenarios replay without findings on their profile with no variant.
    @Test(arguments: scenarioFiles("imported"))
    func importedScenariosReplayClean(_ file: String) throws {
        let p = try loadScenario(file)
        let r = Executor.run(p)
        #expect(r.ok && r.findings.isEmpty, "\(file):\n\(r.opLog())\n\(r.findings.map(\.signature))")
        #expect(!r.stoppedEarly)
    }

    /// Every imported scenario is a seed of the right target and survives the byte codec.
    @Test(arguments: scenarioFiles("imported"))
    func importedScenariosAreSeeds(_ file: String) throws {
        let p = try loadScenario(file)
        guard case .seed(let target, let bytes) = Seeds.seed(for: p) else {
            Issue.record("\(file) is not a seed: \(Seeds.seed(for: p))"); return
        }
        #expect(target == (file.contains("tdx-") ? .populate : .conversion))
        #expect(ByteCodec.decode(bytes).ops == p.ops)
    }

    @Test func printedScenarioCarriesTheInferences() throws {
        let r = TraceImporter.run([try Self.input("punch-hole.ftrace.txt", .ftrace)])
        let text = ScenarioPrinter.print(r.scenarios[0].scenario)
        #expect(text.contains("# 4 leaf zap(s) from Corpus/traces/punch-hole.ftrace.txt:34 on qemu-system-x86-5090"))
        #expect(text.contains("inferred fallocate(PUNCH_HOLE)"))
        #expect(text.contains("# ignored: kvm_mmio ×1 (not modelled)"))
        #expect(r.ignoredByName.map(\.name) == ["kvm_mmio"])
        // Comments are not part of the program: the text parses back to the same ops.
        #expect(try ScenarioParser.parse(text) == r.scenarios[0].scenario.program)
    }
}
