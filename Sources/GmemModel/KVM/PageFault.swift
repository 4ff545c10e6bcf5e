/// Guest accesses and the x86 TDP fault path (arch/x86/kvm/mmu/mmu.c kvm_mmu_page_fault,
/// kvm_mmu_faultin_pfn, kvm_mmu_faultin_pfn_gmem, is_page_fault_stale; tdp_mmu.c kvm_tdp_mmu_map).
extension Model {
    enum FaultOutcome {
        case mapped
        case exit(VMExit)
        case error(Errno)
    }

    /// guest.read / guest.write: access gfn through stage-2, faulting it in first if needed.
    public func guestAccess(vcpu vid: Int, gfn: Int, write: UInt8?, privateKey: Bool?) throws(ModelAbort) -> SysResult {
        guard let vcpu = vcpu(vid) else { return .skipped }
        let vm = vcpu.vm
        // TD guests: the private key selects the GPA (shared bit clear or set), default private.
        if vm.tdx != nil { return try tdxGuestAccess(vcpu, gfn: gfn, write: write, privateGpa: privateKey ?? true) }
        if vm.bugged || vm.dead { return .err(.EIO) }     // KVM_RUN on a bugged VM
        return try stage2Access(vm, gfn: gfn, write: write, privateKey: privateKey)
    }

    /// Access through the (direct-root) stage-2 mapping, faulting it in first if needed.
    func stage2Access(_ vm: VM, gfn: Int, write: UInt8?, privateKey: Bool?) throws(ModelAbort) -> SysResult {
        var rounds = 0
        while true {
            // The hardware walk and the access are one step (`sync` in threads mode: guest memory
            // accesses race by design, and a zap + free cannot run between walk and access).
            let hit = atomically { () -> SysResult? in
                guard let (base, s) = vm.leaf(covering: gfn), privateKey == nil || privateKey == s.isPrivate else { return nil }
                let frame = s.frame(gfn, base: base)
                if let w = write {
                    frame.storeBytes(of: w, as: UInt8.self)
                    return .ok
                }
                return .value(frame.load(as: UInt8.self))
            }
            if let hit { return hit }
            switch try kvmTdpPageFault(vm, gfn: gfn, privateKey: privateKey) {
            case .mapped: break
            case .exit(let x): return .exit(x)
            case .error(let e): return .err(e)
            }
            rounds += 1
            if rounds > 2 { return .err(.EFAULT) }
        }
    }

    /// kvm_mmu_page_fault() -> kvm_tdp_page_fault(): retries RET_PF_RETRY a bounded number of times.
    func kvmTdpPageFault(_ vm: VM, gfn: Int, privateKey: Bool?) throws(ModelAbort) -> FaultOutcome {
        // For SW-protected VMs the private bit is synthesized from the attributes at fault entry
        // (PFERR_PRIVATE_ACCESS); a scenario may assert a different one.
        let isPrivate = privateKey ?? kvmMemIsPrivate(vm, gfn)
        var retries = 0
        while true {
            switch try kvmTdpMmuPageFault(vm, gfn: gfn, isPrivate: isPrivate) {
            case .some(let outcome): return outcome
            case .none:
                // Only KVM_REQ_VM_DEAD stops the RET_PF_RETRY loops (tdx-semantics §2.3).
                if vm.bugged || vm.dead { return .error(.EIO) }
                retries += 1
                if retries >= retryBound {
                    throw ModelAbort(.invariant(.K6, "fault on gfn \(gfn) retried \(retries) times: mmu_invalidate_in_progress=\(vm.inval.inProgress) range=[\(vm.inval.rangeStart), \(vm.inval.rangeEnd)) never ends"))
                }
                spinPoint("RET_PF_RETRY")      // the vCPU re-enters the guest and faults again
            }
        }
    }

    /// One attempt; nil = RET_PF_RETRY. Runs inside the kvm->srcu read section vcpu_run holds
    /// around guest exits (dropped across guest entry, i.e. between attempts).
    func kvmTdpMmuPageFault(_ vm: VM, gfn: Int, isPrivate: Bool) throws(ModelAbort) -> FaultOutcome? {
        try lock(vm.srcu, .shared)
        defer { unlock(vm.srcu) }
        return try kvmTdpMmuPageFaultLocked(vm, gfn: gfn, isPrivate: isPrivate)
    }

    func kvmTdpMmuPageFaultLocked(_ vm: VM, gfn: Int, isPrivate: Bool) throws(ModelAbort) -> FaultOutcome? {
        let beforeSeq = v.has(.privateCheckBeforeSeq)
        if beforeSeq && isPrivate != kvmMemIsPrivate(vm, gfn) {
            return .exit(.memoryFault)          // gmem B25: check before the snapshot
        }
        // Preemptible before the snapshot: with the check above (B25), a conversion here goes
        // unnoticed, since the snapshot below already includes its seq bump.
        yieldPoint("kvm_mmu_faultin_pfn")
        // kvm_mmu_faultin_pfn(): snapshot mmu_invalidate_seq, then (since Sean's 2024-02-28 fix)
        // check the private/shared attribute.
        let mmuSeq = vm.inval.seq
        yieldPoint("kvm_mmu_faultin_pfn")
        if !beforeSeq && isPrivate != kvmMemIsPrivate(vm, gfn) {
            return .exit(.memoryFault)          // kvm_mmu_prepare_memory_fault_exit(), -EFAULT
        }
        guard let slot = vm.slot(forGfn: gfn) else {
            // kvm_handle_noslot_fault(): private -> memory fault exit; shared -> emulated MMIO.
            return isPrivate ? .exit(.memoryFault) : .exit(.mmio)
        }
        // kvm_mmu_faultin_pfn(): a slot being deleted -> RET_PF_RETRY, so no SPTE for it is
        // created after kvm_arch_flush_shadow_memslot().
        if slot.invalid { return nil }
        // __kvm_mmu_faultin_pfn(): private faults and gmem-only slots go to guest_memfd.
        let folio: Folio
        let page: Int
        let fromGmem = isPrivate || slot.gmemOnly
        if fromGmem {
            switch try kvmGmemGetPfn(vm, slot, gfn: gfn) {
            case .failure: return .exit(.memoryFault)
            case .success(let f):
                folio = f
                page = slot.index(of: gfn) - f.index
            }
        } else {
            // The separate shared backing (userspace_addr): GUP faults in an anonymous page.
            let off = gfn - slot.baseGfn
            // Core mm's fault on the anonymous backing installs its page under the PTL: `sync`.
            guard let f = atomically({ () -> Folio? in
                if let f = slot.sharedBacking[off] {
                    folioGet(f, .caller)
                    return f
                }
                if inject.take(alloc: .folio) { return nil }
                let f = pages.alloc(order: 0, inode: -1, index: off)
                f.zeroAndMarkUptodate()
                folioGet(f, .anonOwner)
                slot.sharedBacking[off] = f
                folioGet(f, .caller)
                return f
            }) else { return .error(.ENOMEM) }
            folio = f
            page = 0
        }
        // kvm_tdp_mmu_map() under mmu_lock (read); is_page_fault_stale() first.
        try lock(vm.mmuLock, .shared)
        if vm.inval.retry(seq: mmuSeq, gfn: gfn) {
            unlock(vm.mmuLock)
            folioPut(folio, .caller)            // kvm_release_faultin_page()
            return nil                          // RET_PF_RETRY
        }
        // kvm_mmu_hugepage_adjust(): the leaf level, at most the folio order (I9, I27).
        let level = maxMappingLevel(vm, slot: slot, gfn: gfn, folio: folio, fromGmem: fromGmem, isPrivate: isPrivate)
        var outcome: FaultOutcome? = .mapped
        if level > 0 {
            let base = gfn & ~(PageLevel.pages(level) - 1)
            let spte = SPTE(isPrivate: isPrivate, level: level, ref: FrameRef(folio, page: page - (gfn - base)),
                            slotID: slot.id, gmemBacked: fromGmem)
            if vm.leaf(covering: gfn) == nil, let e = try tdpMmuInstallHugeLeaf(vm, base: base, spte: spte) { outcome = .error(e) }
            unlock(vm.mmuLock)
            folioPut(folio, .caller)
            return outcome
        }
        let spte = SPTE(isPrivate: isPrivate, level: level, ref: FrameRef(folio, page: page),
                        slotID: slot.id, gmemBacked: fromGmem)
        if vm.leaf(covering: gfn) == nil {
            if isPrivate {
                // Any error installing the private leaf collapses to RET_PF_RETRY (§2.3).
                if try vm.ops.setPrivateSpte(self, vm, gfn: gfn, spte: spte) != nil { outcome = nil }
            } else {
                atomically {                    // tdp_mmu_set_spte_atomic(): cmpxchg from !present
                    if vm.leaf(covering: gfn) == nil { vm.spte[gfn] = spte }
                }
            }
        }
        unlock(vm.mmuLock)
        folioPut(folio, .caller)                // KVM holds no reference for the mapping
        return outcome
    }

    /// KVM_PRE_FAULT_MEMORY: maps without accessing; returns 0 if any progress was made.
    public func vcpuPrefault(vcpu vid: Int, gfn: Int, count: Int) throws(ModelAbort) -> SysResult {
        guard let vcpu = vcpu(vid) else { return .skipped }
        let vm = vcpu.vm
        // kvm_arch_vcpu_pre_fault_memory(): TDs only after finalization (pre_fault_allowed).
        if let kt = vm.tdx, !kt.preFaultAllowed { return .err(.EOPNOTSUPP) }
        if count <= 0 || gfn < 0 { return .err(.EINVAL) }
        if vm.bugged || vm.dead { return .err(.EIO) }
        var done = 0
        for g in gfn..<(gfn + count) {
            if inject.takeSignal() { return done > 0 ? .ok : .err(.EINTR) }
            // kvm_tdp_map_page(): RET_PF_EMULATE (no slot) -> -ENOENT; memory fault -> -EFAULT.
            let r: Errno?
            switch try kvmTdpPageFault(vm, gfn: g, privateKey: nil) {
            case .mapped: r = nil
            case .exit(.mmio): r = .ENOENT
            case .exit: r = .EFAULT
            case .error(let e): r = e
            }
            if let r { return done > 0 ? .ok : .err(r) }
            done += 1
        }
        return .ok
    }

    /// KVM_HC_MAP_GPA_RANGE exit: the VMM converts the range (per-VM attributes or the
    /// guest_memfd ioctl, per profile) and resumes the guest with the result.
    public func guestMapGpa(vcpu vid: Int, gfn: Int, count: Int, toPrivate: Bool) throws(ModelAbort) -> SysResult {
        guard let vcpu = vcpu(vid) else { return .skipped }
        let vm = vcpu.vm
        if vm.tdx != nil, let e = tdxVcpuPreRun(vcpu) { return .err(e) }   // TDG.VP.VMCALL<MapGPA>
        if !profile.perGmemAttributes {
            return try vmSetMemoryAttributes(vm: vm.id, gfn: gfn, count: count, toPrivate: toPrivate)
        }
        if count <= 0 { return .err(.EINVAL) }
        var g = gfn
        while g < gfn + count {
            guard let slot = vm.slot(forGfn: g), let f = slot.file else { g += 1; continue }
            let n = min(gfn + count, slot.baseGfn + slot.npages) - g
            let r = try gmemSetAttributes(gmem: f.id, page: slot.index(of: g), count: n, toPrivate: toPrivate)
            if r != .ok { return r }
            g += n
        }
        return .ok
    }
}
