/// fallocate() on a guest_memfd (kvm_gmem_fallocate, kvm_gmem_allocate, kvm_gmem_punch_hole).
extension Model {
    /// fallocate(KEEP_SIZE): vfs_fallocate rejects len <= 0; past i_size is -EINVAL.
    public func gmemAllocate(gmem id: Int, page: Int, count: Int) throws(ModelAbort) -> SysResult {
        guard let f = file(id) else { return .skipped }
        guard f.fdOpen else { return .err(.EBADF) }
        if page < 0 || count <= 0 { return .err(.EINVAL) }
        let inode = f.inode
        if page + count > inode.sizePages { return .err(.EINVAL) }
        let (attrsBefore, stores) = attrsSnapshot(inode)
        defer {
            if attrsChangedWithoutStore(inode, attrsBefore, stores) { report(.invariant(.G12, "allocation changed attributes")) }
        }
        try lock(inode.invalidateLock, .shared)
        defer { unlock(inode.invalidateLock) }
        var index = page
        while index < page + count {
            if inject.takeSignal() { return .err(.EINTR) }     // signal_pending(current)
            switch try kvmGmemGetFolio(inode, index) {
            case .failure(let e): return .err(e.errno)
            case .success(let folio):
                index = folio.index + folio.nrPages            // folio_next_index
                unlock(folio.lock)
                folioPut(folio, .caller)
            }
            yieldPoint()                                       // cond_resched()
        }
        return .ok
    }

    /// fallocate(PUNCH_HOLE | KEEP_SIZE) -> kvm_gmem_punch_hole(). Always 0 once validated.
    public func gmemPunchHole(gmem id: Int, page: Int, count: Int) throws(ModelAbort) -> SysResult {
        guard let f = file(id) else { return .skipped }
        guard f.fdOpen else { return .err(.EBADF) }
        if page < 0 || count <= 0 { return .err(.EINVAL) }
        let inode = f.inode
        let start = min(page, inode.sizePages), end = min(page + count, inode.sizePages)
        let (attrsBefore, stores) = attrsSnapshot(inode)
        try lock(inode.invalidateLock)
        if inode.hugeOrder > 0 {
            defer { if attrsChangedWithoutStore(inode, attrsBefore, stores) { report(.invariant(.G12, "punch hole changed attributes")) } }
            return try kvmGmemPunchHoleHuge(inode, start, end)
        }
        try gmemInvalidateBegin(inode, start, end, filter: invalidateFilter(inode, start, end))
        try truncateInodePagesRange(inode, start, end)
        try gmemInvalidateEnd(inode, start, end)
        unlock(inode.invalidateLock)
        if attrsChangedWithoutStore(inode, attrsBefore, stores) { report(.invariant(.G12, "punch hole changed attributes")) }
        return .ok
    }

    /// Punch on hugetlb gmem (caller holds IL.w): HP v3 16/24 invalidate begin, split the leaves
    /// crossing the range (kvm_gmem_split_private; -ENOMEM fails the punch before any zap), zap,
    /// then 1G-RFCv2 truncation (whole huge ranges freed, partial ones zeroed), invalidate end.
    func kvmGmemPunchHoleHuge(_ inode: GmemInode, _ start: Int, _ end: Int) throws(ModelAbort) -> SysResult {
        defer { unlock(inode.invalidateLock) }
        guard start < end else { return .ok }
        try gmemInvalidateStart(inode, start, end)
        if let e = try gmemSplitPrivate(inode, start, end, whole: false) {
            // gmem B24: the error path skips kvm_mmu_invalidate_end().
            if !v.has(.splitFailureSkipsInvalidateEnd) { try gmemInvalidateEnd(inode, start, end) }
            return .err(e)
        }
        try gmemZapRange(inode, start, end, filter: invalidateFilter(inode, start, end))
        try kvmGmemTruncateInodeRange(inode, start, end)
        try gmemInvalidateEnd(inode, start, end)
        return .ok
    }

    /// truncate_inode_pages_range(): lock each folio, unmap it from every process
    /// (unmap_mapping_folio), remove it from the page cache (-> free_folio), unlock.
    func truncateInodePagesRange(_ inode: GmemInode, _ start: Int, _ end: Int) throws(ModelAbort) {
        var i = start
        while i < end {
            guard let folio = inode.filemap[i] else { i += 1; continue }
            try lock(folio.lock)
            unmapMappingRange(inode, folio.index, folio.index + folio.nrPages)
            filemapRemove(inode, folio)
            unlock(folio.lock)
            i = folio.index + folio.nrPages
        }
    }

    /// unmap_mapping_pages()/unmap_mapping_range(): zap host PTEs of [start, end) in every process.
    @discardableResult
    func unmapMappingRange(_ inode: GmemInode, _ start: Int, _ end: Int) -> Int {
        // Page tables are under each mm's PTL in the kernel: `sync` in threads mode.
        sync.lock()
        defer { sync.unlock() }
        var n = 0
        for p in procs {
            guard let p, !p.ptes.isEmpty else { continue }
            for i in start..<end {
                let k = Process.key(inode.id, i)
                if let pte = p.ptes.removeValue(forKey: k) {
                    folioPut(pte.folio, .pte)
                    n += 1
                }
            }
        }
        if n > 0, var w = conversion { w.hostUnmaps += n; conversion = w }
        return n
    }
}
