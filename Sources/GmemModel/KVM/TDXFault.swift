/// Running a TD vCPU: guest accesses through the Secure EPT (private GPA) or the shared root
/// (shared-bit GPA), EPT violations (tdx_handle_ept_violation) and TDG.MEM.PAGE.ACCEPT.
extension Model {
    /// tdx_vcpu_pre_run(): the TD must be RUNNABLE and the vCPU initialized; a dead VM -EIO.
    func tdxVcpuPreRun(_ vcpu: VCPU) -> Errno? {
        let vm = vcpu.vm
        if vm.bugged || vm.dead { return .EIO }
        guard let kt = vm.tdx, kt.state == .runnable, vcpu.tdxInitialized, kt.td != nil else { return .EINVAL }
        return nil
    }

    /// TDH.VP.ENTER ... exit around one guest step: the vCPU is associated with the current
    /// epoch while in guest mode. (wait_for_sept_zap only matters while a zap holds mmu_lock.)
    func tdxInGuest<T>(_ vcpu: VCPU, _ td: TdxTD, _ body: () -> T) -> T {
        td.vcpuEpoch[vcpu.id] = td.epoch
        defer { td.vcpuEpoch[vcpu.id] = nil }
        return body()
    }

    /// guest.read / guest.write on a TD. `privateGpa` = shared bit clear.
    func tdxGuestAccess(_ vcpu: VCPU, gfn: Int, write: UInt8?, privateGpa: Bool) throws(ModelAbort) -> SysResult {
        if let e = tdxVcpuPreRun(vcpu) { return .err(e) }
        let vm = vcpu.vm
        // Shared-bit GPAs go through the direct (shared) root like any VM's stage-2.
        if !privateGpa { return try stage2Access(vm, gfn: gfn, write: write, privateKey: false) }
        let kt = vm.tdx!, td = kt.td!
        var rounds = 0
        while true {
            switch tdxInGuest(vcpu, td, { tdGuestAccess(td, gfn: gfn) }) {
            case .mapped(let ref):
                // The CPU uses the HPA in the S-EPT entry.
                if let w = write { ref.store(w); return .ok }
                return .value(ref.load())
            case .pendingViolation:
                // tdx_is_sept_violation_unexpected_pending(): "Guest access before accepting"
                // -> kvm_vm_dead(), KVM_RUN -EIO (B29). A guest bug, not a kernel WARN.
                vm.dead = true
                return .err(.EIO)
            case .eptViolation:
                if let r = try tdxHandleEptViolation(vm, gfn: gfn) { return r }
            }
            rounds += 1
            if rounds > 2 { return .err(.EFAULT) }
        }
    }

    /// tdx_handle_ept_violation() for a private GPA: kvm_mmu_page_fault(PFERR_PRIVATE_ACCESS)
    /// retried locally on RET_PF_RETRY until mapped, VM dead or an exit. nil = re-enter guest.
    /// The whole local retry loop stays inside vcpu_run's kvm->srcu read section.
    func tdxHandleEptViolation(_ vm: VM, gfn: Int) throws(ModelAbort) -> SysResult? {
        try lock(vm.srcu, .shared)
        defer { unlock(vm.srcu) }
        var retries = 0
        while true {
            switch try kvmTdpMmuPageFaultLocked(vm, gfn: gfn, isPrivate: true) {
            case .some(.mapped): return nil
            case .some(.exit(let x)): return .exit(x)
            case .some(.error(let e)): return .err(e)
            case .none: break
            }
            // kvm_check_request(KVM_REQ_VM_DEAD) ends the local retry loop.
            if vm.bugged || vm.dead { return .err(.EIO) }
            // A slot being deleted ends it too (2026 kvm-x86 tdx_handle_ept_violation(); without
            // this the vCPU spins holding SRCU and the deletion never completes: tdx B30, not
            // modelled as a variant).
            if let s = vm.slot(forGfn: gfn), s.invalid { return nil }
            if inject.takeSignal() { return .err(.EINTR) }
            retries += 1
            if retries >= retryBound {
                throw ModelAbort(.invariant(.K6, "TD EPT violation on gfn \(gfn) retried \(retries) times"))
            }
            spinPoint("tdx_handle_ept_violation retry")    // cond_resched() in a retry loop
        }
    }

    /// guest.accept: TDG.MEM.PAGE.ACCEPT; a FREE entry first faults to KVM (AUG -> PENDING).
    public func guestAccept(vcpu vid: Int, gfn: Int, level: Int) throws(ModelAbort) -> SysResult {
        guard let vcpu = vcpu(vid) else { return .skipped }
        guard vcpu.vm.tdx != nil else { return .err(.EINVAL) }   // no TDCALLs outside a TD
        if let e = tdxVcpuPreRun(vcpu) { return .err(e) }
        let vm = vcpu.vm, td = vm.tdx!.td!
        var rounds = 0
        while true {
            switch tdxInGuest(vcpu, td, { tdgMemPageAccept(td, gfn: gfn, level: level) }) {
            case .accepted, .alreadyAccepted: return .ok
            case .sizeMismatch:
                return .err(.EINVAL)      // TDX_PAGE_SIZE_MISMATCH to the guest
            case .eptViolation:
                if let r = try tdxHandleEptViolation(vm, gfn: gfn) { return r }
            }
            rounds += 1
            if rounds > 2 { return .err(.EFAULT) }
        }
    }
}
