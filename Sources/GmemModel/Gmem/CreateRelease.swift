/// KVM_CREATE_GUEST_MEMFD and close() -> kvm_gmem_release() (virt/kvm/guest_memfd.c).
extension Model {
    /// kvm_gmem_get_supported_flags(): MMAP always; INIT_SHARED if
    /// gmem_in_place_conversion || !kvm_arch_has_private_mem(kvm) (IPC-v8 25/46).
    func gmemSupportedFlags(_ vm: VM) -> GmemFlags {
        var f: GmemFlags = [.mmap]
        if profile.inPlaceConversion || !vm.hasPrivateMem { f.insert(.initShared) }
        return f
    }

    /// kvm_gmem_create()
    public func gmemCreate(gmem id: Int, vm vmID: Int, pages: Int, flags: GmemFlags, huge: HugeSize) -> SysResult {
        guard id >= 0 && id < Model.maxHandles, files[id] == nil, let vm = vm(vmID), vm.fdOpen else { return .skipped }
        if !flags.isSubset(of: gmemSupportedFlags(vm)) { return .err(.EINVAL) }
        if pages <= 0 { return .err(.EINVAL) }
        // GUEST_MEMFD_FLAG_HUGETLB (1G-RFCv2): only the hp-v3 profile has it; the size must be a
        // whole number of hugetlb pages [I: the hugetlb allocator works in whole pages].
        if huge != .none {
            if !profile.hugePages { return .err(.EINVAL) }
            let nr = 1 << huge.order
            if pages % nr != 0 { return .err(.EINVAL) }
            // Model limit, not a kernel errno.
            if pages / nr > (huge == .h2m ? Model.maxHugePages2M : Model.maxHugePages1G) { return .skipped }
        }
        // IPC-v8 kvm_gmem_init_inode(): one maple entry for [0, size) stored under IL.w; a failed
        // store fails the create (the research does not pin the errno; ENOMEM is what
        // mtree_store_range returns).
        if profile.perGmemAttributes && inject.take(alloc: .maple) { return .err(.ENOMEM) }
        let inode = GmemInode(id: inodes.count, sizePages: pages, flags: flags, huge: huge, sync: sync)
        inodes.append(inode)
        let file = GmemFile(id: id, inode: inode, vm: vm)
        inode.files.append(file)
        files[id] = file
        vm.gmemRefs += 1   // kvm_get_kvm(): the file pins KVM
        return .ok
    }

    /// close(gmem fd): fput; the file is released when its last reference (fd or VMA) drops.
    public func gmemClose(gmem id: Int) throws(ModelAbort) -> SysResult {
        guard let f = file(id), f.fdOpen else { return .skipped }
        f.fdOpen = false
        try fput(f)
        return .ok
    }

    /// fput(): the last reference makes the file dying (get_file_active fails from now on),
    /// then __fput -> kvm_gmem_release runs as a separate step.
    func fput(_ f: GmemFile) throws(ModelAbort) {
        f.fileRefs -= 1
        guard f.fileRefs == 0 else { return }
        f.dying = true
        yieldPoint()
        try kvmGmemRelease(f)
    }

    /// kvm_gmem_release()
    func kvmGmemRelease(_ f: GmemFile) throws(ModelAbort) {
        let vm = f.vm
        let inode = f.inode
        // A conversion on another logical thread may store attributes in between (attrStores).
        let (attrsBefore, stores) = attrsSnapshot(inode)
        try lock(vm.slotsLock)
        try lock(inode.invalidateLock)
        // WRITE_ONCE(slot->gmem.file, NULL) for every binding.
        for b in f.bindings {
            touchSlot(b.slot)
            b.slot.file = nil
        }
        // Zap all SPTEs pointed at by this file: [0, i_size) (IPC-v8 19/46).
        let filter = invalidateFilter(inode, 0, inode.sizePages)
        try gmemInvalidateBeginFile(f, 0, inode.sizePages, filter: filter)
        try gmemInvalidateEndFile(f, 0, inode.sizePages)
        inode.files.removeAll { $0 === f }
        unlock(inode.invalidateLock)
        unlock(vm.slotsLock)
        f.bindings.removeAll()   // xa_destroy(&f->bindings)
        f.released = true
        if attrsChangedWithoutStore(inode, attrsBefore, stores) { report(.invariant(.G12, "kvm_gmem_release changed attributes of gmem\(inode.id)")) }
        vm.gmemRefs -= 1
        try kvmPutKvm(vm)        // kvm_put_kvm()
        if inode.files.isEmpty { try gmemEvictInode(inode) }
    }

    /// Inode eviction (last file gone): truncate_inode_pages_final().
    func gmemEvictInode(_ inode: GmemInode) throws(ModelAbort) {
        inode.evicted = true
        for i in 0..<inode.sizePages {
            guard let folio = inode.filemap[i], folio.index == i else { continue }
            try lock(folio.lock)
            filemapRemove(inode, folio)
            unlock(folio.lock)
        }
    }

    /// __kvm_gmem_invalidate_begin() for one file (release uses the per-file form).
    func gmemInvalidateBeginFile(_ f: GmemFile, _ start: Int, _ end: Int, filter: AttrFilter) throws(ModelAbort) {
        var found = false
        for b in f.bindings where b.start < end && b.end > start {
            let slot = b.slot
            if !found {
                found = true
                try lock(f.vm.mmuLock)
                mmuInvalidateBegin(f.vm)
            }
            touchSlot(slot)
            let gStart = slot.baseGfn + max(slot.pgoff, start) - slot.pgoff
            let gEnd = slot.baseGfn + min(slot.pgoff + slot.npages, end) - slot.pgoff
            try mmuUnmapGfnRange(f.vm, slot: slot, start: gStart, end: gEnd, filter: filter)
        }
        if found { unlock(f.vm.mmuLock) }
    }

    /// __kvm_gmem_invalidate_end() for one file.
    func gmemInvalidateEndFile(_ f: GmemFile, _ start: Int, _ end: Int) throws(ModelAbort) {
        guard f.bindings.contains(where: { $0.start < end && $0.end > start }) else { return }
        try lock(f.vm.mmuLock)
        mmuInvalidateEnd(f.vm)
        unlock(f.vm.mmuLock)
    }
}
