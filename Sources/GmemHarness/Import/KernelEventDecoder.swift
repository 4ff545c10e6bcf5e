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

