import Testing
@testable import GmemModel

/// The TDX module's SEAMCALL preconditions and S-EPT state machine (tdx-semantics §1.2), called
/// directly: statuses, side effects (none on failure), PAMT ownership, epochs, the TDR lock.
@Suite struct TDXModuleTests {
    /// A model with TD vm0 (HKID assigned, INITIALIZED) and an anonymous order-`order` folio.
    static func setup(order: Int = 0) -> (Model, TdxTD, Folio) {
        let m = Model()
        let td = m.tdhMngInit(vm: 0)
        let f = m.pages.alloc(order: order, inode: -1, index: 0)
        m.folioGet(f, .anonOwner)
        return (m, td, f)
    }

    /// SEPT.ADD the levels above `level` for gfn.
    static func link(_ m: Model, _ td: TdxTD, gfn: Int, downTo level: Int = 1) {
        var l = SeptLevel.top
        while l >= level {
            #expect(m.tdhMemSeptAdd(td, gfn: gfn, level: l, page: m.tdx.allocPage(.ept)) == .success)
            l -= 1
        }
    }

    static let stateIncorrect = TdxStatus.eptEntryStateIncorrect.with(operand: TdxStatus.operandRCX)

    @Test func septAddNeedsParentFreeEntryAndNDAPage() {
        let (m, td, _) = Self.setup()
        #expect(m.tdhMemSeptAdd(td, gfn: 0x100, level: 1, page: m.tdx.allocPage(.ept)) == .eptWalkFailed)
        let p3 = m.tdx.allocPage(.ept)
        #expect(m.tdhMemSeptAdd(td, gfn: 0x100, level: 3, page: p3) == .success)
        #expect(m.tdx.pamt.entries[p3.hpa]?.owner == .ept)
        #expect(m.tdhMemSeptAdd(td, gfn: 0x100, level: 3, page: m.tdx.allocPage(.ept)) == Self.stateIncorrect)
        #expect(m.tdhMemSeptAdd(td, gfn: 0x100, level: 2, page: p3) == .pageMetadataIncorrect)
        #expect(m.tdhMemSeptAdd(td, gfn: 0x100, level: 0, page: m.tdx.allocPage(.ept)) == .operandInvalid)
    }

    @Test func pageAddCopiesSourceMeasuresAndOnlyBeforeFinalize() {
        let (m, td, f) = Self.setup()
        let src = m.pages.alloc(order: 0, inode: -1, index: 0)
        m.folioGet(src, .anonOwner)
        src.frame(0).storeBytes(of: 0x5a, as: UInt8.self)
        let page = FrameRef(f, page: 0)
        #expect(m.tdhMemPageAdd(td, gfn: 0x100, page: page, source: src.frame(0)) == .eptWalkFailed)
        Self.link(m, td, gfn: 0x100)
        let before = td.mrtd
        #expect(m.tdhMemPageAdd(td, gfn: 0x100, page: page, source: src.frame(0)) == .success)
        #expect(td.mrtd != before)
        #expect(page.load() == 0x5a)
        #expect(td.leaf(0x100)?.state == .mapped)
        #expect(m.tdx.pamt.entries[Pamt.hpa(page)]?.owner == .reg)
        #expect(m.tdhMemPageAdd(td, gfn: 0x100, page: page, source: src.frame(0)) == Self.stateIncorrect)
        for c in 0..<16 { #expect(m.tdhMrExtend(td, gfn: 0x100, chunk: c) == .success) }
        #expect(m.tdhMrExtend(td, gfn: 0x101, chunk: 0) == Self.stateIncorrect)
        #expect(m.tdhMrFinalize(td) == .success)
        #expect(m.tdhMrFinalize(td) == .opStateIncorrect)
        #expect(m.tdhMrExtend(td, gfn: 0x100, chunk: 0) == .opStateIncorrect)
        let g = m.pages.alloc(order: 0, inode: -1, index: 1)
        #expect(m.tdhMemPageAdd(td, gfn: 0x101, page: FrameRef(g, page: 0), source: src.frame(0)) == .opStateIncorrect)
    }

    @Test func augAcceptAndAccessBeforeAccept() {
        let (m, td, f) = Self.setup()
        Self.link(m, td, gfn: 0x100)
        f.frame(0).storeBytes(of: 0x77, as: UInt8.self)
        let page = FrameRef(f, page: 0)
        #expect(m.tdhMemPageAug(td, gfn: 0x100, level: 2, page: page) == .operandInvalid)
        #expect(m.tdhMemPageAug(td, gfn: 0x100, level: 0, page: page) == .success)
        #expect(td.leaf(0x100)?.state == .pending)
        // the same HPA cannot be AUGed twice (PAMT not NDA), nor the same entry
        #expect(m.tdhMemPageAug(td, gfn: 0x101, level: 0, page: page) == .pageMetadataIncorrect)
        #expect(m.tdhMemPageAug(td, gfn: 0x100, level: 0, page: FrameRef(m.pages.alloc(order: 0, inode: -1, index: 2), page: 0)) == Self.stateIncorrect)
        if case .pendingViolation = m.tdGuestAccess(td, gfn: 0x100) {} else { Issue.record("PENDING access must be a pending EPT violation") }
        if case .eptViolation = m.tdGuestAccess(td, gfn: 0x101) {} else { Issue.record("FREE access must be an EPT violation") }
        #expect(m.tdgMemPageAccept(td, gfn: 0x100, level: 1) == .sizeMismatch)
        #expect(m.tdgMemPageAccept(td, gfn: 0x100, level: 0) == .accepted)
        #expect(page.load() == 0, "ACCEPT initializes the page")
        #expect(m.tdgMemPageAccept(td, gfn: 0x100, level: 0) == .alreadyAccepted)
        if case .mapped(let r) = m.tdGuestAccess(td, gfn: 0x100) { #expect(r.frame == page.frame) } else { Issue.record("accepted page must be mapped") }
    }

    @Test func removeRequiresBlockAndTrackingWhenRunnable() {
        let (m, td, f) = Self.setup()
        Self.link(m, td, gfn: 0x100)
        #expect(m.tdhMrFinalize(td) == .success)
        let page = FrameRef(f, page: 0)
        #expect(m.tdhMemRangeBlock(td, gfn: 0x100, level: 0) == Self.stateIncorrect)
        #expect(m.tdhMemPageAug(td, gfn: 0x100, level: 0, page: page) == .success)
        #expect(m.tdhMemPageRemove(td, gfn: 0x100, level: 0).0 == TdxStatus.gpaRangeNotBlocked.with(operand: TdxStatus.operandRCX))
        #expect(m.tdhMemRangeBlock(td, gfn: 0x100, level: 0) == .success)
        #expect(td.leaf(0x100)?.state == .pendingBlocked)
        #expect(m.tdhMemRangeBlock(td, gfn: 0x100, level: 0) == .gpaRangeAlreadyBlocked)
        #expect(m.tdhMemPageRemove(td, gfn: 0x100, level: 0).0 == .tlbTrackingNotDone)
        // a vCPU that entered before the TRACK keeps the entry untracked until it exits
        td.vcpuEpoch[0] = td.epoch
        #expect(m.tdhMemTrack(td) == .success)
        #expect(m.tdhMemPageRemove(td, gfn: 0x100, level: 0).0 == .tlbTrackingNotDone)
        // TRACK N+1 is refused while that vCPU is still in epoch N-1
        #expect(m.tdhMemTrack(td) == .previousTlbEpochBusy)
        #expect(!TdxStatus.previousTlbEpochBusy.isOperandBusy)
        td.vcpuEpoch[0] = nil
        let (st, removed) = m.tdhMemPageRemove(td, gfn: 0x100, level: 0)
        #expect(st == .success)
        #expect(removed?.frame == page.frame)
        #expect(td.leaf(0x100) == nil)
        #expect(m.tdx.pamt.entries[Pamt.hpa(page)] == nil)
        #expect(m.tdhPhymemPageWbinvd(hkid: td.hkid, hpa: Pamt.hpa(page)) == .success)
        #expect(m.tdhPhymemPageWbinvd(hkid: 999, hpa: Pamt.hpa(page)) == .operandInvalid)
    }

    @Test func removeBeforeFinalizeNeedsNoBlock() {
        let (m, td, f) = Self.setup()
        Self.link(m, td, gfn: 0x100)
        #expect(m.tdhMemPageAdd(td, gfn: 0x100, page: FrameRef(f, page: 0), source: f.frame(0)) == .success)
        #expect(m.tdhMemPageRemove(td, gfn: 0x100, level: 0).0 == .success)
    }

    @Test func tdrLockContentionIsOperandBusy() {
        let (m, td, f) = Self.setup()
        Self.link(m, td, gfn: 0x100)
        // a TDR-exclusive SEAMCALL in flight (e.g. MR.EXTEND on another thread)
        #expect(td.tdrTryLock(.exclusive))
        let st = m.tdhMemRangeBlock(td, gfn: 0x100, level: 1)
        #expect(st.isOperandBusy)
        #expect(m.tdhMemPageAdd(td, gfn: 0x100, page: FrameRef(f, page: 0), source: f.frame(0)).isOperandBusy)
        td.tdrUnlock(.exclusive)
        // shared holders exclude exclusive ones only
        #expect(td.tdrTryLock(.shared))
        #expect(m.tdhMemRangeBlock(td, gfn: 0x100, level: 1) == .success)
        #expect(m.tdhVpInit(td, vcpu: 0).isOperandBusy)
        td.tdrUnlock(.shared)
    }

    @Test func injectedStatusHasNoSideEffectAndIsConsumed() {
        let (m, td, f) = Self.setup()
        Self.link(m, td, gfn: 0x100)
        m.inject.addSeamcall("PAGE.ADD", status: "walk_failed", times: 1)
        #expect(m.tdhMemPageAdd(td, gfn: 0x100, page: FrameRef(f, page: 0), source: f.frame(0)) == .eptWalkFailed)
        #expect(td.leaf(0x100) == nil)
        #expect(m.tdhMemPageAdd(td, gfn: 0x100, page: FrameRef(f, page: 0), source: f.frame(0)) == .success)
        m.inject.addSeamcall("RANGE.BLOCK", status: "busy_twice", times: 1)
        m.inject.endVcpuContention("RANGE.BLOCK")   // a kick does not end busy_twice
        #expect(m.tdhMemRangeBlock(td, gfn: 0x100, level: 0).isOperandBusy)
        #expect(m.tdhMemRangeBlock(td, gfn: 0x100, level: 0).isOperandBusy)
        m.inject.addSeamcall("RANGE.BLOCK", status: "busy", times: 3)
        #expect(m.tdhMemRangeBlock(td, gfn: 0x100, level: 0).isOperandBusy)
        m.inject.endVcpuContention("RANGE.BLOCK")
        #expect(m.tdhMemRangeBlock(td, gfn: 0x100, level: 0) == .success)
    }

    /// PAGE.DEMOTE (no KVM path issues it at 4K): 2M leaf, blocked and tracked when RUNNABLE,
    /// 512 unblocked children, new S-EPT page NDA; TDX_INTERRUPTED_RESTARTABLE commits nothing.
    @Test func demotePreconditionsAndEffect() {
        let (m, td, f) = Self.setup(order: 9)
        Self.link(m, td, gfn: 0x200, downTo: 2)
        #expect(m.tdhMrFinalize(td) == .success)
        let page = FrameRef(f, page: 0)
        #expect(m.tdhMemPageAug(td, gfn: 0x200, level: 1, page: page) == .success)
        #expect(td.childCount >= 512)
        let table = m.tdx.allocPage(.ept)
        #expect(m.tdhMemPageDemote(td, gfn: 0x200, level: 0, newTable: table) == .operandInvalid)
        #expect(m.tdhMemPageDemote(td, gfn: 0x200, level: 1, newTable: table) == TdxStatus.gpaRangeNotBlocked.with(operand: TdxStatus.operandRCX))
        #expect(m.tdhMemRangeBlock(td, gfn: 0x200, level: 1) == .success)
        #expect(m.tdhMemPageDemote(td, gfn: 0x200, level: 1, newTable: table) == .tlbTrackingNotDone)
        #expect(m.tdhMemTrack(td) == .success)
        m.inject.addSeamcall("PAGE.DEMOTE", status: "interrupted", times: 1)
        #expect(m.tdhMemPageDemote(td, gfn: 0x200, level: 1, newTable: table) == .interruptedRestartable)
        #expect(td.leaf(0x200)?.state == .pendingBlocked)
        #expect(m.tdhMemPageDemote(td, gfn: 0x200, level: 1, newTable: table) == .success)
        #expect(td.sept[SeptLevel.key(1, 0x200)]?.state == .nonLeaf)
        #expect(td.leaves.count == 512)
        #expect(td.leaves.allSatisfy { $0.entry.state == .pending && $0.entry.level == 0 })
        #expect(td.leaf(0x3ff)?.page?.page == 0x1ff)
        #expect(m.tdx.pamt.entries[table.hpa]?.owner == .ept)
    }

    @Test func reclaimOnlyAfterHkidRelease() {
        let (m, td, _) = Self.setup()
        let p = m.tdx.allocPage(.ept)
        #expect(m.tdhMemSeptAdd(td, gfn: 0, level: 3, page: p) == .success)
        #expect(m.tdhPhymemPageReclaim(hpa: p.hpa) == .lifecycleStateIncorrect)
        m.tdhReleaseHkid(td)
        #expect(td.opState == .teardown && td.hkid == nil)
        #expect(m.tdhPhymemPageReclaim(hpa: p.hpa) == .success)
        #expect(m.tdhPhymemPageReclaim(hpa: p.hpa) == .pageMetadataIncorrect)
        #expect(m.tdhMemSeptAdd(td, gfn: 0x1000000, level: 3, page: m.tdx.allocPage(.ept)) == .opStateIncorrect)
    }
}
