/// Host userspace: mmap of the guest_memfd, page faults, fork, GUP, transient refs
/// (mm/, virt/kvm/guest_memfd.c kvm_gmem_mmap / kvm_gmem_fault_user_mapping).
extension Model {
    func procOrCreate(_ id: Int) -> Process? {
        guard id >= 0 && id < Model.maxHandles else { return nil }
        if let p = procs[id] { return p }
        let p = Process(id: id, sync: sync)
        procs[id] = p
        return p
    }

    /// mmap(gmem fd, MAP_SHARED) -> kvm_gmem_mmap()
    public func hostMmap(proc pid: Int, gmem gid: Int) throws(ModelAbort) -> SysResult {
        guard let p = procOrCreate(pid), let f = file(gid) else { return .skipped }
        guard f.fdOpen else { return .err(.EBADF) }
        if !f.inode.flags.contains(.mmap) { return .err(.ENODEV) }
        if p.vmas[gid] != nil { return .ok }
        // ksys_mmap_pgoff(): fget(fd) holds the file for the syscall, so a concurrent close()
        // cannot drop its last reference while the VMA is being set up.
        f.fileRefs += 1
        try lock(p.mmapLock)
        p.vmas[gid] = f
        f.fileRefs += 1          // vma->vm_file
        unlock(p.mmapLock)
        try fput(f)              // fput(file) at the end of the syscall
        return .ok
    }

    /// munmap(): zap the PTEs, drop the VMA and its file reference (may release the file).
    public func hostMunmap(proc pid: Int, gmem gid: Int) throws(ModelAbort) -> SysResult {
        guard let p = proc(pid) else { return .skipped }
        guard let f = p.vmas[gid] else { return .ok }
        try lock(p.mmapLock)
        for (k, pte) in p.ptes where k >> 24 == f.inode.id {
            p.ptes[k] = nil
            folioPut(pte.folio, .pte)
        }
        p.vmas[gid] = nil
        unlock(p.mmapLock)
        try fput(f)
        return .ok
    }

    /// fork(): the child gets the VMAs (file refs); shared file PTEs are not copied
    /// (copy_page_range skips them; the child refaults).
    public func hostFork(proc pid: Int, child cid: Int) throws(ModelAbort) -> SysResult {
        guard let p = proc(pid), cid >= 0, cid < Model.maxHandles, procs[cid] == nil else { return .skipped }
        try lock(p.mmapLock)
        let c = Process(id: cid, sync: sync)
        for (gid, f) in p.vmas {
            c.vmas[gid] = f
            f.fileRefs += 1
        }
        procs[cid] = c
        unlock(p.mmapLock)
        return .ok
    }

    /// A host load/store through the mapping; faults in the page if no PTE.
    public func hostAccess(proc pid: Int, gmem gid: Int, page: Int, write: UInt8?) throws(ModelAbort) -> SysResult {
        guard let p = proc(pid) else { return .skipped }
        guard let f = p.vmas[gid] else { return .sigsegv }
        let inode = f.inode
        let key = Process.key(inode.id, page)
        if p.ptes[key] == nil {
            try lock(p.mmapLock, .shared)
            // do_user_addr_fault(): the VMA is looked up under mmap_lock; a munmap that ran
            // while this thread waited for the lock leaves no VMA: SIGSEGV, no PTE.
            guard p.vmas[gid] === f else {
                unlock(p.mmapLock)
                return .sigsegv
            }
            let r = try handleMmFault(p, f, page)
            unlock(p.mmapLock)
            if let r { return r }
        }
        // The page-table walk, the G3 oracle and the access are one step (`sync` in threads mode:
        // a conversion unmaps under the PTL before it stores attributes).
        return atomically { () -> SysResult in
            guard let pte = p.ptes[key] else { return .sigbus }
            if profile.perGmemAttributes, page < inode.sizePages, inode.attrs.get(page) == true {
                report(.invariant(.G3, "host \(write == nil ? "read" : "write") of private gmem\(inode.id) index \(page) returned data"))
            }
            if let w = write {
                pte.store(w)
                return .ok
            }
            return .value(pte.load())
        }
    }

    /// handle_mm_fault() -> __do_fault() -> kvm_gmem_fault_user_mapping() -> finish_fault().
    /// Returns nil on success (PTE installed), or the signal/errno the access gets.
    func handleMmFault(_ p: Process, _ f: GmemFile, _ pgoff: Int) throws(ModelAbort) -> SysResult? {
        let inode = f.inode
        if pgoff < 0 || pgoff >= inode.sizePages { return .sigbus }
        let takeIL = profile.perGmemAttributes && !v.has(.faultWithoutIL)
        if !profile.perGmemAttributes && !inode.flags.contains(.initShared) { return .sigbus }
        if takeIL { try lock(inode.invalidateLock, .shared) }
        if profile.perGmemAttributes && gmemIsPrivate(inode, pgoff) {
            if takeIL { unlock(inode.invalidateLock) }
            return .sigbus                                   // -EACCES -> VM_FAULT_SIGBUS
        }
        // Preemptible between the shareability check and the page-cache lookup; under IL.r a
        // conversion cannot run here, without it (gmem B20) one can.
        yieldPoint("kvm_gmem_fault_user_mapping")
        let folio: Folio
        switch try kvmGmemGetFolio(inode, pgoff) {
        case .failure(let e):
            if takeIL { unlock(inode.invalidateLock) }
            return e.errno == .ENOMEM ? .err(.ENOMEM) : .sigbus   // vmf_error()
        case .success(let fo): folio = fo
        }
        if takeIL { unlock(inode.invalidateLock) }           // dropped before core mm installs the PTE
        if !folio.uptodate { folio.zeroAndMarkUptodate() }
        // __do_fault(): a hwpoisoned page -> VM_FAULT_HWPOISON.
        if folio.hwpoison {
            unlock(folio.lock)
            folioPut(folio, .caller)
            return .sigbus
        }
        // finish_fault(): the fault's reference becomes the PTE's. A racing fault that already
        // installed the PTE makes this one VM_FAULT_NOPAGE, and do_read_fault() drops its ref.
        atomically {                                         // set_pte_at() under the PTL
            folioPut(folio, .caller)
            let key = Process.key(inode.id, pgoff)
            if p.ptes[key] == nil {
                folioGet(folio, .pte)
                p.ptes[key] = FrameRef(folio, page: pgoff - folio.index)
            }
        }
        unlock(folio.lock)
        return nil
    }

    /// pin_user_pages(FOLL_LONGTERM) through process `pid`'s mapping (IOMMU / gup_test).
    public func hostPin(gmem gid: Int, page: Int, proc pid: Int) throws(ModelAbort) -> SysResult {
        guard let p = proc(pid), let f = p.vmas[gid] else { return .err(.EFAULT) }
        if inject.takeGupEfault() { return .err(.EFAULT) }
        try lock(p.mmapLock, .shared)
        defer { unlock(p.mmapLock) }
        // __get_user_pages(): vma_lookup() under mmap_lock; gone after a racing munmap.
        guard p.vmas[gid] === f else { return .err(.EFAULT) }
        let key = Process.key(f.inode.id, page)
        if p.ptes[key] == nil {
            if try handleMmFault(p, f, page) != nil { return .err(.EFAULT) }   // faultin_page failed
        }
        // try_grab_folio(FOLL_PIN) on what the walk found: atomics (`sync` in threads mode).
        return atomically { () -> SysResult in
            guard let pte = p.ptes[key] else { return .err(.EFAULT) }
            folioGet(pte.folio, .pin, 1)
            pte.folio.refcount += Model.gupPinBias - 1     // GUP_PIN_COUNTING_BIAS for a small folio
            pinned.append((gid, page, pte.folio))
            return .ok
        }
    }

    /// unpin_user_page()
    public func hostUnpin(gmem gid: Int, page: Int) -> SysResult {
        atomically {                                   // atomic refcount (`sync` in threads mode)
            guard let i = pinned.firstIndex(where: { $0.gmem == gid && $0.page == page }) else { return .err(.EINVAL) }
            let folio = pinned.remove(at: i).folio
            folio.refcount -= Model.gupPinBias - 1
            folioPut(folio, .pin, 1)
            return .ok
        }
    }

    /// A transient reference (GUP-fast, speculative pagecache lookup: folio_try_get).
    public func mmRef(gmem gid: Int, page: Int) -> SysResult {
        guard let f = file(gid), page >= 0, page < f.inode.sizePages else { return .skipped }
        return atomically {                            // RCU lookup + folio_try_get (`sync`)
            guard let folio = f.inode.filemap[page] else { return .err(.ENOENT) }
            folioGet(folio, .transient)
            transient.append((gid, page, folio))
            return .ok
        }
    }

    public func mmUnref(gmem gid: Int, page: Int) -> SysResult {
        return atomically {
            guard let i = transient.firstIndex(where: { $0.gmem == gid && $0.page == page }) else { return .err(.EINVAL) }
            folioPut(transient.remove(at: i).folio, .transient)
            return .ok
        }
    }

    /// The folio sits in a per-CPU lru_add batch (folio_add_lru) until drained.
    public func mmLru(gmem gid: Int, page: Int) -> SysResult {
        guard let f = file(gid), page >= 0, page < f.inode.sizePages else { return .skipped }
        return atomically {                            // RCU lookup + folio_try_get (`sync`)
            guard let folio = f.inode.filemap[page] else { return .err(.ENOENT) }
            folioGet(folio, .lru)
            return .ok
        }
    }
}
