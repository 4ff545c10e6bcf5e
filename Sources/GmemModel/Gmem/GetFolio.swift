/// Folio lookup/allocation and kvm_gmem_get_pfn (virt/kvm/guest_memfd.c).
extension Model {
    /// kvm_gmem_get_folio() = __filemap_get_folio(FGP_LOCK | FGP_ACCESSED | FGP_CREAT):
    /// returns the folio locked and with a caller reference.
    func kvmGmemGetFolio(_ inode: GmemInode, _ index: Int) throws(ModelAbort) -> Result<Folio, ErrnoBox> {
        while true {                      // __filemap_get_folio(): "repeat"
            if let r = try kvmGmemGetFolioOnce(inode, index) { return r }
        }
    }

    /// One lookup-or-create round; nil = repeat (the folio was truncated while we slept on its
    /// lock, or filemap_add_folio() lost the race with another fault: -EEXIST).
    private func kvmGmemGetFolioOnce(_ inode: GmemInode, _ index: Int) throws(ModelAbort) -> Result<Folio, ErrnoBox>? {
        // filemap_get_entry(): the lookup and folio_try_get under RCU (`sync` in threads mode).
        if let f = atomically({ () -> Folio? in
            guard let f = inode.filemap[index] else { return nil }
            folioGet(f, .caller)          // folio_try_get
            return f
        }) {
            try lock(f.lock)              // folio_lock
            // "Has the page been truncated?": removed while we slept on the lock -> repeat.
            if atomically({ f.inFilemap }) { return .success(f) }
            unlock(f.lock)
            folioPut(f, .caller)
            return nil
        }
        if inode.hugeOrder > 0 {
            // hugetlb allocator: the whole huge range appears at once (split if mixed). The new
            // folio is locked until then, so to other faults allocation + add + split is one step
            // (threads mode: one `sync` section); losing the add to a racing fault (-EEXIST)
            // repeats the lookup like the 4K path.
            let r = atomically { () -> Result<Folio, ErrnoBox>? in
                if let e = kvmGmemAllocHugeFolio(inode, index) { return e == .EEXIST ? nil : .failure(ErrnoBox(e)) }
                let f = inode.filemap[index]!
                folioGet(f, .caller)
                return .success(f)
            }
            guard case .success(let f)? = r else { return r }
            try lock(f.lock)
            if atomically({ f.inFilemap }) { return .success(f) }
            unlock(f.lock)
            folioPut(f, .caller)
            return nil
        }
        if inject.take(alloc: .folio) { return .failure(ErrnoBox(.ENOMEM)) }
        let f = pages.alloc(order: 0, inode: inode.id, index: index)
        folioGet(f, .caller)
        // __folio_set_locked() before filemap_add_folio(): the new folio is invisible until it is
        // added, so this is not a scheduling point; another fault finds it locked and waits.
        try lockFresh(f.lock)
        // filemap_add_folio() under xa_lock: -EEXIST when a racing fault added one first; then
        // __filemap_get_folio() drops ours and looks the index up again.
        let added = atomically { () -> Bool in
            if inode.filemap[index] != nil { return false }
            filemapAdd(inode, f)
            return true
        }
        if !added {
            unlock(f.lock)
            folioPut(f, .caller)
            return nil
        }
        return .success(f)
    }

    /// kvm_gmem_get_attributes() / kvm_gmem_is_private(): per-gmem attribute of an index.
    func gmemIsPrivate(_ inode: GmemInode, _ index: Int) -> Bool {
        if let p = inode.attrs.get(index) { return p }
        // IPC-v8 01/46 WARNs and returns 0 (shared); the agreed fix falls back to the init state.
        report(.warn("kvm_gmem_get_attributes", "no attribute entry for gmem\(inode.id) index \(index)"))
        return v.has(.missingAttrIsShared) ? false : !inode.flags.contains(.initShared)
    }

    /// kvm_mem_is_private(kvm, gfn): per-VM xarray (mainline) or per-gmem tree (IPC-v8).
    /// KVM reads the attributes without invalidate_lock (maple tree / xarray under RCU; the
    /// mmu_invalidate_seq retry makes the answer safe): `sync` in threads mode.
    func kvmMemIsPrivate(_ vm: VM, _ gfn: Int) -> Bool {
        if !profile.perGmemAttributes { return vm.privateGfns.contains(gfn) }
        guard let slot = vm.slot(forGfn: gfn), let f = slot.file, !f.released else { return false }
        return atomically { gmemIsPrivate(f.inode, slot.index(of: gfn)) }
    }

    /// The attributes and their store count as an oracle sees them (RCU read; `sync`).
    func attrsSnapshot(_ inode: GmemInode) -> (attrs: AttrTree, stores: Int) {
        atomically { (inode.attrs, inode.attrStores) }
    }

    /// G12 oracle: attributes differ from `before` although no conversion stored since.
    func attrsChangedWithoutStore(_ inode: GmemInode, _ before: AttrTree, _ stores: Int) -> Bool {
        let now = attrsSnapshot(inode)
        return now.stores == stores && now.attrs != before
    }

    /// kvm_gmem_get_pfn(): returns the folio with a reference the caller must drop.
    func kvmGmemGetPfn(_ vm: VM, _ slot: Memslot, gfn: Int) throws(ModelAbort) -> Result<Folio, ErrnoBox> {
        // CLASS(gmem_get_file): get_file_active(&slot->gmem.file)
        guard let file = slot.file, !file.dying, !file.released else { return .failure(ErrnoBox(.EFAULT)) }
        let inode = file.inode
        let index = slot.index(of: gfn)
        let takesIL = v.has(.getPfnTakesIL)
        if takesIL { try lock(inode.invalidateLock, .shared) }
        defer { if takesIL { unlock(inode.invalidateLock) } }
        // __kvm_gmem_get_pfn()
        if slot.file !== file {
            warnOn(slot.file != nil, "__kvm_gmem_get_pfn", "slot file changed under us")
            return .failure(ErrnoBox(.EFAULT))
        }
        guard let bound = file.binding(at: index), bound === slot else {
            warnOn(file.binding(at: index) != nil, "__kvm_gmem_get_pfn", "index \(index) bound to another slot")
            return .failure(ErrnoBox(.EIO))
        }
        guard index < inode.sizePages else { return .failure(ErrnoBox(.EIO)) }
        let folio: Folio
        switch try kvmGmemGetFolio(inode, index) {
        case .failure(let e): return .failure(e)
        case .success(let f): folio = f
        }
        if folio.hwpoison {
            unlock(folio.lock)
            folioPut(folio, .caller)
            return .failure(ErrnoBox(.EHWPOISON))
        }
        // Zero once per lifetime (IPC-v8 21/46 moved it into __kvm_gmem_get_pfn; same effect here).
        if !folio.uptodate { folio.zeroAndMarkUptodate() }
        // Prepare: ML always; IPC-v8 12/46 only for private indices.
        if !profile.perGmemAttributes || atomically({ gmemIsPrivate(inode, index) }) {   // RCU read
            if let e = vm.ops.gmemPrepare(vm, folio: folio, gfn: gfn) {
                unlock(folio.lock)
                folioPut(folio, .caller)
                return .failure(ErrnoBox(e))
            }
        }
        unlock(folio.lock)
        // G15: success only through a live file and this slot's own binding.
        if slot.file !== file || file.released || file.binding(at: index) !== slot {
            report(.invariant(.G15, "kvm_gmem_get_pfn succeeded for gfn \(gfn) without a live binding"))
        }
        return .success(folio)
    }
}

/// Errno as an Error (Result's failure type).
public struct ErrnoBox: Error, Sendable {
    public let errno: Errno
    init(_ e: Errno) { errno = e }
}
