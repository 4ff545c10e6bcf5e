/// Removal-side SEAMCALLs: RANGE.BLOCK, TRACK, PAGE.REMOVE, PHYMEM.PAGE.WBINVD,
/// PHYMEM.PAGE.RECLAIM, PAGE.DEMOTE (tdx-semantics §1.2, module src/vmm_dispatcher/api_calls).
extension Model {
    /// TDH.MEM.RANGE.BLOCK: MAPPED->BLOCKED, PENDING->PENDING_BLOCKED (non-leaf too); records
    /// BEPOCH = current TD epoch.
    func tdhMemRangeBlock(_ td: TdxTD, gfn: Int, level: Int) -> TdxStatus {
        seamcall(.rangeBlock, td, gfn: gfn) {
            guard td.hkid != nil else { return .opStateIncorrect }
            guard td.walk(gfn, to: level) else { return .eptWalkFailed }
            let k = SeptLevel.key(level, gfn)
            guard var e = td.sept[k] else { return TdxStatus.eptEntryStateIncorrect.with(operand: TdxStatus.operandRCX) }
            switch e.state {
            case .mapped: e.state = .blocked
            case .pending: e.state = .pendingBlocked
            case .nonLeaf: e.state = .nonLeafBlocked
            case .blocked, .pendingBlocked, .nonLeafBlocked: return .gpaRangeAlreadyBlocked
            }
            e.bepoch = td.epoch
            td.sept[k] = e
            return .success
        }
    }

    /// TDH.MEM.TRACK: td_epoch++, refused while a vCPU of the previous epoch is in guest mode.
    func tdhMemTrack(_ td: TdxTD) -> TdxStatus {
        seamcall(.track, td) {
            guard td.hkid != nil else { return .opStateIncorrect }
            if td.vcpuEpoch.values.contains(where: { $0 < td.epoch }) { return .previousTlbEpochBusy }
            td.epoch += 1
            return .success
        }
    }

    /// TDH.MEM.PAGE.REMOVE: leaf -> FREE, PAMT NDA. When the TD runs, the entry must be
    /// *BLOCKED and TLB-tracked; before finalize the block/track requirement does not apply
    /// (op_state_is_tlb_tracking_required() is false). Returns the removed page.
    func tdhMemPageRemove(_ td: TdxTD, gfn: Int, level: Int) -> (TdxStatus, FrameRef?) {
        var removed: FrameRef?
        let st = seamcall(.pageRemove, td, gfn: gfn) {
            guard td.hkid != nil else { return .opStateIncorrect }
            guard td.walk(gfn, to: level) else { return .eptWalkFailed }
            let k = SeptLevel.key(level, gfn)
            guard let e = td.sept[k], e.state.isLeaf, let p = e.page else {
                return TdxStatus.eptEntryStateIncorrect.with(operand: TdxStatus.operandRCX)
            }
            if td.opState == .runnable {
                guard e.state.isBlocked else { return TdxStatus.gpaRangeNotBlocked.with(operand: TdxStatus.operandRCX) }
                guard td.tracked(e.bepoch) else { return .tlbTrackingNotDone }
            }
            td.sept[k] = nil
            let n = Model.pagesAt(level)
            for i in 0..<n { tdx.pamt.entries[Pamt.hpa(p.folio, page: p.page + i)] = nil }
            td.childCount -= n
            removed = p
            return .success
        }
        return (st, removed)
    }

    /// TDH.PHYMEM.PAGE.WBINVD(hkid, hpa): write back and invalidate the page's cache lines for
    /// the key. Needs a valid (assigned) HKID.
    func tdhPhymemPageWbinvd(hkid: Int?, hpa: Int) -> TdxStatus {
        seamcall(.wbinvd, nil) {
            guard let hkid, tdx.hkidsInUse.contains(hkid) else { return .operandInvalid }
            return .success
        }
    }

    /// TDH.PHYMEM.PAGE.RECLAIM: a page owned by a TD whose HKID was released goes back to NDA.
    func tdhPhymemPageReclaim(hpa: Int) -> TdxStatus {
        seamcall(.reclaim, nil) {
            guard let e = tdx.pamt.entries[hpa] else { return .pageMetadataIncorrect }
            guard let td = tdx.tds[e.td], td.opState == .teardown else { return .lifecycleStateIncorrect }
            tdx.pamt.entries[hpa] = nil
            td.childCount -= 1
            return .success
        }
    }

    /// TDH.MEM.PAGE.DEMOTE (HP v3 / RFC v5): a 2M leaf becomes a non-leaf over a new S-EPT page;
    /// the 512 children inherit the state, unblocked. When the TD runs the 2M entry must be
    /// *BLOCKED and tracked. Nothing in the 4K-only KVM model issues it yet (huge pages are the
    /// `huge` branch); its preconditions are here so a 2M split can call it.
    func tdhMemPageDemote(_ td: TdxTD, gfn: Int, level: Int, newTable: TdxPage) -> TdxStatus {
        seamcall(.demote, td, gfn: gfn) {
            guard td.hkid != nil else { return .opStateIncorrect }
            guard level == SeptLevel.m2 else { return .operandInvalid }
            guard td.walk(gfn, to: level) else { return .eptWalkFailed }
            let k = SeptLevel.key(level, gfn)
            guard let e = td.sept[k], e.state.isLeaf, let p = e.page else {
                return TdxStatus.eptEntryStateIncorrect.with(operand: TdxStatus.operandRCX)
            }
            if td.opState == .runnable {
                guard e.state.isBlocked else { return TdxStatus.gpaRangeNotBlocked.with(operand: TdxStatus.operandRCX) }
                guard td.tracked(e.bepoch) else { return .tlbTrackingNotDone }
            }
            guard tdx.pamt.isNDA(newTable.hpa) else { return .pageMetadataIncorrect }
            let child: SeptState = (e.state == .pending || e.state == .pendingBlocked) ? .pending : .mapped
            let base = SeptLevel.firstGfn(ofKey: k)
            for i in 0..<Model.pagesAt(level) {
                td.sept[SeptLevel.key(SeptLevel.k4, base + i)] =
                    SeptEntry(state: child, level: SeptLevel.k4, page: FrameRef(p.folio, page: p.page + i), table: nil)
            }
            td.sept[k] = SeptEntry(state: .nonLeaf, level: level, page: nil, table: newTable)
            tdx.pamt.entries[newTable.hpa] = PamtEntry(owner: .ept, td: td.vm)
            td.childCount += 1
            return .success
        }
    }
}
