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
