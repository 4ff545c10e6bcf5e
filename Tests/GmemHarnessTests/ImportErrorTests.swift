import Testing
import GmemHarness
import GmemModel

/// Malformed input: every bad line is one `file:line:` error, the import goes on, unknown
/// events are counted and kept as comments.
@Suite struct ImportErrorTests {
    static let good = "       CPU 0/KVM-4242    [005] .....   812.000104: kvm_page_fault: vcpu 0 rip 0x0 address 0x0000000080000000 error_code 0x2"

    static func run(_ text: String, _ f: TraceFormat = .ftrace) -> TraceImporter.Result {
        TraceImporter.run([TraceInput(name: "bad.txt", format: f, bytes: Array(text.utf8))])
    }
    static func errors(_ r: TraceImporter.Result) -> [String] {
        r.diagnostics.filter { $0.severity == .error }.map(\.description)
    }

    @Test func truncatedLines() {
        let r = Self.run([
            Self.good,
            "       CPU 0/KVM-4242    [005] .....",                                   // cut after the flags
            "       CPU 0/KVM-4242    [005] .....   812.000104: kvm_page_fault: vcpu 0 rip 0x0 addr", // cut in the text
            "       CPU 0/KVM-4242    [005] .....   812.0001",                        // cut in the timestamp
            "       CPU 0/KVM-42",                                                    // cut in the pid
            Self.good,
        ].joined(separator: "\n"))
        let e = Self.errors(r)
        #expect(e.count == 4, "\(e)")
        #expect(e[0].hasPrefix("bad.txt:2: error: truncated event line"))
        #expect(e[1] == "bad.txt:3: error: kvm_page_fault: missing field 'address' (truncated line?)")
        #expect(e[2].hasPrefix("bad.txt:4: error: truncated event line"))
        #expect(e[3].hasPrefix("bad.txt:5: error: not a ftrace event line"))
        #expect(r.skippedLines == 4)
        #expect(r.eventsRead == 2)   // the import went on
    }

    @Test func badNumbers() {
        let k = "  CPU 0/KVM-1 [000] ..... 1.000000: "
        let r = Self.run([
            k + "kvm_mmu_spte_requested: gfn 8000g pfn 1 level 1",                    // not hex
            k + "kvm_mmu_spte_requested: gfn 1 pfn 11112222333344445 level 1",        // 17 significant hex digits
            k + "kvm_mmu_spte_requested: gfn 1 pfn 1 level 9",                        // level out of range
            k + "kvm_vm_set_mem_attributes: 0x10 -- 0x8 [0x8]",                       // end before start
            k + "kvm_userspace_exit: reason error (x)",
            k + "kvm_page_fault: vcpu -1x rip 0x0 address 0x1000 error_code 0x2",
            k + "kvm_hypercall: nr 0xc a0 0x a1 0x1 a2 0x0 a3 0x0",                   // "0x" alone
        ].joined(separator: "\n"))
        let e = Self.errors(r)
        #expect(e.count == 7, "\(e)")
        #expect(e[0] == "bad.txt:1: error: kvm_mmu_spte_requested: bad number '8000g' for gfn")
        #expect(e[1] == "bad.txt:2: error: kvm_mmu_spte_requested: bad number '11112222333344445' for pfn")
        #expect(e[2] == "bad.txt:3: error: kvm_mmu_spte_requested: level 9 out of range 1..5")
        #expect(e[3] == "bad.txt:4: error: kvm_vm_set_mem_attributes: end 0x8 before start 0x10")
        #expect(e[4] == "bad.txt:5: error: kvm_userspace_exit: bad number '(x)' for (code)")
        #expect(e[5] == "bad.txt:6: error: kvm_page_fault: bad number '-1x' for vcpu")
        #expect(e[6] == "bad.txt:7: error: kvm_hypercall: bad number '0x' for a0")
        #expect(r.eventsRead == 0)
    }

    @Test func unknownEventsAreCountedAndCommented() {
        let k = "  CPU 0/KVM-1 [000] ..... 1.00000"
        let r = Self.run((0..<3).map { k + "\($0): kvm_fpu: load" }.joined(separator: "\n") + "\n" + k + "4: sched_switch: prev_comm=x\n" + Self.good)
        #expect(Self.errors(r).isEmpty)
        #expect(r.ignoredByName.map { "\($0.name)=\($0.count)" } == ["kvm_fpu=3", "sched_switch=1"])
        let text = ScenarioPrinter.print(r.scenarios[0].scenario)
        #expect(text.contains("# ignored: kvm_fpu ×3 (not modelled) from bad.txt:1"))
        #expect(text.contains("# ignored: sched_switch ×1 (not modelled) at bad.txt:4"))
        // QEMU: unknown event names too
        let q = Self.run("vfio_region_write a b c\nkvm_run_exit cpu_index 0, reason 2\n", .qemu)
        #expect(Self.errors(q).isEmpty)
        #expect(q.ignoredByName.map(\.name) == ["vfio_region_write"])
    }

    @Test func wrongRenderer() {
        let perfLine = "       CPU 0/KVM    4242 [005]   812.000104:         kvm:kvm_page_fault: vcpu 0 rip 0x0 address 0x0000000080000000 error_code 0x2"
        let asFtrace = Self.errors(Self.run(perfLine, .ftrace))
        #expect(asFtrace.count == 1 && asFtrace[0].contains("wrong --format?"))
        let asPerf = Self.errors(Self.run(Self.good, .perf))
        #expect(asPerf.count == 1 && asPerf[0].hasPrefix("bad.txt:1: error: not a perf event line: no 'COMM TID [CPU]' prefix"))
        let asQemu = Self.errors(Self.run(Self.good, .qemu))
        #expect(asQemu.count == 1 && asQemu[0].hasPrefix("bad.txt:1: error: not a QEMU trace line"))
        let qemuAsFtrace = Self.errors(Self.run("kvm_convert_memory start 0x80000000 size 0x200000 private_to_shared", .ftrace))
        #expect(qemuAsFtrace.count == 1 && qemuAsFtrace[0].contains("wrong --format?"))
    }

    @Test func binaryGarbage() throws {
        var bytes: [UInt8] = Array(Self.good.utf8) + [0x0a]
        bytes += [0x00, 0xff, 0xfe, 0x5b, 0x30, 0x30, 0x31, 0x5d, 0x0d, 0x0a]          // NUL, invalid UTF-8, "[001]"
        bytes += [UInt8](repeating: 0x41, count: 5000) + [0x0a]                         // over-long line
        bytes += Array("  x-1 [000] .... 1.0: kvm_page_fault: address \u{1F600} error_code 2\n".utf8)
        bytes += Array(Self.good.utf8)
        let r = TraceImporter.run([TraceInput(name: "bin", format: .ftrace, bytes: bytes)])
        let e = Self.errors(r)
        #expect(e.count == 3, "\(e)")
        #expect(e.map { $0.split(separator: ":").prefix(2).joined(separator: ":") } == ["bin:2", "bin:3", "bin:4"])
        #expect(e[1] == "bin:3: error: line too long (5000 bytes, limit 4096)")
        #expect(r.eventsRead == 2)
        #expect(try ScenarioParser.parse(ScenarioPrinter.print(r.scenarios[0].scenario)) == r.scenarios[0].scenario.program)
    }

    @Test func lostEventsAreANoteNotAnError() {
        let r = Self.run(Self.good + "\nCPU:2 [LOST 123 EVENTS]\n" + Self.good)
        #expect(Self.errors(r).isEmpty)
        #expect(r.diagnostics.map(\.description).first?.hasPrefix("bad.txt:2: note: ring buffer lost events here") == true)
    }
}
