/// TD lifecycle ioctls (arch/x86/kvm/vmx/tdx.c: tdx_td_init, tdx_vcpu_init, tdx_td_finalize).
extension Model {
    /// KVM_TDX_INIT_VM -> tdx_td_init(): HKID, TDR/TDCS, TDH.MNG.* -> INITIALIZED.
    public func tdxInitVM(vm id: Int) throws(ModelAbort) -> SysResult {
        guard let vm = vm(id), vm.fdOpen else { return .skipped }
        guard let kt = vm.tdx else { return .err(.ENOTTY) }      // vt_mem_enc_ioctl(): !is_td()
        if vm.bugged || vm.dead { return .err(.EIO) }
        // 6.19 tdx_vm_state_guard: kvm->lock, every vcpu->mutex, slots_lock.
        try lock(vm.slotsLock)
        defer { unlock(vm.slotsLock) }
        if kt.state != .uninitialized { return .err(.EINVAL) }
        kt.td = tdhMngInit(vm: vm.id)
        kt.state = .initialized
        return .ok
    }

    /// KVM_TDX_INIT_VCPU -> tdx_vcpu_init(): TDH.VP.CREATE, TDH.VP.ADDCX, then TDH.VP.INIT
    /// (6.19, Rick Edgecombe: under write mmu_lock so it cannot contend with S-EPT zaps).
    public func tdxInitVcpu(vm id: Int, vcpu vid: Int) throws(ModelAbort) -> SysResult {
        guard let vcpu = vcpu(vid) else { return .skipped }
        let vm = vcpu.vm
        guard vm.id == id, let kt = vm.tdx else { return .err(.EINVAL) }
        if vm.bugged || vm.dead { return .err(.EIO) }
        try lock(vm.slotsLock)
        defer { unlock(vm.slotsLock) }
        guard kt.hkidAssigned, kt.state != .runnable, let td = kt.td else { return .err(.EINVAL) }
        if vcpu.tdxInitialized { return .err(.EINVAL) }          // VCPU_TD_STATE_UNINITIALIZED only
        if td.tdvpr[vcpu.id] == nil { tdhVpCreate(td, vcpu: vcpu.id) }
        let underMmuLock = !v.has(.tdxVpInitWithoutMmuLock)
        if underMmuLock { try lock(vm.mmuLock) }
        let st = tdhVpInit(td, vcpu: vcpu.id)
        if underMmuLock { unlock(vm.mmuLock) }
        if tdxBugOn(st, .vpInit, vm, "tdx_td_vcpu_init") { return .err(.EIO) }
        vcpu.tdxInitialized = true
        return .ok
    }

    /// KVM_TDX_FINALIZE_VM -> tdx_td_finalize(): TDH.MR.FINALIZE, RUNNABLE, then (smp_wmb)
    /// pre_fault_allowed.
    public func tdxFinalize(vm id: Int) throws(ModelAbort) -> SysResult {
        guard let vm = vm(id), vm.fdOpen else { return .skipped }
        guard let kt = vm.tdx else { return .err(.ENOTTY) }
        if vm.bugged || vm.dead { return .err(.EIO) }
        try lock(vm.slotsLock)
        defer { unlock(vm.slotsLock) }
        guard kt.hkidAssigned, kt.state != .runnable, let td = kt.td else { return .err(.EINVAL) }
        // <= 6.18: pages premapped but never PAGE.ADDed block finalization.
        if v.has(.tdxPremapPopulate) && kt.nrPremapped != 0 { return .err(.EINVAL) }
        let st = tdhMrFinalize(td)
        if st.isOperandBusy { return .err(.EBUSY) }
        if tdxBugOn(st, .mrFinalize, vm, "tdx_td_finalize") { return .err(.EIO) }
        kt.state = .runnable
        kt.preFaultAllowed = true
        return .ok
    }
}
