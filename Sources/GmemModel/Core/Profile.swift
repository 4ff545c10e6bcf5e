/// A kernel version or posted series the model is pinned to (SPEC §3.2).
public enum Profile: String, CaseIterable, Sendable {
    case ml616 = "ml-6.16"
    case ml619 = "ml-6.19"
    case ml70 = "ml-7.0"
    case ipcV8 = "ipc-v8"
    case ipcV8Fix = "ipc-v8-fix"
    case hpV3 = "hp-v3"

    public static let `default`: Profile = .hpV3

    public var summary: String {
        switch self {
        case .ml616: "per-VM attributes; 4K folios; TDX populate via synthesized fault + premap; TDX pins one ref per 4K page (R0)"
        case .ml619: "TDX populate via map-private-pfn, PAGE.ADD inside the mirror install; no TDX page refs (R3); source GUP inside invalidate_lock"
        case .ml70: "ml-6.19 + guest_memfd populate rework: GUP before invalidate_lock, no preparedness tracking"
        case .ipcV8: "ml-7.0 + in-place conversion v8: per-gmem attributes, KVM_SET_MEMORY_ATTRIBUTES2, host unmap + safe-refcount check + lru drain, filter from current attributes (B1 present)"
        case .ipcV8Fix: "ipc-v8 with the on-list fixes: opposite-state filter (B1), missing attribute entry falls back to the init state (B3)"
        case .hpV3: "ipc-v8-fix + hugetlb 2M/1G folios with split/merge on conversion, TDX 2M S-EPT leaves (default)"
        }
    }

    /// Attributes live per guest_memfd inode (IPC-v8) instead of per VM (mainline xarray).
    public var perGmemAttributes: Bool { self == .ipcV8 || self == .ipcV8Fix || self == .hpV3 }
    /// KVM_SET_MEMORY_ATTRIBUTES2 on the gmem fd exists (module param gmem_in_place_conversion=1).
    public var inPlaceConversion: Bool { perGmemAttributes }
    /// hugetlb-backed guest_memfd (huge=2m|1g) accepted.
    public var hugePages: Bool { self == .hpV3 }

    /// Behaviours this profile has that the variant table names (SPEC §3.2/§3.3).
    public var defaultVariants: VariantSet {
        switch self {
        case .ml616:
            // ML: static filter, no IL in the host fault path; TDX ≤6.18 populate
            // TDH.VP.INIT moved under mmu_lock only in 6.19 (Rick Edgecombe, tdx B12).
            [.staticFilter, .faultWithoutIL, .tdxPopulateViaFault, .tdxPremapPopulate, .tdxPinPerPage,
             .populateGupInsideIL, .tdxVpInitWithoutMmuLock]
        case .ml619:
            [.staticFilter, .faultWithoutIL, .populateGupInsideIL]
        case .ml70:
            [.staticFilter, .faultWithoutIL]
        case .ipcV8:
            // IPC-v8 01/46 takes IL.r in kvm_gmem_get_pfn; 20/46 filter from current attributes (B1);
            // 01/46 WARNs and reads a missing entry as shared (B3).
            [.getPfnTakesIL, .filterFromCurrentAttrs, .missingAttrIsShared]
        case .ipcV8Fix, .hpV3:
            [.getPfnTakesIL]
        }
    }
}
