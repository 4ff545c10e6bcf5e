#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The mirror root protocols (tdx-semantics §2.3, §2.4) and the TDX S-EPT hooks behind them
/// (tdx_sept_link_private_spt, tdx_sept_set_private_spte, tdx_sept_remove_private_spte).
extension Model {
    // MARK: set to present (mmu_lock read)

    /// kvm_tdp_mmu_map() on the mirror root for a private leaf: link missing non-leaf SPTEs top
    /// down, then install the leaf with the FROZEN_SPTE protocol. nil = RET_PF_FIXED/SPURIOUS;
    /// an errno = RET_PF_RETRY (the mirror was rolled back).
    func tdxMirrorMap(_ vm: VM, gfn: Int, spte: SPTE) throws(ModelAbort) -> Errno? {
        guard let kt = vm.tdx, let td = kt.td else { return .EIO }
        checkMmuHeld(vm, .shared, "mirror SPTE set-to-present")
        // A FROZEN SPTE makes other walkers `goto retry`.
        if vm.mirror.frozen.contains(gfn) { return .EBUSY }
        var level = SeptLevel.top
        while level > spte.level {
            let k = SeptLevel.key(level, gfn)
            if vm.mirror.nonLeaf[k] == nil {
                // tdp_mmu_alloc_sp() + kvm_mmu_alloc_external_spt(), then tdp_mmu_link_sp() ->
                // set_external_spte_present() -> link_external_spt (SEPT.ADD).
                let page = tdx.allocPage(.ept)
                if let e = tdxSeptLinkPrivateSpt(vm, td, gfn: gfn, level: level, page: page) {
                    page.free()                  // the unlinked sp is freed
                    return e
                }
                vm.mirror.nonLeaf[k] = page
            }
            level -= 1
        }
        if vm.mirror.leaves[gfn] != nil { return nil }      // RET_PF_SPURIOUS
        // __tdp_mmu_set_spte_atomic(): try_cmpxchg64(sptep, &old, FROZEN_SPTE), hook, then set
        // the new value or write the old one back.
        if inject.takeCmpxchg() { return .EBUSY }
        vm.mirror.frozen.insert(gfn)
        yieldPoint()
        let err = try tdxSeptSetPrivateSpte(vm, kt, td, gfn: gfn, level: spte.level, spte: spte)
        vm.mirror.frozen.remove(gfn)
        if let err { return err }
        vm.mirror.leaves[gfn] = spte
        return nil
    }

    /// tdx_sept_link_private_spt() (2026: tdx_sept_map_nonleaf_spte()).
    func tdxSeptLinkPrivateSpt(_ vm: VM, _ td: TdxTD, gfn: Int, level: Int, page: TdxPage) -> Errno? {
        let st = tdhMemSeptAdd(td, gfn: gfn, level: level, page: page)
        if st.isOperandBusy { return .EBUSY }
        if tdxBugOn(st, .septAdd, vm, "tdx_sept_link_private_spt", gfn: gfn) { return .EIO }
        return nil
    }

    /// tdx_sept_set_private_spte(): AUG when RUNNABLE, else (build time) the premap count
    /// (<= 6.18) or PAGE.ADD from kvm_tdx->page_add_src (6.19+). R0 pins the page first.
    func tdxSeptSetPrivateSpte(_ vm: VM, _ kt: KvmTdx, _ td: TdxTD, gfn: Int, level: Int, spte: SPTE) throws(ModelAbort) -> Errno? {
        // KVM_BUG_ON(level != PG_LEVEL_4K): upstream maps 4K only.
        if kvmBugOn(level != SeptLevel.k4, vm, "tdx_sept_set_private_spte", "level \(level) mapping") { return .EIO }
        let pin = v.has(.tdxPinPerPage)
        // R0: get_page() "to prevent page migration", dropped again on failure (tdx_unpin).
        if pin { folioGet(spte.ref.folio, .tdx) }
        let err: Errno?
        if kt.state == .runnable {
            err = tdxMemPageAug(vm, td, gfn: gfn, level: level, spte: spte)
        } else if v.has(.tdxPremapPopulate) {
            // tdx_mem_page_record_premap_cnt(): mirror present, S-EPT FREE until PAGE.ADD.
            if kvmBugOn(kt.preFaultAllowed, vm, "tdx_mem_page_record_premap_cnt", "premap after pre_fault_allowed") {
                err = .EINVAL
            } else {
                kt.nrPremapped += 1
                err = nil
            }
        } else {
            err = tdxMemPageAdd(vm, kt, td, gfn: gfn, spte: spte)
        }
        if err != nil && pin { folioPut(spte.ref.folio, .tdx) }
        return err
    }

    /// tdx_mem_page_aug()
    func tdxMemPageAug(_ vm: VM, _ td: TdxTD, gfn: Int, level: Int, spte: SPTE) -> Errno? {
        let st = tdhMemPageAug(td, gfn: gfn, level: level, page: spte.ref)
        if st.isOperandBusy { return .EBUSY }
        if tdxBugOn(st, .pageAug, vm, "tdx_mem_page_aug", gfn: gfn) { return .EIO }
        return nil
    }

    /// 6.19 tdx_mem_page_add(): PAGE.ADD inside the mirror install, with the pfn being mapped.
    func tdxMemPageAdd(_ vm: VM, _ kt: KvmTdx, _ td: TdxTD, gfn: Int, spte: SPTE) -> Errno? {
        if kvmBugOn(kt.preFaultAllowed || kt.pageAddSrc == nil, vm, "tdx_mem_page_add",
                    "PAGE.ADD with pre_fault_allowed=\(kt.preFaultAllowed) page_add_src=\(kt.pageAddSrc == nil ? "NULL" : "set")") {
            return .EIO
        }
        checkPopulateLocked(vm, spte)
        let st = tdhMemPageAdd(td, gfn: gfn, page: spte.ref, source: kt.pageAddSrc!)
        if st.isOperandBusy { return .EBUSY }
        if tdxBugOn(st, .pageAdd, vm, "tdx_mem_page_add", gfn: gfn) { return .EIO }
        return nil
    }

    /// T12: a populate install runs with the gmem invalidate lock held exclusively (no
    /// invalidation of that index can complete between get_pfn and the install).
    func checkPopulateLocked(_ vm: VM, _ spte: SPTE) {
        guard let slot = vm.slots[spte.slotID], let f = slot.file else { return }
        let t = current
        if harnessLocked({ f.inode.invalidateLock.writer != t }) {
            report(.invariant(.T12, "vm\(vm.id) PAGE.ADD of gmem\(f.inode.id) page without its invalidate_lock held exclusively"))
        }
    }

    // MARK: removal (mmu_lock write)

    /// tdp_mmu_set_spte(SHADOW_NONPRESENT_VALUE) on a mirror leaf: the mirror SPTE is written
    /// first, then handle_changed_spte() -> remove_external_spte(). The removal cannot fail
    /// upward: the caller (zap, truncation) proceeds whatever the TDX module said (§2.5).
    func tdpMmuZapMirrorLeaf(_ vm: VM, gfn: Int, spte: SPTE) throws(ModelAbort) {
        // B11 variant: the zap runs under the read mmu_lock, without 6.19's
        // lockdep_assert_held_write() in the S-EPT removal path (v3 19/25).
        if !v.has(.tdxTrackUnderReadLock) { checkMmuHeld(vm, .exclusive, "mirror SPTE zap") }
        vm.mirror.leaves[gfn] = nil
        vm.mirror.removing.insert(gfn)
        tdxSeptRemovePrivateSpte(vm, gfn: gfn, level: spte.level, spte: spte)
        vm.mirror.removing.remove(gfn)
    }

    /// tdx_sept_remove_private_spte() (6.19; 6.16 tdx_sept_zap_private_spte + tdx_track +
    /// tdx_sept_drop_private_spte): BLOCK -> TRACK + kick -> REMOVE -> WBINVD -> reset page.
    func tdxSeptRemovePrivateSpte(_ vm: VM, gfn: Int, level: Int, spte: SPTE) {
        guard let kt = vm.tdx, let td = kt.td else { return }
        let site = "tdx_sept_remove_private_spte"
        let folio = spte.ref.folio
        if kvmBugOn(!kt.hkidAssigned, vm, site, "removing gfn \(gfn) after the HKID was released") {
            tdxRemovalFailed(kt, spte)
            return
        }
        if kvmBugOn(level != SeptLevel.k4, vm, site, "level \(level) removal") { return }
        let block = tdhDoNoVcpus(vm, kt, .rangeBlock) { tdhMemRangeBlock(td, gfn: gfn, level: level) }
        // <= 6.18: a premapped page (mirror present, S-EPT FREE) fails BLOCK with
        // STATE_INCORRECT|RCX before finalize: tdx_is_sept_zap_err_due_to_premap().
        if v.has(.tdxPremapPopulate) && kt.state != .runnable
            && block == TdxStatus.eptEntryStateIncorrect.with(operand: TdxStatus.operandRCX) && td.leaf(gfn) == nil
            && kt.nrPremapped > 0 {
            kt.nrPremapped -= 1
            if v.has(.tdxPinPerPage) { folioPut(folio, .tdx) }     // tdx_unpin()
            return
        }
        if tdxBugOn(block, .rangeBlock, vm, site, gfn: gfn) { tdxRemovalFailed(kt, spte); return }
        tdxTrack(vm, kt, td)
        var removeSt = TdxStatus.success
        _ = tdhDoNoVcpus(vm, kt, .pageRemove) {
            removeSt = tdhMemPageRemove(td, gfn: gfn, level: level).0
            return removeSt
        }
        if tdxBugOn(removeSt, .pageRemove, vm, site, gfn: gfn) { tdxRemovalFailed(kt, spte); return }
        let wb = tdhPhymemPageWbinvd(hkid: td.hkid, hpa: Pamt.hpa(spte.ref))
        if tdxBugOn(wb, .wbinvd, vm, site, gfn: gfn) { tdxRemovalFailed(kt, spte); return }
        // tdx_clear_page() / tdx_quirk_reset_page(): MOVDIR64B zeroes the page. (Whether the
        // newer quirk helper clears without the partial-write erratum is unverified; the model
        // always clears, see README.)
        memset(spte.ref.frame, 0, pagePayload << (9 * level))
        if v.has(.tdxPinPerPage) { folioPut(folio, .tdx) }         // tdx_unpin()
    }

    /// What a failed removal leaves behind, per refcount policy (tdx-semantics §3): R0 keeps
    /// its pin (leak); R2 takes one now (tdx_hold_page_on_error); R3 holds nothing, so
    /// guest_memfd may free a page the S-EPT still maps (T4).
    func tdxRemovalFailed(_ kt: KvmTdx, _ spte: SPTE) {
        tdx.removeFailed[Pamt.hpa(spte.ref)] = spte.ref.folio
        if v.has(.tdxRefOnRemoveFailure) && !v.has(.tdxPinPerPage) {
            folioGet(spte.ref.folio, .tdx, Model.pagesAt(spte.level))
        }
    }

    /// tdh_do_no_vcpus(): on TDX_OPERAND_BUSY retry once with every vCPU kicked out and
    /// blocked from entering (wait_for_sept_zap); the variant retries without the kick.
    func tdhDoNoVcpus(_ vm: VM, _ kt: KvmTdx, _ call: Seamcall, _ f: () -> TdxStatus) -> TdxStatus {
        let st = f()
        guard st.isOperandBusy else { return st }
        let kick = !v.has(.tdxNoVcpuKickOnBusy)
        if kick {
            // tdx_no_vcpus_enter_start(): WRITE_ONCE(wait_for_sept_zap, true) +
            // kvm_make_all_cpus_request(KVM_REQ_OUTSIDE_GUEST_MODE).
            atomically { kt.waitForSeptZap = true }
            tdxKickAllVcpus(kt)
            inject.endVcpuContention(call.rawValue)
        }
        let again = f()
        if kick { atomically { kt.waitForSeptZap = false } }      // tdx_no_vcpus_enter_stop()
        return again
    }

    /// kvm_make_all_cpus_request(KVM_REQ_OUTSIDE_GUEST_MODE): the request has KVM_REQUEST_WAIT,
    /// so kvm_kick_many_cpus() -> smp_call_function_many(wait=true) returns only once every vCPU
    /// that was in guest mode took the IPI and exited (left its epoch). A vCPU staying in guest
    /// mode (a `vcpu.run` thread) acks when its thread next runs; the kicker waits meanwhile and
    /// other threads run. With no vCPU in guest mode there is nothing to wait for.
    func tdxKickAllVcpus(_ kt: KvmTdx) {
        guard let td = kt.td else { return }
        let kicked = atomically { () -> Set<Int> in
            let k = Set(td.vcpuEpoch.keys)
            td.kickPending.formUnion(k)
            return k
        }
        var rounds = 0
        while atomically({ !td.kickPending.isDisjoint(with: kicked) }) {
            rounds += 1
            if rounds > retryBound {
                // Only when the run is torn down (or threads mode starves the vCPU thread):
                // take the exits as done rather than spin.
                atomically {
                    for v in kicked where td.kickPending.contains(v) { td.vcpuEpoch[v] = nil }
                    td.kickPending.subtract(kicked)
                }
                break
            }
            spinPoint("kvm_make_all_cpus_request wait")
        }
    }

    /// tdx_track(): TRACK (retried once with vCPUs kicked) and then kick every vCPU so those of
    /// the previous epoch exit. Skipped before RUNNABLE; serialized by the write mmu_lock.
    func tdxTrack(_ vm: VM, _ kt: KvmTdx, _ td: TdxTD) {
        guard kt.state == .runnable else { return }
        if !v.has(.tdxTrackUnderReadLock) { checkMmuHeld(vm, .exclusive, "TDH.MEM.TRACK") }
        let st = tdhDoNoVcpus(vm, kt, .track) { tdhMemTrack(td) }
        tdxBugOn(st, .track, vm, "tdx_track")
        // The kick waits for vCPUs in guest mode to exit; other CPUs run meanwhile (with the
        // write mmu_lock no other zapper can; B11 is the case where one can).
        tdxKickAllVcpus(kt)
    }

    // MARK: teardown

    /// tdx_mmu_release_hkid(): flush vCPUs, write back caches, free the HKID (§1.4).
    func tdxMmuReleaseHkid(_ vm: VM) {
        guard let kt = vm.tdx, let td = kt.td, td.hkid != nil else { return }
        atomically { tdhReleaseHkid(td) }
    }

    /// kvm_mmu_uninit_vm() on the mirror root: the leaves are gone; every non-leaf SPTE is freed
    /// bottom-up through free_external_spt -> tdx_sept_free_private_spt(): KVM_BUG_ON if the
    /// HKID is still assigned, TDH.PHYMEM.PAGE.RECLAIM, else the S-EPT page is leaked.
    func tdxFreeMirrorPageTables(_ vm: VM) {
        guard let kt = vm.tdx else { return }
        let keys = vm.mirror.nonLeaf.keys.sorted { (SeptLevel.level(ofKey: $0), $0) < (SeptLevel.level(ofKey: $1), $1) }
        for k in keys {
            guard let page = vm.mirror.nonLeaf.removeValue(forKey: k) else { continue }
            if kt.hkidAssigned {
                vm.mirror.nonLeafZappedWithHkid += 1
                kvmBugOn(true, vm, "tdx_sept_free_private_spt", "S-EPT page freed with the HKID assigned")
                page.leaked = true
                continue
            }
            if tdxReclaimPage(vm, page) { kt.td?.sept[k] = nil }
        }
    }

    /// tdx_reclaim_page(): TDH.PHYMEM.PAGE.RECLAIM then clear; on failure the page is leaked.
    @discardableResult
    func tdxReclaimPage(_ vm: VM, _ page: TdxPage) -> Bool {
        let st = tdhPhymemPageReclaim(hpa: page.hpa)
        if warnOn(!st.isSuccess, "tdx_reclaim_page", "TDH.PHYMEM.PAGE.RECLAIM of \(page.kind.rawValue) page failed: \(st); page leaked") {
            page.leaked = true
            return false
        }
        memset(page.mem, 0, pagePayload)
        page.free()
        return true
    }

    /// tdx_vcpu_free() + tdx_vm_destroy() -> tdx_reclaim_td_control_pages(): nothing if the
    /// HKID is still assigned (all leaked); TDVPR and TDCS pages, then the TDR, which also needs
    /// TDH.PHYMEM.PAGE.WBINVD with the TDR's key.
    func tdxVmDestroy(_ vm: VM) {
        guard let kt = vm.tdx, let td = kt.td, !kt.hkidAssigned else { return }
        for vid in td.tdvpr.keys.sorted() { if let p = td.tdvpr.removeValue(forKey: vid) { tdxReclaimPage(vm, p) } }
        for p in td.tdcs { tdxReclaimPage(vm, p) }
        td.tdcs.removeAll()
        guard let tdr = td.tdr else { return }
        td.tdr = nil
        let st = tdhPhymemPageReclaim(hpa: tdr.hpa)
        if warnOn(!st.isSuccess, "tdx_reclaim_td_control_pages", "TDR reclaim failed: \(st); TDR leaked") {
            tdr.leaked = true
            return
        }
        // tdh_phymem_page_wbinvd_tdr(): the TDR is tagged with the global key, which stays valid.
        let wb = seamcall(.wbinvd, nil) { .success }
        if warnOn(!wb.isSuccess, "tdx_reclaim_td_control_pages", "TDH.PHYMEM.PAGE.WBINVD of the TDR failed: \(wb); TDR leaked") {
            tdr.leaked = true
            return
        }
        tdr.free()
    }
}
