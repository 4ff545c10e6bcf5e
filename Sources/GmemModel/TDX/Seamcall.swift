#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SEAMCALL entry common to every leaf function: an injected failure returns before any side
/// effect; then the TDR try-lock in the mode the module takes (contention -> TDX_OPERAND_BUSY).
extension Model {
    func seamcall(_ call: Seamcall, _ td: TdxTD?, gfn: Int? = nil, _ body: () -> TdxStatus) -> TdxStatus {
        let st = seamcallInner(call, td, body)
        atomically { tdx.note(call.rawValue, gfn, st) }
        return st
    }

    private func seamcallInner(_ call: Seamcall, _ td: TdxTD?, _ body: () -> TdxStatus) -> TdxStatus {
        if let w = inject.take(seamcall: call.rawValue) { return InjectedStatus.status(w, for: call) }
        // Threads mode: the module's own locks (TDR/TDCS try-locks, per-S-EPT-entry and PAMT
        // locks) are `sync`; the leaf function body runs under it, never across a yield.
        guard let td, let mode = call.tdrMode else { return atomically(body) }
        guard atomically({ td.tdrTryLock(mode) }) else { return TdxStatus.operandBusy.with(operand: TdxStatus.operandTDR) }
        defer { atomically { td.tdrUnlock(mode) } }
        // TDR-exclusive calls are the long ones (copy + measure): another thread may run while
        // the module holds the TDR, which is what makes B12/B13 contention reachable.
        if mode == .exclusive { yieldPoint("SEAMCALL holding the TDR exclusively") }
        return atomically(body)
    }

    /// Pages covered by a leaf at `level`.
    @inline(__always) static func pagesAt(_ level: Int) -> Int { 1 << (9 * level) }
}

// MARK: - build time and fault time (tdx-semantics §1.2)

extension Model {
    /// TDH.MEM.SEPT.ADD: install a non-leaf entry at `level` pointing at a new S-EPT page.
    func tdhMemSeptAdd(_ td: TdxTD, gfn: Int, level: Int, page: TdxPage) -> TdxStatus {
        seamcall(.septAdd, td, gfn: gfn) {
            guard td.hkid != nil, td.opState != .teardown else { return .opStateIncorrect }
            guard level >= 1 && level <= SeptLevel.top else { return .operandInvalid }
            guard td.walk(gfn, to: level) else { return .eptWalkFailed }
            let k = SeptLevel.key(level, gfn)
            guard td.sept[k] == nil else { return TdxStatus.eptEntryStateIncorrect.with(operand: TdxStatus.operandRCX) }
            guard tdx.pamt.isNDA(page.hpa) else { return .pageMetadataIncorrect }
            td.sept[k] = SeptEntry(state: .nonLeaf, level: level, page: nil, table: page)
            tdx.pamt.entries[page.hpa] = PamtEntry(owner: .ept, td: td.vm)
            td.childCount += 1
            return .success
        }
    }

    /// TDH.MEM.PAGE.ADD: copy `source` into the TD page with the TD key, entry MAPPED (no accept
    /// needed), measurement records the GPA (not the content). 4K only, before MR.FINALIZE.
    func tdhMemPageAdd(_ td: TdxTD, gfn: Int, page: FrameRef, source: UnsafeMutableRawPointer) -> TdxStatus {
        seamcall(.pageAdd, td, gfn: gfn) {
            guard td.hkid != nil, td.opState == .initialized else { return .opStateIncorrect }
            guard td.walk(gfn, to: SeptLevel.k4) else { return .eptWalkFailed }
            let k = SeptLevel.key(SeptLevel.k4, gfn)
            guard td.sept[k] == nil else { return TdxStatus.eptEntryStateIncorrect.with(operand: TdxStatus.operandRCX) }
            let hpa = Pamt.hpa(page)
            guard tdx.pamt.isNDA(hpa) else { return .pageMetadataIncorrect }
            // MOVDIR64B of the source into the target (in-place when they are the same page).
            if source != page.frame { memcpy(page.frame, source, pagePayload) }
            td.sept[k] = SeptEntry(state: .mapped, level: SeptLevel.k4, page: page, table: nil)
            tdx.pamt.entries[hpa] = PamtEntry(owner: .reg, td: td.vm)
            td.childCount += 1
            td.measure(0xadd, gfn)
            return .success
        }
    }

    /// TDH.MR.EXTEND of one 256-byte chunk of a page added to the image.
    func tdhMrExtend(_ td: TdxTD, gfn: Int, chunk: Int) -> TdxStatus {
        seamcall(.mrExtend, td, gfn: gfn) {
            guard td.opState == .initialized else { return .opStateIncorrect }
            guard td.walk(gfn, to: SeptLevel.k4) else { return .eptWalkFailed }
            guard let e = td.sept[SeptLevel.key(SeptLevel.k4, gfn)], e.state == .mapped, let p = e.page else {
                return TdxStatus.eptEntryStateIncorrect.with(operand: TdxStatus.operandRCX)
            }
            // The module reads the page content through the S-EPT entry's HPA.
            td.measure(0xe47, gfn, chunk, Int(p.load()))
            return .success
        }
    }

    /// TDH.MR.FINALIZE: op-state RUNNABLE; no more ADD/EXTEND.
    func tdhMrFinalize(_ td: TdxTD) -> TdxStatus {
        seamcall(.mrFinalize, td) {
            guard td.hkid != nil, td.opState == .initialized else { return .opStateIncorrect }
            td.opState = .runnable
            return .success
        }
    }

    /// TDH.MEM.PAGE.AUG: entry PENDING (the guest must accept), PAMT REG for the whole range.
    func tdhMemPageAug(_ td: TdxTD, gfn: Int, level: Int, page: FrameRef) -> TdxStatus {
        seamcall(.pageAug, td, gfn: gfn) {
            guard td.hkid != nil, td.opState != .teardown else { return .opStateIncorrect }
            guard level == SeptLevel.k4 || level == SeptLevel.m2 else { return .operandInvalid }
            guard td.walk(gfn, to: level) else { return .eptWalkFailed }
            let k = SeptLevel.key(level, gfn)
            guard td.sept[k] == nil else { return TdxStatus.eptEntryStateIncorrect.with(operand: TdxStatus.operandRCX) }
            let n = Model.pagesAt(level)
            guard page.page + n <= page.folio.nrPages else { return .operandInvalid }
            // check_and_lock_free_range_hpa(): every 4K of the range must be NDA.
            for i in 0..<n where !tdx.pamt.isNDA(Pamt.hpa(page.folio, page: page.page + i)) { return .pageMetadataIncorrect }
            td.sept[k] = SeptEntry(state: .pending, level: level, page: page, table: nil)
            for i in 0..<n { tdx.pamt.entries[Pamt.hpa(page.folio, page: page.page + i)] = PamtEntry(owner: .reg, td: td.vm) }
            td.childCount += n
            return .success
        }
    }

    /// TDH.VP.INIT (leaf version 1: TDR exclusive since module 1.5.05).
    func tdhVpInit(_ td: TdxTD, vcpu: Int) -> TdxStatus {
        seamcall(.vpInit, td) {
            guard td.hkid != nil, td.opState != .teardown, td.tdvpr[vcpu] != nil else { return .opStateIncorrect }
            td.vcpuInit.insert(vcpu)
            return .success
        }
    }
}
