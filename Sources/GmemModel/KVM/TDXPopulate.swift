#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The populate source as the kernel gets it: a GUPed page (anon or a gmem mapping) or none.
struct PopulateSource {
    let folio: Folio
    let frame: UnsafeMutableRawPointer
    let anon: Bool
}

/// KVM_TDX_INIT_MEM_REGION -> kvm_gmem_populate() -> tdx_gmem_post_populate()
/// (tdx-semantics §4, gmem-semantics §2.12). Paths by variant: P0 = populate_via_fault +
/// premap_populate (ml-6.16); P2 = map-private-pfn with PAGE.ADD inside the mirror install,
/// GUP inside invalidate_lock (ml-6.19); P3 = P2 with GUP before invalidate_lock (ml-7.0+).
extension Model {
    /// Source encoding of the op: 0 none, 1 anon, 2 + G<<16 + N = page N of gmem G.
    public func tdxInitMemRegion(vcpu vid: Int, gfn: Int, count: Int, src: Int, proc: Int?, value: UInt8?,
                                 measure: Bool) throws(ModelAbort) -> SysResult {
        guard let vcpu = vcpu(vid) else { return .skipped }
        let vm = vcpu.vm
        guard let kt = vm.tdx else { return .err(.EINVAL) }       // vt_vcpu_mem_enc_ioctl(): !is_td_vcpu
        if vm.bugged || vm.dead { return .err(.EIO) }
        // 6.19 tdx_vm_state_guard: kvm->lock, all vcpu->mutex, kvm->slots_lock.
        try lock(vm.slotsLock)
        defer { unlock(vm.slotsLock) }
        // tdx_vcpu_unlocked_ioctl(): !hkid || RUNNABLE -> -EINVAL ("initial memory is fixed").
        if !kt.hkidAssigned || kt.state == .runnable { return .err(.EINVAL) }
        if !vcpu.tdxInitialized { return .err(.EINVAL) }
        // Region checks: nr_pages != 0, no wrap, private GPAs (the op's gfns have no shared bit).
        if count <= 0 || gfn < 0 { return .err(.EINVAL) }
        var source = src
        for g in gfn..<(gfn + count) {
            if inject.takeSignal() { return .err(.EINTR) }
            if let e = try kvmGmemPopulateOne(vm, kt, gfn: g, src: source, proc: proc ?? 0, value: value ?? 0, measure: measure) {
                return .err(e)
            }
            if source >= 2 { source += 1 }                     // region.source_addr += PAGE_SIZE
            yieldPoint()                                       // cond_resched()
        }
        return .ok
    }

    /// kvm_gmem_populate(kvm, gfn, src, 1, tdx_gmem_post_populate): one page.
    func kvmGmemPopulateOne(_ vm: VM, _ kt: KvmTdx, gfn: Int, src: Int, proc: Int, value: UInt8,
                            measure: Bool) throws(ModelAbort) -> Errno? {
        guard let slot = vm.slot(forGfn: gfn) else { return .EINVAL }   // !kvm_slot_has_gmem(slot)
        guard let file = slot.file, !file.dying, !file.released else { return .EFAULT }
        let inode = file.inode
        let gupFirst = !v.has(.populateGupInsideIL)
        var source: PopulateSource?
        // 7.0 (2a62345b3052): GUP the source before any guest_memfd lock.
        if src != 0 && gupFirst {
            switch try gupPopulateSource(src, proc: proc, value: value) {
            case .failure(let e): return e.errno
            case .success(let s): source = s
            }
        }
        defer { if let source { putPopulateSource(source) } }
        // __kvm_gmem_populate(): filemap_invalidate_lock (exclusive).
        try lock(inode.invalidateLock)
        defer { unlock(inode.invalidateLock) }
        let index = slot.index(of: gfn)
        // __kvm_gmem_get_pfn(): no zeroing or preparation here, unlike kvm_gmem_get_pfn().
        guard index < inode.sizePages, file.binding(at: index) === slot else { return .EIO }
        let folio: Folio
        switch try kvmGmemGetFolio(inode, index) {
        case .failure(let e): return e.errno
        case .success(let f): folio = f
        }
        defer { folioPut(folio, .caller) }
        if folio.hwpoison {
            unlock(folio.lock)
            return .EHWPOISON
        }
        // <= 6.19 preparedness tracking: an uptodate ("prepared") folio was populated or faulted.
        if (profile == .ml616 || profile == .ml619) && folio.uptodate {
            unlock(folio.lock)
            return .EEXIST
        }
        unlock(folio.lock)
        let isPrivate = profile.perGmemAttributes ? gmemIsPrivate(inode, index) : vm.privateGfns.contains(gfn)
        if !isPrivate { return .EINVAL }
        // IPC-v8 21/46: a never-used page is zeroed before populating, else it "might contain
        // uninitialized host memory, which would leak to the guest" (gmem B7).
        if profile.inPlaceConversion && !folio.uptodate && !v.has(.populateNoZero) { folio.zeroAndMarkUptodate() }
        if let e = try tdxGmemPostPopulate(vm, kt, slot: slot, gfn: gfn, folio: folio, page: index - folio.index,
                                           src: src, source: &source, proc: proc, value: value, measure: measure) {
            return e
        }
        folio.uptodate = true                                  // folio_mark_uptodate()
        return nil
    }

    /// tdx_gmem_post_populate()
    func tdxGmemPostPopulate(_ vm: VM, _ kt: KvmTdx, slot: Memslot, gfn: Int, folio: Folio, page: Int, src: Int,
                             source: inout PopulateSource?, proc: Int, value: UInt8, measure: Bool) throws(ModelAbort) -> Errno? {
        guard let td = kt.td else { return .EIO }
        let premap = v.has(.tdxPremapPopulate)
        // 6.19+: KVM_BUG_ON(kvm_tdx->page_add_src, kvm)
        if !premap && kvmBugOn(kt.pageAddSrc != nil, vm, "tdx_gmem_post_populate", "page_add_src already set") { return .EIO }
        let dest = FrameRef(folio, page: page)
        let srcFrame: UnsafeMutableRawPointer
        if src == 0 {
            // ML: -EOPNOTSUPP; in-place profiles (IPC-v8 23/46): TDH.MEM.PAGE.ADD from the page
            // itself, which the TDX spec allows.
            if !profile.inPlaceConversion { return .EOPNOTSUPP }
            if !folio.uptodate {
                report(.invariant(.G13, "in-place PAGE.ADD of never-zeroed gmem\(folio.inode) index \(folio.index + page): uninitialized host memory enters the TD image"))
            }
            srcFrame = dest.frame
        } else {
            if source == nil {
                // <= 6.19: get_user_pages_fast(src) inside the invalidate lock.
                switch try gupPopulateSource(src, proc: proc, value: value) {
                case .failure(let e): return e.errno
                case .success(let s): source = s
                }
            }
            srcFrame = source!.frame
        }
        let spte = SPTE(isPrivate: true, level: SeptLevel.k4, ref: dest, slotID: slot.id, gmemBacked: true)
        kt.pageAddSrc = srcFrame
        let mapErr: Errno?
        if v.has(.tdxPopulateViaFault) {
            // P0: kvm_tdp_map_page(vcpu, gpa, PFERR_GUEST_FINAL_MASK | PFERR_PRIVATE_ACCESS): a
            // synthesized fault that fetches the pfn again through kvm_gmem_get_pfn().
            switch try kvmTdpPageFault(vm, gfn: gfn, privateKey: true) {
            case .mapped: mapErr = nil
            case .exit: mapErr = .EFAULT
            case .error(let e): mapErr = e
            }
        } else {
            mapErr = try kvmTdpMmuMapPrivatePfn(vm, gfn: gfn, spte: spte)
        }
        kt.pageAddSrc = nil
        if let mapErr { return mapErr }
        if premap {
            // P0: PAGE.ADD outside mmu_lock with populate's pfn; the mirror holds the fault's.
            if let m = vm.mirror.leaves[gfn], Pamt.hpa(m.ref) != Pamt.hpa(dest) {
                report(.invariant(.T11, "vm\(vm.id) gfn \(gfn): PAGE.ADD of hpa \(Pamt.hpa(dest)) but the mirror maps \(Pamt.hpa(m.ref))"))
            }
            let st = tdhMemPageAdd(td, gfn: gfn, page: dest, source: srcFrame)
            if !st.isSuccess { return st.isOperandBusy ? .EBUSY : .EIO }   // no BUG; premap stays
            if !kvmBugOn(kt.nrPremapped == 0, vm, "tdx_gmem_post_populate", "nr_premapped underflow") { kt.nrPremapped -= 1 }
        }
        if measure {
            // TDX_EXTENDMR_CHUNKSIZE = 256: 16 TDH.MR.EXTEND per 4K page.
            for chunk in 0..<16 {
                let st = tdhMrExtend(td, gfn: gfn, chunk: chunk)
                if !st.isSuccess {
                    // 6.16: -EIO, the page stays in the image unmeasured; 6.19 (v3 14/25): BUG.
                    if profile != .ml616 { tdxBugOn(st, .mrExtend, vm, "tdx_gmem_post_populate", gfn: gfn) }
                    return .EIO
                }
            }
        }
        return nil
    }

    /// kvm_tdp_mmu_map_private_pfn() (6.19, mmu.c): map a known pfn at 4K, looping on
    /// RET_PF_RETRY; a signal ends with -EINTR, a dead VM with -EIO.
    func kvmTdpMmuMapPrivatePfn(_ vm: VM, gfn: Int, spte: SPTE) throws(ModelAbort) -> Errno? {
        var rounds = 0
        while true {
            if inject.takeSignal() { return .EINTR }
            if vm.bugged || vm.dead { return .EIO }
            try lock(vm.mmuLock, .shared)
            let r = try tdxMirrorMap(vm, gfn: gfn, spte: spte)
            unlock(vm.mmuLock)
            if r == nil { return nil }
            rounds += 1
            if rounds >= retryBound {
                throw ModelAbort(.invariant(.K6, "kvm_tdp_mmu_map_private_pfn on gfn \(gfn) retried \(rounds) times"))
            }
            spinPoint("kvm_tdp_mmu_map_private_pfn retry")     // cond_resched() in a retry loop
        }
    }

    /// get_user_pages_fast(src, 1, 0, &page) for the populate source.
    func gupPopulateSource(_ src: Int, proc pid: Int, value: UInt8) throws(ModelAbort) -> Result<PopulateSource, ErrnoBox> {
        if inject.takeGupEfault() { return .failure(ErrnoBox(.EFAULT)) }
        if src == 1 {
            // An ordinary anonymous page of the VMM filled with `value` (its lifetime ends with
            // the populate call in the model: the VMM frees its staging buffer).
            let f = pages.alloc(order: 0, inode: -1, index: 0)
            memset(f.mem, Int32(value), pagePayload)
            f.uptodate = true
            folioGet(f, .anonOwner)
            folioGet(f, .gup)
            return .success(PopulateSource(folio: f, frame: f.frame(0), anon: true))
        }
        let gid = (src - 2) >> 16, n = (src - 2) & 0xffff
        guard let p = proc(pid), let f = p.vmas[gid] else { return .failure(ErrnoBox(.EFAULT)) }
        // GUP slow path: the page is faulted in under the process's mmap_lock.
        try lock(p.mmapLock, .shared)
        defer { unlock(p.mmapLock) }
        let key = Process.key(f.inode.id, n)
        if p.ptes[key] == nil, try handleMmFault(p, f, n) != nil { return .failure(ErrnoBox(.EFAULT)) }
        guard let pte = p.ptes[key] else { return .failure(ErrnoBox(.EFAULT)) }
        folioGet(pte.folio, .gup)
        return .success(PopulateSource(folio: pte.folio, frame: pte.frame, anon: false))
    }

    /// put_page(src_page)
    func putPopulateSource(_ s: PopulateSource) {
        folioPut(s.folio, .gup)
        if s.anon { folioPut(s.folio, .anonOwner) }
    }
}
