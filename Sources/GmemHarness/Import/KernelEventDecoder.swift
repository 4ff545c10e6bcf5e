/// Decodes the TP_printk text of the kvm: and kvmmmu: events the importer models
/// (research traces-and-selftests.md §1.1-1.3). Every other name decodes to `.ignored`.
enum KernelEventDecoder {
    /// §1 events listed as "ignore" or timeline-free: counted by name, kept as comments.
    static func decode(name: String, info: ArraySlice<UInt8>) throws(Fields.Missing) -> EventPayload {
        let f = Fields(info, event: name)
        switch name {
        case "kvm_page_fault":
            // newest "vcpu %u rip 0x%lx address 0x%016llx error_code 0x%llx";
            // older "vcpu %u rip 0x%lx address 0x%lx error_code %x"; oldest "address %lx error_code %x".
            return .pageFault(vcpu: try f.optDec("vcpu"), address: try f.hex("address"), errorCode: try f.hex("error_code"))
        case "kvm_mmu_spte_requested":
            // "gfn %llx pfn %llx level %d"
            return .spteRequested(gfn: try f.hex("gfn"), pfn: try f.hex("pfn"), level: try level(f))
        case "kvm_mmu_set_spte":
            // "gfn %llx spte %llx (%s%s%s%s) level %d at %llx" ("at" dropped in some write-ups)
            return .setSpte(gfn: try f.hex("gfn"), spte: try f.hex("spte"), level: try level(f))
        case "kvm_tdp_mmu_spte_changed":
            // "as id %d gfn %llx level %d old_spte %llx new_spte %llx"
            return .spteChanged(asID: try f.dec("id"), gfn: try f.hex("gfn"), level: try level(f),
                                old: try f.hex("old_spte"), new: try f.hex("new_spte"))
        case "kvm_mmu_split_huge_page":
            // "gfn %llx spte %llx level %d errno %d"
            return .splitHugePage(gfn: try f.hex("gfn"), level: try level(f), errno: try f.dec("errno"))
        case "kvm_vm_set_mem_attributes":
            // mainline "%#016llx -- %#016llx [0x%lx]" (GFNs, half-open); the unmerged proposal
            // "gfn 0x%llx, cnt 0x%llx, attributes 0x%llx" is accepted too.
            if f.after("gfn") != nil {
                let gfn = try f.hex("gfn"), cnt = try f.hex("cnt")
                let (end, o) = gfn.addingReportingOverflow(cnt)
                guard !o else { throw Fields.Missing(message: "\(name): gfn + cnt overflows") }
                return .setMemAttributes(start: gfn, end: end, attr: try f.hex("attributes"))
            }
            let (s, e) = try range(f)
            guard let last = f.tokens.last, last.first == UInt8(ascii: "["), let attr = NumberParser.hex(Bytes.stripPunct(last)) else {
                throw f.fail("[attr]", f.tokens.count > 3 ? f.tokens.last : nil)
            }
            return .setMemAttributes(start: s, end: e, attr: attr)
        case "kvm_hypercall":
            // "nr 0x%lx a0 0x%lx a1 0x%lx a2 0x%lx a3 0x%lx"
            return .hypercall(nr: try f.hex("nr"), a0: try f.hex("a0"), a1: try f.hex("a1"), a2: try f.hex("a2"))
        case "kvm_exit":
            // "vcpu %u reason %s%s%s rip …" (+ " requests 0x%016llx" from late 2024); older "reason %s rip …"
            guard let r = f.after("reason") else { throw f.fail("reason", nil) }
            return .kvmExit(vcpu: try f.optDec("vcpu"), reason: Bytes.text(r))
        case "kvm_entry":
            // "vcpu %u, rip 0x%lx…" / "vcpu %u"
            return .kvmEntry(vcpu: try f.optDec("vcpu"))
        case "kvm_userspace_exit":
            // "reason %s (%d)"; unknown reasons print the symbol as hex.
            guard let r = f.after("reason") else { throw f.fail("reason", nil) }
            guard let codeTok = f.tokens.last, codeTok.first == UInt8(ascii: "("), let code = NumberParser.dec(Bytes.stripPunct(codeTok)) else {
                throw f.fail("(code)", f.tokens.count > 2 ? f.tokens.last : nil)
            }
            return .userspaceExit(reason: Bytes.text(r), code: code)
        case "kvm_unmap_hva_range":
            // "mmu notifier unmap range: %#016lx -- %#016lx"
            let (s, e) = try range(f)
            return .unmapHvaRange(start: s, end: e)
        default:
            return .ignored
        }
    }

    static func level(_ f: Fields) throws(Fields.Missing) -> Int {
        let l = try f.dec("level")
        guard (1...5).contains(l) else { throw Fields.Missing(message: "\(f.event): level \(l) out of range 1..5") }
        return l
    }

    /// "A -- B" with %#016 numbers (0 may print without 0x, §1.6).
    static func range(_ f: Fields) throws(Fields.Missing) -> (UInt64, UInt64) {
        guard let dash = f.tokens.firstIndex(where: { Bytes.equals($0, "--") }), dash > 0, dash + 1 < f.tokens.count else {
            throw f.fail("START -- END", nil)
        }
        guard let s = NumberParser.hex(f.tokens[dash - 1]) else { throw f.fail("start", f.tokens[dash - 1]) }
        guard let e = NumberParser.hex(f.tokens[dash + 1]) else { throw f.fail("end", f.tokens[dash + 1]) }
        guard e >= s else { throw Fields.Missing(message: "\(f.event): end 0x\(String(e, radix: 16)) before start 0x\(String(s, radix: 16))") }
        return (s, e)
    }
}

/// Decodes QEMU trace-events text (research traces-and-selftests.md §3). Older QEMU versions
/// print fewer `kvm_set_user_memory` fields (no AddrSpace#, no guest_memfd): fields are found
/// by key.
enum QemuEventDecoder {
    static func decode(name: String, info: ArraySlice<UInt8>) throws(Fields.Missing) -> EventPayload {
        let f = Fields(info, event: name)
        switch name {
        case "kvm_set_user_memory":
            // "AddrSpace#%d Slot#%d flags=0x%x gpa=0x%" PRIx64 " size=0x%" PRIx64 " ua=0x%" PRIx64
            // " guest_memfd=%d guest_memfd_offset=0x%" PRIx64 " ret=%d"
            guard let slotTok = f.tokens.first(where: { Bytes.hasPrefix($0, "Slot#") }),
                  let slot = NumberParser.dec(slotTok.dropFirst(5)) else { throw f.fail("Slot#", f.tokens.first { Bytes.hasPrefix($0, "Slot#") }) }
            let fd: Int? = f.kv("guest_memfd") == nil ? nil : try f.kvDec("guest_memfd")
            let off: UInt64 = f.kv("guest_memfd_offset") == nil ? 0 : try f.kvHex("guest_memfd_offset")
            return .setUserMemory(slot: slot, flags: try f.kvHex("flags"), gpa: try f.kvHex("gpa"), size: try f.kvHex("size"),
                                  ua: try f.kvHex("ua"), gmemFd: fd, gmemOffset: off)
        case "kvm_convert_memory":
            // "start 0x%" PRIx64 " size 0x%" PRIx64 " %s" (shared_to_private | private_to_shared)
            let start = try f.hex("start"), size = try f.hex("size")
            guard let msg = f.tokens.last, f.tokens.count >= 5 else { throw f.fail("direction", nil) }
            if Bytes.equals(msg, "shared_to_private") { return .convertMemory(start: start, size: size, toPrivate: true) }
            if Bytes.equals(msg, "private_to_shared") { return .convertMemory(start: start, size: size, toPrivate: false) }
            throw Fields.Missing(message: "\(name): unknown direction '\(Bytes.show(msg))'")
        case "kvm_memory_fault":
            // "start 0x%" PRIx64 " size 0x%" PRIx64 " flags 0x%" PRIx64
            return .memoryFault(start: try f.hex("start"), size: try f.hex("size"), flags: try f.hex("flags"))
        case "kvm_run_exit":
            // "cpu_index %d, reason %d"
            return .runExit(cpu: try f.dec("cpu_index"), reason: try f.dec("reason"))
        case "kvm_hc_map_gpa_range":
            // "gpa 0x%" PRIx64 " size 0x%" PRIx64 " attributes 0x%" PRIx64 " flags 0x%" PRIx64
            return .hcMapGpaRange(gpa: try f.hex("gpa"), size: try f.hex("size"), attributes: try f.hex("attributes"))
        case "ram_block_attributes_state_change":
            // "offset 0x%"PRIx64" size 0x%"PRIx64" from '%s' to '%s'"
            guard let from = f.after("from"), let to = f.after("to") else { throw f.fail("from/to", nil) }
            return .ramBlockStateChange(offset: try f.hex("offset"), size: try f.hex("size"), from: Bytes.text(from), to: Bytes.text(to))
        case "ram_block_discard_shared_range":
            // "%s@%p + 0x%zx: madvise: %d fallocate: %d ret: %d"
            guard let first = f.tokens.first, let at = first.lastIndex(of: UInt8(ascii: "@")) else { throw f.fail("NAME@HVA", nil) }
            let hvaTok = first[(at + 1)...]
            let hva: UInt64
            if Bytes.equals(hvaTok, "(nil)") { hva = 0 } else {
                guard let h = NumberParser.hex(hvaTok) else { throw f.fail("hva", hvaTok) }
                hva = h
            }
            guard let len = f.after("+"), let length = NumberParser.hex(len) else { throw f.fail("length", f.after("+")) }
            return .ramBlockDiscardShared(block: Bytes.text(first[first.startIndex..<at]), hva: hva, length: length,
                                          ret: try f.dec("ret"))
        case "tdx_handle_reset":
            return .tdxHandleReset
        default:
            return .ignored
        }
    }
}
