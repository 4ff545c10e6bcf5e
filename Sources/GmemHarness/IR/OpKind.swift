/// The op table. Raw values are opcodes of the byte codec: APPEND ONLY, never reorder
/// (SPEC §5: deleting op k never changes how op k+1 decodes).
public enum OpKind: UInt8, CaseIterable, Sendable {
    case vmCreate = 0
    case tdxInitVM
    case tdxFinalize
    case vcpuCreate
    case tdxInitVcpu
    case vmDestroy
    case gmemCreate
    case gmemClose
    case gmemAlloc
    case gmemPunch
    case gmemConvert
    case gmemMemoryFailure
    case vmSetAttr
    case slotCreate
    case slotDelete
    case hostMmap
    case hostMunmap
    case hostFork
    case hostRead
    case hostWrite
    case hostPin
    case hostUnpin
    case mmRef
    case mmUnref
    case mmLru
    case guestRead
    case guestWrite
    case guestAccept
    case guestMapGpa
    case vcpuPrefault
    case kvmUnmap
    case tdxInitMemRegion
    case inject
    case vcpuRun

    public var schema: OpSchema { OpSchema.table[Int(rawValue)] }
    public var name: String { schema.name }

    public static func named(_ s: String) -> OpKind? { OpSchema.byName[s] }
}

/// A key's value type. Every value is stored as one Int in `Op.args`.
public enum ArgType: Sendable, Equatable {
    /// A handle id (vm, gmem, slot, proc, vcpu, child): 0..<Model.maxHandles.
    case handle
    /// A non-negative number (pages, gfns, counts).
    case number
    /// One of the names; stored as its index.
    case choice([String])
    /// A comma-separated subset of the names; stored as a bitmask.
    case flags([String])
    /// One byte (value=).
    case byte
    /// 0 or 1.
    case bool
    /// populate source: none | anon | gmem:G:N (stored as 0, 1, 2 + G<<16 + N).
    case source
    /// A bare word with no value (`inject signal`); stored as 1 when present.
    case word
}

public struct KeySpec: Sendable {
    public let name: String
    public let type: ArgType
    /// Value used when the key is absent (nil = the key is optional and may stay absent).
    public let defaultValue: Int?
    init(_ name: String, _ type: ArgType, _ def: Int? = 0) {
        self.name = name; self.type = type; self.defaultValue = def
    }
}

public struct OpSchema: Sendable {
    public let name: String
    public let keys: [KeySpec]
    public func slot(_ key: String) -> Int? { keys.firstIndex { $0.name == key } }

    static let seamcalls = ["SEPT.ADD", "PAGE.ADD", "MR.EXTEND", "MR.FINALIZE", "PAGE.AUG", "RANGE.BLOCK",
                            "TRACK", "PAGE.REMOVE", "PHYMEM.PAGE.WBINVD", "PHYMEM.PAGE.RECLAIM", "PAGE.DEMOTE", "VP.INIT"]
    static let statuses = ["busy", "busy_twice", "epoch_busy", "walk_failed", "state_incorrect", "interrupted", "error"]
    static let allocSites = ["maple", "folio", "folio_split", "sept_split", "pamt"]
    static let shareState = ["private", "shared"]

    /// Indexed by OpKind.rawValue.
    public static let table: [OpSchema] = [
        OpSchema(name: "vm.create", keys: [.init("vm", .handle), .init("type", .choice(["sw", "tdx"]))]),
        OpSchema(name: "tdx.init_vm", keys: [.init("vm", .handle)]),
        OpSchema(name: "tdx.finalize", keys: [.init("vm", .handle)]),
        OpSchema(name: "vcpu.create", keys: [.init("vm", .handle), .init("vcpu", .handle)]),
        OpSchema(name: "tdx.init_vcpu", keys: [.init("vm", .handle), .init("vcpu", .handle)]),
        OpSchema(name: "vm.destroy", keys: [.init("vm", .handle)]),
        OpSchema(name: "gmem.create", keys: [.init("gmem", .handle), .init("vm", .handle), .init("pages", .number, 4),
                                             .init("flags", .flags(["mmap", "init_shared"])),
                                             .init("huge", .choice(["none", "2m", "1g"]))]),
        OpSchema(name: "gmem.close", keys: [.init("gmem", .handle)]),
        OpSchema(name: "gmem.alloc", keys: [.init("gmem", .handle), .init("page", .number), .init("count", .number, 1)]),
        OpSchema(name: "gmem.punch", keys: [.init("gmem", .handle), .init("page", .number), .init("count", .number, 1)]),
        OpSchema(name: "gmem.convert", keys: [.init("gmem", .handle), .init("page", .number), .init("count", .number, 1),
                                              .init("to", .choice(shareState))]),
        OpSchema(name: "gmem.memory_failure", keys: [.init("gmem", .handle), .init("page", .number)]),
        OpSchema(name: "vm.set_attr", keys: [.init("vm", .handle), .init("gfn", .number), .init("count", .number, 1),
                                             .init("to", .choice(shareState))]),
        OpSchema(name: "slot.create", keys: [.init("vm", .handle), .init("slot", .handle), .init("gmem", .handle),
                                             .init("gfn", .number), .init("pages", .number, 4), .init("off", .number)]),
        OpSchema(name: "slot.delete", keys: [.init("vm", .handle), .init("slot", .handle)]),
        OpSchema(name: "host.mmap", keys: [.init("proc", .handle), .init("gmem", .handle)]),
        OpSchema(name: "host.munmap", keys: [.init("proc", .handle), .init("gmem", .handle)]),
        OpSchema(name: "host.fork", keys: [.init("proc", .handle), .init("child", .handle, 1)]),
        OpSchema(name: "host.read", keys: [.init("proc", .handle), .init("gmem", .handle), .init("page", .number),
                                           .init("value", .byte, nil)]),
        OpSchema(name: "host.write", keys: [.init("proc", .handle), .init("gmem", .handle), .init("page", .number),
                                            .init("value", .byte, 0xaa)]),
        OpSchema(name: "host.pin", keys: [.init("gmem", .handle), .init("page", .number), .init("proc", .handle)]),
        OpSchema(name: "host.unpin", keys: [.init("gmem", .handle), .init("page", .number)]),
        OpSchema(name: "mm.ref", keys: [.init("gmem", .handle), .init("page", .number)]),
        OpSchema(name: "mm.unref", keys: [.init("gmem", .handle), .init("page", .number)]),
        OpSchema(name: "mm.lru", keys: [.init("gmem", .handle), .init("page", .number)]),
        OpSchema(name: "guest.read", keys: [.init("vcpu", .handle), .init("gfn", .number), .init("value", .byte, nil),
                                            .init("private", .bool, nil)]),
        OpSchema(name: "guest.write", keys: [.init("vcpu", .handle), .init("gfn", .number), .init("value", .byte, 0xaa),
                                             .init("private", .bool, nil)]),
        OpSchema(name: "guest.accept", keys: [.init("vcpu", .handle), .init("gfn", .number), .init("level", .choice(["4k", "2m"]))]),
        OpSchema(name: "guest.map_gpa", keys: [.init("vcpu", .handle), .init("gfn", .number), .init("count", .number, 1),
                                               .init("to", .choice(shareState))]),
        OpSchema(name: "vcpu.prefault", keys: [.init("vcpu", .handle), .init("gfn", .number), .init("count", .number, 1)]),
        OpSchema(name: "kvm.unmap", keys: [.init("vm", .handle), .init("gfn", .number), .init("count", .number, 1)]),
        OpSchema(name: "tdx.init_mem_region", keys: [.init("vcpu", .handle), .init("gfn", .number), .init("count", .number, 1),
                                                     .init("src", .source), .init("proc", .handle, nil),
                                                     .init("value", .byte, nil), .init("measure", .bool)]),
        OpSchema(name: "inject", keys: [.init("seamcall", .choice(seamcalls), nil), .init("status", .choice(statuses), nil),
                                        .init("times", .number, nil), .init("alloc", .choice(allocSites), nil),
                                        .init("gup", .choice(["efault"]), nil), .init("signal", .word, nil),
                                        .init("cmpxchg", .word, nil)]),
        OpSchema(name: "vcpu.run", keys: [.init("vcpu", .handle), .init("slices", .number, 4)]),
    ]

    static let byName: [String: OpKind] = {
        var d: [String: OpKind] = [:]
        for k in OpKind.allCases { d[table[Int(k.rawValue)].name] = k }
        return d
    }()
}
