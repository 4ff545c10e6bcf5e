/// One behaviour switch on top of a profile (SPEC §3.3). Raw values are stable bit numbers.
public enum Variant: Int, CaseIterable, Sendable {
    case filterFromCurrentAttrs = 0
    case staticFilter
    case missingAttrIsShared
    case skipRefcountCheck
    case noLruDrain
    case errOffsetFolioIndex
    case populateNoZero
    case getPfnTakesIL
    case tdxPopulateViaFault
    case populateGupInsideIL
    case unbindSkipsDyingFile
    case tdxPinPerPage
    case tdxRefOnRemoveFailure
    case splitBeforeZap
    case zapBeforeSplit
    case zapBeforeRefcountCheck
    case faultWithoutIL
    case splitFailureSkipsInvalidateEnd
    case privateCheckBeforeSeq
    case tdxPremapPopulate
    case tdxNoVcpuKickOnBusy
    case tdxTrackUnderReadLock
    case tdxVpInitWithoutMmuLock
    case tdxSplitResultIgnored
    case tdxMirrorPromotion

    public var name: String {
        switch self {
        case .filterFromCurrentAttrs: "gmem.filter_from_current_attrs"
        case .staticFilter: "gmem.static_filter"
        case .missingAttrIsShared: "gmem.missing_attr_is_shared"
        case .skipRefcountCheck: "gmem.skip_refcount_check"
        case .noLruDrain: "gmem.no_lru_drain"
        case .errOffsetFolioIndex: "gmem.err_offset_folio_index"
        case .populateNoZero: "gmem.populate_no_zero"
        case .getPfnTakesIL: "gmem.get_pfn_takes_il"
        case .tdxPopulateViaFault: "tdx.populate_via_fault"
        case .populateGupInsideIL: "gmem.populate_gup_inside_il"
        case .unbindSkipsDyingFile: "gmem.unbind_skips_dying_file"
        case .tdxPinPerPage: "tdx.pin_per_page"
        case .tdxRefOnRemoveFailure: "tdx.ref_on_remove_failure"
        case .splitBeforeZap: "gmem.split_before_zap"
        case .zapBeforeSplit: "gmem.zap_before_split"
        case .zapBeforeRefcountCheck: "gmem.zap_before_refcount_check"
        case .faultWithoutIL: "gmem.fault_without_il"
        case .splitFailureSkipsInvalidateEnd: "kvm.split_failure_skips_invalidate_end"
        case .privateCheckBeforeSeq: "kvm.private_check_before_seq"
        case .tdxPremapPopulate: "tdx.premap_populate"
        case .tdxNoVcpuKickOnBusy: "tdx.no_vcpu_kick_on_busy"
        case .tdxTrackUnderReadLock: "tdx.track_under_read_lock"
        case .tdxVpInitWithoutMmuLock: "tdx.vp_init_without_mmu_lock"
        case .tdxSplitResultIgnored: "tdx.split_result_ignored"
        case .tdxMirrorPromotion: "tdx.mirror_promotion"
        }
    }

    public var summary: String {
        switch self {
        case .filterFromCurrentAttrs: "conversion zaps with a filter from the range's current attributes (gmem B1)"
        case .staticFilter: "invalidation filter fixed by INIT_SHARED (gmem B2)"
        case .missingAttrIsShared: "a missing attribute entry reads as shared (gmem B3)"
        case .skipRefcountCheck: "to-private conversion skips the safe-refcount check (gmem B4)"
        case .noLruDrain: "no lru_add drain before failing the refcount check (gmem B5)"
        case .errOffsetFolioIndex: "EAGAIN error_offset = folio index, may precede the request (gmem B6)"
        case .populateNoZero: "populate without a source does not zero a never-used page (gmem B7)"
        case .getPfnTakesIL: "kvm_gmem_get_pfn takes invalidate_lock shared (gmem B10 / D1)"
        case .tdxPopulateViaFault: "TDX post_populate synthesizes a fault that calls kvm_gmem_get_pfn (tdx P0, B1)"
        case .populateGupInsideIL: "populate GUPs the source while holding invalidate_lock (gmem B11 / D2)"
        case .unbindSkipsDyingFile: "memslot delete skips unbinding when the file is dying (gmem B13)"
        case .tdxPinPerPage: "TDX holds one folio ref per mapped 4K page (tdx R0, gmem B14)"
        case .tdxRefOnRemoveFailure: "TDX takes a folio ref only when removal fails (tdx R2)"
        case .splitBeforeZap: "folio split while KVM still maps it huge (gmem B16, tdx B23)"
        case .zapBeforeSplit: "private->shared zaps stage-2 before a split that can fail (gmem B18)"
        case .zapBeforeRefcountCheck: "conversion zaps before the refcount check (gmem B19)"
        case .faultWithoutIL: "host fault path takes no invalidate_lock (gmem B20)"
        case .splitFailureSkipsInvalidateEnd: "split failure in pre-set returns without invalidate_end (gmem B24)"
        case .privateCheckBeforeSeq: "private/shared check before the mmu_invalidate_seq snapshot (gmem B25)"
        case .tdxPremapPopulate: "<=6.18 premap: mirror present, S-EPT FREE until PAGE.ADD (tdx B3/B4)"
        case .tdxNoVcpuKickOnBusy: "zap retries without blocking vCPU entry (tdx B10)"
        case .tdxTrackUnderReadLock: "TRACK not serialized by write mmu_lock (tdx B11)"
        case .tdxVpInitWithoutMmuLock: "TDH.VP.INIT outside mmu_lock (tdx B12)"
        case .tdxSplitResultIgnored: "demote failure ignored after the mirror split (tdx B21)"
        case .tdxMirrorPromotion: "huge-page promotion allowed on the mirror root (tdx B19)"
        }
    }

    public init?(name: String) {
        guard let v = Variant.allCases.first(where: { $0.name == name }) else { return nil }
        self = v
    }
}

/// A set of variants as a bitmask (cheap to copy and compare in the hot path).
public struct VariantSet: OptionSet, Hashable, Sendable, ExpressibleByArrayLiteral {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(arrayLiteral elements: Variant...) {
        rawValue = 0
        for v in elements { insert(v) }
    }
    public init(_ v: Variant) { rawValue = 1 << UInt64(v.rawValue) }
    @inline(__always) public func has(_ v: Variant) -> Bool { rawValue & (1 << UInt64(v.rawValue)) != 0 }
    public mutating func insert(_ v: Variant) { rawValue |= 1 << UInt64(v.rawValue) }
    public mutating func remove(_ v: Variant) { rawValue &= ~(1 << UInt64(v.rawValue)) }
    public var variants: [Variant] { Variant.allCases.filter { has($0) } }
}

/// Profile plus explicit `+NAME` / `-NAME` switches, as written in a scenario header.
public struct Config: Hashable, Sendable {
    public var profile: Profile
    public var plus: VariantSet
    public var minus: VariantSet
    public init(profile: Profile = .default, plus: VariantSet = [], minus: VariantSet = []) {
        self.profile = profile; self.plus = plus; self.minus = minus
    }
    /// The behaviours in force.
    public var effective: VariantSet {
        VariantSet(rawValue: (profile.defaultVariants.rawValue | plus.rawValue) & ~minus.rawValue)
    }
}
