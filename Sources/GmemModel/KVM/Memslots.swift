/// KVM_SET_USER_MEMORY_REGION2 with KVM_MEM_GUEST_MEMFD (kvm_set_memory_region, kvm_gmem_bind,
/// kvm_gmem_unbind).
extension Model {
    public func slotCreate(vm vmID: Int, slot id: Int, gmem gid: Int, gfn: Int, pages: Int, off: Int) throws(ModelAbort) -> SysResult {
        guard let vm = vm(vmID), vm.fdOpen else { return .skipped }
        try lock(vm.slotsLock)
        defer { unlock(vm.slotsLock) }
        // __kvm_set_memory_region: npages == 0 means delete; gmem slots are immutable.
        if pages <= 0 || gfn < 0 || off < 0 { return .err(.EINVAL) }
        if vm.slots[id] != nil { return .err(.EINVAL) }
        for s in vm.slots.values where gfn < s.baseGfn + s.npages && s.baseGfn < gfn + pages {
            return .err(.EEXIST)
        }
        guard let file = file(gid), file.fdOpen else { return .err(.EBADF) }
        let r = try kvmGmemBind(vm, file: file, slotID: id, gfn: gfn, pages: pages, off: off)
        if case .ok = r {} else { return r }
        return .ok
    }

    /// kvm_gmem_bind()
    func kvmGmemBind(_ vm: VM, file: GmemFile, slotID: Int, gfn: Int, pages: Int, off: Int) throws(ModelAbort) -> SysResult {
        let inode = file.inode
        // gmem fd of another VM, or range past i_size -> -EINVAL
        if file.vm !== vm { return .err(.EINVAL) }
        if off + pages > inode.sizePages { return .err(.EINVAL) }
        try lock(inode.invalidateLock)
        defer { unlock(inode.invalidateLock) }
        if file.bindings.contains(where: { $0.start < off + pages && $0.end > off }) { return .err(.EINVAL) }
        let slot = Memslot(id: slotID, vmID: vm.id, baseGfn: gfn, npages: pages, file: file, pgoff: off,
                           gmemOnly: inode.flags.contains(.mmap))
        harnessLocked { allSlots.append(slot) }
        file.bindings.append((off, off + pages, slot))
        vm.slots[slotID] = slot
        return .ok
    }

    public func slotDelete(vm vmID: Int, slot id: Int) throws(ModelAbort) -> SysResult {
        guard let vm = vm(vmID), vm.fdOpen else { return .skipped }
        try lock(vm.slotsLock)
        defer { unlock(vm.slotsLock) }
        guard let slot = vm.slots[id] else { return .err(.EINVAL) }
        // kvm_set_memslot(DELETE) -> kvm_invalidate_memslot(): publish the slot as
        // KVM_MEMSLOT_INVALID and wait for SRCU readers, so every fault that saw the valid slot
        // has installed its SPTE before the flush below, and later faults retry.
        slot.invalid = true
        try synchronizeSrcu(vm)
        // kvm_arch_flush_shadow_memslot()
        try lock(vm.mmuLock)
        try zapLeafs(vm, slotID: slot.id, start: slot.baseGfn, end: slot.baseGfn + slot.npages, filter: .both)
        unlock(vm.mmuLock)
        // kvm_delete_memslot() -> kvm_swap_active_memslots(): unpublish, wait for readers again.
        vm.slots[slot.id] = nil
        try synchronizeSrcu(vm)
        try kvmFreeMemslot(vm, slot)
        return .ok
    }

    /// synchronize_srcu(&kvm->srcu): waits for the readers that are inside a read section.
    func synchronizeSrcu(_ vm: VM) throws(ModelAbort) {
        try lock(vm.srcu)
        unlock(vm.srcu)
    }

    /// kvm_free_memslot() -> kvm_gmem_unbind(), then the slot is freed.
    func kvmFreeMemslot(_ vm: VM, _ slot: Memslot) throws(ModelAbort) {
        try kvmGmemUnbind(slot)
        for (_, f) in slot.sharedBacking { folioPut(f, .anonOwner) }
        slot.sharedBacking.removeAll()
        vm.slots[slot.id] = nil
        slot.deleted = true
        slot.raw.deallocate()
    }

    /// kvm_gmem_unbind() (with ae431059e75d: bindings are removed even when the file is dying).
    func kvmGmemUnbind(_ slot: Memslot) throws(ModelAbort) {
        // Nothing to do if the file was already closed: release nulled slot->gmem.file.
        guard let f = slot.file else { return }
        // CLASS(gmem_get_file): get_file_active() fails for a dying file.
        if f.dying || f.released {
            if v.has(.unbindSkipsDyingFile) { return }   // gmem B13: the pre-fix behaviour
            gmemUnbindLocked(slot, f)
            return
        }
        try lock(f.inode.invalidateLock)
        gmemUnbindLocked(slot, f)
        unlock(f.inode.invalidateLock)
    }

    /// __kvm_gmem_unbind()
    func gmemUnbindLocked(_ slot: Memslot, _ f: GmemFile) {
        f.bindings.removeAll { $0.slot === slot }
        slot.file = nil
    }
}
