import Foundation
import Testing
import GmemHarness
import GmemModel

/// Property: the importer never traps and never loops on random or mutated input, and every
/// scenario it prints parses back to its program (TraceImporter.fuzzOne checks the latter).
@Suite struct ImportFuzzTests {

    static let seeds: [[UInt8]] = {
        var out: [[UInt8]] = []
        let dir = repoRoot.appendingPathComponent("Corpus/traces")
        for f in (try? FileManager.default.contentsOfDirectory(atPath: dir.path))?.sorted() ?? [] where !f.hasSuffix(".py") {
            if let d = FileManager.default.contents(atPath: dir.appendingPathComponent(f).path) { out.append([UInt8](d)) }
        }
        return out
    }()

    static let dictionary: [[UInt8]] = ["0x", "--", "[", "]", "(", ")", ":", "-", " ", "\n", "\r", "0", "ffffffffffffffff",
                                        "8000000000000000", "5a0", "level ", "gfn ", "reason error (14)", "TDCALL", "@",
                                        "Slot#", "=", "'discarded'", "kvm_entry: vcpu 0", "kvm_run_exit cpu_index 0, reason 3"].map { Array($0.utf8) }

    /// One mutation: byte flip, insert dictionary token, delete a span, duplicate a line, splice.
    static func mutate(_ b: [UInt8], _ r: inout FuzzRNG) -> [UInt8] {
        var x = b
        for _ in 0..<(1 + r.below(8)) {
            switch r.below(5) {
            case 0 where !x.isEmpty: x[r.below(x.count)] = UInt8(truncatingIfNeeded: r.next())
            case 1: let t = dictionary[r.below(dictionary.count)]; x.insert(contentsOf: t, at: r.below(x.count + 1))
            case 2 where !x.isEmpty:
                let i = r.below(x.count); x.removeSubrange(i..<min(x.count, i + 1 + r.below(40)))
            case 3 where !x.isEmpty:
                let i = r.below(x.count), n = min(x.count - i, 1 + r.below(200)); x.insert(contentsOf: x[i..<(i + n)], at: r.below(x.count + 1))
            default:
                let o = seeds[r.below(seeds.count)]
                if !o.isEmpty { let i = r.below(o.count); x += o[i..<min(o.count, i + r.below(300))] }
            }
        }
        return x
    }

    @Test func mutatedSamplesNeverTrap() {
        #expect(!Self.seeds.isEmpty)
        var r = FuzzRNG(seed: 0x5eed)
        for i in 0..<300 {
            let base = Self.seeds[i % Self.seeds.count]
            TraceImporter.fuzzOne(Self.mutate(base, &r))
        }
    }

    @Test func randomBytesAndLinesNeverTrap() {
        var r = FuzzRNG(seed: 42)
        for _ in 0..<200 {
            var b: [UInt8] = []
            for _ in 0..<r.below(600) { b.append(UInt8(truncatingIfNeeded: r.next())) }
            TraceImporter.fuzzOne(b)
            // random lines built from the renderer vocabulary
            var t: [UInt8] = []
            for _ in 0..<r.below(30) {
                for _ in 0..<r.below(12) { t += Self.dictionary[r.below(Self.dictionary.count)] }
                t.append(0x0a)
            }
            TraceImporter.fuzzOne(t)
        }
    }

    /// Extreme values in every numeric field (wrapping ranges, top-of-space GPAs, huge counts).
    @Test func extremeValuesNeverTrap() {
        let m = "ffffffffffffffff", k = "  CPU 0/KVM-1 [000] ..... 1.000000: "
        let kernel = [
            k + "kvm_entry: vcpu 4294967295",
            k + "kvm_page_fault: vcpu 99 rip 0x0 address 0x\(m) error_code 0x\(m)",
            k + "kvm_mmu_spte_requested: gfn \(m) pfn \(m) level 5",
            k + "kvm_mmu_set_spte: gfn \(m) spte \(m) (rwxu) level 5 at 0",
            k + "kvm_tdp_mmu_spte_changed: as id 0 gfn fffffffffffffe00 level 5 old_spte 6000001c6e00bf7 new_spte 0",
            k + "kvm_tdp_mmu_spte_changed: as id 0 gfn \(m) level 5 old_spte 6000001c6e00bf7 new_spte 0",
            k + "kvm_vm_set_mem_attributes: 0x0 -- 0x\(m) [0x\(m)]",
            k + "kvm_vm_set_mem_attributes: gfn 0x\(m), cnt 0x\(m), attributes 0x8",
            k + "kvm_hypercall: nr 0xc a0 0x\(m) a1 0x\(m) a2 0x\(m) a3 0x0",
            k + "kvm_hypercall: nr 0xc a0 0xfffffffffffff000 a1 0x1 a2 0x10 a3 0x0",
            k + "kvm_exit: vcpu 0 reason TDCALL rip 0x0",
            k + "kvm_userspace_exit: reason KVM_EXIT_HYPERCALL (3)",
            k + "kvm_unmap_hva_range: mmu notifier unmap range: 0x0 -- 0x\(m)",
            k + "kvm_entry: vcpu 0",
        ].joined(separator: "\n")
        let qemu = [
            "kvm_set_user_memory AddrSpace#0 Slot#-5 flags=0x\(m) gpa=0x\(m) size=0x\(m) ua=0x\(m) guest_memfd=-1 guest_memfd_offset=0x\(m) ret=0",
            "kvm_set_user_memory AddrSpace#0 Slot#1 flags=0x4 gpa=0x\(m) size=0x1000 ua=0x0 guest_memfd=3 guest_memfd_offset=0x0 ret=0",
            "kvm_run_exit cpu_index 2147483647, reason 3",
            "kvm_hc_map_gpa_range gpa 0x\(m) size 0x\(m) attributes 0x\(m) flags 0x1",
            "kvm_convert_memory start 0x\(m) size 0x\(m) shared_to_private",
            "kvm_memory_fault start 0x\(m) size 0x\(m) flags 0x\(m)",
            "ram_block_discard_shared_range pc.ram@0x\(m) + 0x\(m): madvise: 1 fallocate: 0 ret: 0",
            "ram_block_discard_shared_range pc.ram@0x0 + 0x\(m): madvise: 1 fallocate: 0 ret: 0",
        ].joined(separator: "\n")
        TraceImporter.fuzzOne(Array((kernel + "\n" + qemu).utf8))
        for p in ImportPlatform.allCases {
            for a in AttributeMode.allCases {
                let r = TraceImporter.run([TraceInput(name: "k", format: .ftrace, bytes: Array(kernel.utf8)),
                                           TraceInput(name: "q", format: .qemu, bytes: Array(qemu.utf8))],
                                          options: ImportOptions(platform: p, attributes: a, merge: true))
                // only the wrapping gfn + cnt line is refused
                #expect(r.diagnostics.map(\.description) == ["k:8: error: kvm_vm_set_mem_attributes: gfn + cnt overflows"])
                let s = r.scenarios[0].scenario
                #expect(try! ScenarioParser.parse(ScenarioPrinter.print(s)) == s.program)
            }
        }
    }

    /// Bounded work: a megabyte of one hostile line shape finishes quickly (no quadratic scan).
    @Test func largeHostileInputIsBounded() {
        let line = Array("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n".utf8)
        var b: [UInt8] = []
        while b.count < 1 << 20 { b += line }
        let start = ContinuousClock.now
        let r = TraceImporter.run([TraceInput(name: "big", format: .ftrace, bytes: b)])
        #expect(r.skippedLines > 0)
        #expect(ContinuousClock.now - start < .seconds(20))
    }
}
