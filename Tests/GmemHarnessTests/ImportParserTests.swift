import Testing
import GmemHarness
import GmemModel

/// Line shapes of every renderer and the number/format traps of research
/// traces-and-selftests.md §1.6 and §1.2 (format drift across kernel versions).
@Suite struct ImportParserTests {
    static func events(_ text: String, _ f: TraceFormat) -> ([TraceEvent], [ImportDiagnostic]) {
        let r = TraceImporter.parse(TraceInput(name: "t", format: f, bytes: Array(text.utf8)))
        return (r.events, r.diagnostics)
    }
    static func one(_ text: String, _ f: TraceFormat = .ftrace) -> TraceEvent? {
        let (e, d) = events(text, f)
        #expect(d.isEmpty, "\(d)")
        #expect(e.count == 1)
        return e.first
    }

    @Test func ftraceTraceAndPipeShapes() {
        // trace: 5 flag columns (migrate-disable kernels), header skipped
        let a = Self.one("# tracer: nop\n#\n qemu-system-x86-8397    [002] d....  1404.389366: kvm_exit: vcpu 1 reason CR_ACCESS rip 0xffffffff8100007a info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x00000000 error_code 0x00000000\n")
        #expect(a?.task == "qemu-system-x86-8397")
        #expect(a?.payload == .kvmExit(vcpu: 1, reason: "CR_ACCESS"))
        #expect(a?.loc.line == 3)
        // trace_pipe, older kernel: 4 flag columns, %-5d pid
        let b = Self.one("     vm-6434    [059] ....   234.587042: kvm_tdp_mmu_spte_changed: as id 0 gfn ffc00 level 2 old_spte 800000010bc97907 new_spte 80000000000005a0")
        #expect(b?.payload == .spteChanged(asID: 0, gfn: 0xffc00, level: 2, old: 0x800000010bc97907, new: 0x80000000000005a0))
        // record-tgid column; comm with a space and '/'
        let c = Self.one("       CPU 0/KVM-4242    (   4230) [005] .....   812.000104: kvm_page_fault: vcpu 0 rip 0x0 address 0x0000000080000000 error_code 0x2")
        #expect(c?.task == "CPU 0/KVM-4242")
        #expect(c?.payload == .pageFault(vcpu: 0, address: 0x8000_0000, errorCode: 2))
    }

    @Test func traceCmdShape() {
        let text = "version = 6\ncpus=8\nCPU 3 is empty\n       CPU 0/KVM-4242  [005]   812.000104: kvm_page_fault:       vcpu 0 rip 0x0 address 0x0000000080000000 error_code 0x2\n       CPU 0/KVM-4242  [005]   812.000109123: kvm_mmu_spte_requested: gfn 80000 pfn 1c6e00 level 1\n"
        let (e, d) = Self.events(text, .traceCmd)
        #expect(d.isEmpty, "\(d)")
        #expect(e.map(\.payload) == [.pageFault(vcpu: 0, address: 0x8000_0000, errorCode: 2), .spteRequested(gfn: 0x80000, pfn: 0x1c6e00, level: 1)])
        #expect(e.map(\.loc.line) == [4, 5])
    }

    @Test func perfScriptShape() {
        let text = "       CPU 0/KVM    4242 [005]   812.000104:         kvm:kvm_page_fault: vcpu 0 rip 0x0 address 0x0000000080000000 error_code 0x2\n       CPU 0/KVM 4230/4242 [005]   812.000122: kvmmmu:kvm_mmu_set_spte: gfn 80000 spte 6000001c6e00b77 (rwxu) level 1 at 10c4f2000\n"
        let (e, d) = Self.events(text, .perf)
        #expect(d.isEmpty, "\(d)")
        #expect(e.map(\.task) == ["CPU 0/KVM-4242", "CPU 0/KVM-4242"])
        #expect(e.map(\.name) == ["kvm_page_fault", "kvm_mmu_set_spte"])
        #expect(e[1].payload == .setSpte(gfn: 0x80000, spte: 0x6000001c6e00b77, level: 1))
    }

    @Test func qemuPrefixStyles() {
        let text = """
            4250@1718000000.123456:kvm_convert_memory start 0x80000000 size 0x200000 private_to_shared
            kvm_convert_memory start 0x80000000 size 0x200000 shared_to_private
            2025-06-13T10:11:12.123456Z (4250) kvm_run_exit cpu_index 0, reason 3
            2026-06-13T10:11:12.123456Z kvm_hc_map_gpa_range gpa 0x80000000 size 0x200000 attributes 0x10 flags 0x1
            kvm_set_user_memory Slot#1 flags=0x0 gpa=0x100000 size=0x1000 ua=0x7f0000000000 ret=0
            """
        let (e, d) = Self.events(text, .qemu)
        #expect(d.isEmpty, "\(d)")
        #expect(e.map(\.task) == ["qemu-4250", "qemu", "qemu-4250", "qemu", "qemu"])
        #expect(e.map(\.payload) == [
            .convertMemory(start: 0x8000_0000, size: 0x20_0000, toPrivate: false),
            .convertMemory(start: 0x8000_0000, size: 0x20_0000, toPrivate: true),
            .runExit(cpu: 0, reason: 3),
            .hcMapGpaRange(gpa: 0x8000_0000, size: 0x20_0000, attributes: 0x10),
            // an older QEMU without AddrSpace# and guest_memfd fields
            .setUserMemory(slot: 1, flags: 0, gpa: 0x100000, size: 0x1000, ua: 0x7f00_0000_0000, gmemFd: nil, gmemOffset: 0),
        ])
    }

    /// §1.6: `%llx` without 0x, `%#016llx` with 0x inside the width, glibc's zero without 0x.
    @Test func numberFormattingTraps() {
        let k = "  CPU 0/KVM-1 [000] ..... 1.000000: "
        #expect(Self.one(k + "kvm_vm_set_mem_attributes: 0x00000000080000 -- 0x00000000080200 [0x8]")?.payload
                == .setMemAttributes(start: 0x80000, end: 0x80200, attr: 8))
        #expect(Self.one(k + "kvm_vm_set_mem_attributes: 0000000000000000 -- 0x00000000000010 [0x0]")?.payload
                == .setMemAttributes(start: 0, end: 0x10, attr: 0))
        #expect(Self.one(k + "kvm_mmu_spte_requested: gfn 32319fe00 pfn 1C6E00 level 1")?.payload
                == .spteRequested(gfn: 0x32319fe00, pfn: 0x1c6e00, level: 1))
        #expect(Self.one(k + "kvm_unmap_hva_range: mmu notifier unmap range: 0x007f3a00000000 -- 0x007f3a00004000")?.payload
                == .unmapHvaRange(start: 0x7f3a_0000_0000, end: 0x7f3a_0000_4000))
        // unknown __print_symbolic value prints as hex
        #expect(Self.one(k + "kvm_userspace_exit: reason 0x27 (39)")?.payload == .userspaceExit(reason: "0x27", code: 39))
        #expect(Self.one(k + "kvm_userspace_exit: reason error (14)")?.payload == .userspaceExit(reason: "error", code: 14))
        #expect(Self.one(k + "kvm_mmu_split_huge_page: gfn 80000 spte 6000001c6e00bf7 level 2 errno -12")?.payload
                == .splitHugePage(gfn: 0x80000, level: 2, errno: -12))
    }

    /// §1.2: kvm_page_fault / kvm_entry / kvm_exit formats of older kernels; mmutrace without "at".
    @Test func formatDrift() {
        let k = "  CPU 0/KVM-1 [000] .... 1.000000: "
        #expect(Self.one(k + "kvm_page_fault: vcpu 0 rip 0xffffffff81000000 address 0x100000000 error_code 182")?.payload
                == .pageFault(vcpu: 0, address: 0x1_0000_0000, errorCode: 0x182))
        #expect(Self.one(k + "kvm_page_fault: address 100000000 error_code 182")?.payload
                == .pageFault(vcpu: nil, address: 0x1_0000_0000, errorCode: 0x182))
        #expect(Self.one(k + "kvm_entry: vcpu 3")?.payload == .kvmEntry(vcpu: 3))
        #expect(Self.one(k + "kvm_entry: vcpu 3, rip 0xfff0[immediate exit]")?.payload == .kvmEntry(vcpu: 3))
        #expect(Self.one(k + "kvm_exit: reason EPT_VIOLATION rip 0x0 info 181 0")?.payload == .kvmExit(vcpu: nil, reason: "EPT_VIOLATION"))
        #expect(Self.one(k + "kvm_exit: vcpu 0 reason TDCALL rip 0x0 info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x00000000 error_code 0x00000000 requests 0x0000000000000000")?.payload
                == .kvmExit(vcpu: 0, reason: "TDCALL"))
        #expect(Self.one(k + "kvm_mmu_set_spte: gfn 32319fe00 spte 6000001c6e00b77 (rwxu) level 1")?.payload
                == .setSpte(gfn: 0x32319fe00, spte: 0x6000001c6e00b77, level: 1))
        // the unmerged kvm_vm_set_mem_attributes proposal
        #expect(Self.one(k + "kvm_vm_set_mem_attributes: gfn 0x80000, cnt 0x10, attributes 0x8")?.payload
                == .setMemAttributes(start: 0x80000, end: 0x80010, attr: 8))
    }

    /// Non-present SPTE = 0 (old) or bit 63 (≈6.10+); FROZEN_SPTE 0x5a0 / proposed 0x498 ignored.
    @Test func spteEncodings() {
        func zapOps(_ old: String, _ new: String) -> [String] {
            let text = """
                  CPU 0/KVM-1 [000] ..... 1.000000: kvm_entry: vcpu 0
                  CPU 0/KVM-1 [000] ..... 1.000001: kvm_page_fault: vcpu 0 rip 0x0 address 0x100000000 error_code 0x182
                  CPU 0/KVM-1 [000] ..... 1.000002: kvm_tdp_mmu_spte_changed: as id 0 gfn 100000 level 1 old_spte \(new) new_spte 6000001c6e00b77
                  CPU 0/KVM-1 [000] ..... 1.000003: kvm_entry: vcpu 0
                  qemu-2 [001] ..... 1.000004: kvm_tdp_mmu_spte_changed: as id 0 gfn 100000 level 1 old_spte \(old) new_spte \(new)
                """
            let r = TraceImporter.run([TraceInput(name: "t", format: .ftrace, bytes: Array(text.utf8))])
            return r.scenarios[0].scenario.program.ops.dropFirst(4).map { ScenarioPrinter.line($0) }
        }
        #expect(zapOps("6000001c6e00b77", "8000000000000000") == ["guest.write gfn=1048576", "gmem.punch"])
        #expect(zapOps("6000001c6e00b77", "0") == ["guest.write gfn=1048576", "gmem.punch"])
        #expect(zapOps("6000001c6e00b77", "80000000000005a0") == ["guest.write gfn=1048576"])
        #expect(zapOps("6000001c6e00b77", "498") == ["guest.write gfn=1048576"])
    }
}
