/// VM and vCPU lifecycle (virt/kvm/kvm_main.c).
extension Model {
    /// KVM_CREATE_VM
    public func vmCreate(vm id: Int, type: VMType) -> SysResult {
        guard id >= 0 && id < Model.maxHandles, vms[id] == nil else { return .skipped }
        switch type {
        case .sw: vms[id] = VM(id: id, type: .sw, ops: SwProtectedOps(), sync: sync)
        case .tdx:
            // tdx_vm_init(): state UNINITIALIZED, no HKID until KVM_TDX_INIT_VM.
            let vm = VM(id: id, type: .tdx, ops: TdxOps(), sync: sync)
            vm.tdx = KvmTdx(sync: sync)
            vms[id] = vm
        }
        return .ok
    }

    /// KVM_CREATE_VCPU
    public func vcpuCreate(vm id: Int, vcpu vid: Int) -> SysResult {
        guard let vm = vm(id), !vm.destroyed, vm.fdOpen, vid >= 0 && vid < Model.maxHandles else { return .skipped }
        if vcpus[vid] != nil { return .err(.EEXIST) }
        // tdx_vcpu_create(): vCPUs exist only between KVM_TDX_INIT_VM and finalization's end.
        if let kt = vm.tdx, kt.state != .initialized { return .err(.EIO) }
        vcpus[vid] = VCPU(id: vid, vm: vm)
        vm.vcpus.append(vid)
        return .ok
    }

    /// close(vm fd): drops userspace's reference; kvm_destroy_vm runs when the last one goes
    /// (guest_memfd files hold references too: kvm_gmem_create -> kvm_get_kvm).
    public func vmDestroy(vm id: Int) throws(ModelAbort) -> SysResult {
        guard let vm = vm(id), vm.fdOpen else { return .skipped }
        vm.fdOpen = false
        try kvmPutKvm(vm)
        return .ok
    }

    /// kvm_put_kvm(): the last reference destroys the VM.
    /// refcount_dec_and_test(&kvm->users_count): exactly one put sees zero (threads mode: the
    /// check and the claim are one `sync` section).
    func kvmPutKvm(_ vm: VM) throws(ModelAbort) {
        let last: Bool = atomically {
            if vm.fdOpen || vm.gmemRefs > 0 || vm.ioctlsInFlight > 0 || vm.destroyed || vm.destroying { return false }
            vm.destroying = true
            return true
        }
        if last { try kvmDestroyVM(vm) }
    }

    /// A VM ioctl (KVM_CREATE_VCPU, KVM_SET_USER_MEMORY_REGION2, KVM_CREATE_GUEST_MEMFD,
    /// KVM_SET_MEMORY_ATTRIBUTES, KVM_TDX_INIT_VM, KVM_TDX_FINALIZE_VM): fdget() holds the VM
    /// file for the call, so a close racing it destroys the VM when the ioctl returns.
    public func vmIoctl(vm id: Int, _ body: () throws(ModelAbort) -> SysResult) throws(ModelAbort) -> SysResult {
        guard let vm = vm(id) else { return try body() }
        return try holdingVM(vm, body)
    }

    /// A vCPU ioctl (kvm_vcpu_ioctl: KVM_RUN, KVM_TDX_INIT_VCPU, KVM_TDX_INIT_MEM_REGION,
    /// KVM_PRE_FAULT_MEMORY): fdget() holds the vCPU file for the call, and the vCPU file holds
    /// a VM reference (kvm_vm_ioctl_create_vcpu: kvm_get_kvm), so the VM cannot be destroyed
    /// under it. `vm.destroy` models closing the VM fd and the vCPU fds: a destroy racing the
    /// ioctl completes when it returns (the last fput).
    public func vcpuIoctl(vcpu vid: Int, _ body: () throws(ModelAbort) -> SysResult) throws(ModelAbort) -> SysResult {
        guard let vm = vcpu(vid)?.vm else { return try body() }
        return try holdingVM(vm, body)
    }

    func holdingVM(_ vm: VM, _ body: () throws(ModelAbort) -> SysResult) throws(ModelAbort) -> SysResult {
        atomically { vm.ioctlsInFlight += 1 }
        let r: SysResult
        do { r = try body() } catch {
            atomically { vm.ioctlsInFlight -= 1 }
            throw error
        }
        atomically { vm.ioctlsInFlight -= 1 }
        try kvmPutKvm(vm)
        return r
    }

    /// kvm_destroy_vm(): kvm_arch_pre_destroy_vm (TDX: release the HKID), kvm_arch_destroy_vm
    /// (zap everything, free the page tables, vendor vm_destroy), kvm_free_memslots.
    func kvmDestroyVM(_ vm: VM) throws(ModelAbort) {
        try vm.ops.vmPreDestroy(self, vm)
        try lock(vm.mmuLock)
        try zapLeafs(vm, slotID: nil, start: 0, end: Int.max, filter: .both)
        try vm.ops.mmuUninit(self, vm)
        unlock(vm.mmuLock)
        try vm.ops.vmDestroy(self, vm)
        for id in vm.slots.keys.sorted() {
            guard let slot = vm.slots[id] else { continue }
            try kvmFreeMemslot(vm, slot)
        }
        vm.destroyed = true
        for vid in vm.vcpus { vcpus[vid] = nil }
        vms[vm.id] = nil
    }
}
