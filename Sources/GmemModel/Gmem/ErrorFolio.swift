/// memory_failure() on a guest_memfd page (mm/memory-failure.c -> kvm_gmem_error_folio).
extension Model {
    public func gmemMemoryFailure(gmem id: Int, page: Int) throws(ModelAbort) -> SysResult {
        guard let f = file(id), page >= 0, page < f.inode.sizePages else { return .skipped }
        let inode = f.inode
        guard let folio = inode.filemap[page] else { return .err(.ENOENT) }
        // memory_failure(): TestSetPageHWPoison, get_hwpoison_page (+1), folio_lock.
        folio.hwpoison = true
        folioGet(folio, .caller)
        try lock(folio.lock)
        // me_pagecache_clean(): "Folio has been torn down in the meantime" (a punch or the last
        // close truncated it while we waited for the lock) -> MF_FAILED, -EBUSY from action_result().
        if !folio.inFilemap {
            unlock(folio.lock)
            folioPut(folio, .caller)
            return .err(.EBUSY)
        }
        // hwpoison_user_mappings(): try_to_unmap() every host mapping of the page.
        unmapMappingRange(inode, folio.index, folio.index + folio.nrPages)
        // truncate_error_folio() -> a_ops->error_remove_folio == kvm_gmem_error_folio(), folio locked.
        let (attrsBefore, stores) = attrsSnapshot(inode)
        try lock(inode.invalidateLock, .shared)
        let start = folio.index, end = folio.index + folio.nrPages
        try gmemInvalidateBegin(inode, start, end, filter: invalidateFilter(inode, start, end))
        // Do not truncate: what to do is userspace's decision (MF_DELAYED).
        try gmemInvalidateEnd(inode, start, end)
        unlock(inode.invalidateLock)
        // Checked with the folio still locked: a punch or close may truncate it once it is not.
        if !folio.inFilemap { report(.invariant(.G14, "memory failure truncated gmem\(inode.id) index \(page)")) }
        unlock(folio.lock)
        folioPut(folio, .caller)
        if attrsChangedWithoutStore(inode, attrsBefore, stores) { report(.invariant(.G12, "memory failure changed attributes")) }
        return .ok
    }
}
