/// Huge stage-2 leaves on the direct root (arch/x86/kvm/mmu/tdp_mmu.c): lookup, install with
/// promotion, split (tdp_mmu_split_huge_page), and the HP v3 split of leaves crossing a range
/// (kvm_split_cross_boundary_leafs, kvm_gmem_split_private).
extension VM {
    /// The leaf mapping `gfn` at any level, with its first gfn (the iterator's iter->gfn).
    /// Threads mode: one walk under `sync` (the SPTE atomics, see `spte`).
    @inline(__always) public func leaf(covering gfn: Int) -> (base: Int, spte: SPTE)? {
        sync.lock()
        defer { sync.unlock() }
        if let s = spte[gfn] { return (gfn, s) }
        if hugeSpte.isEmpty { return nil }
        for level in 1...2 {
            let base = gfn & ~(PageLevel.pages(level) - 1)
            if let s = hugeSpte[base], s.level == level { return (base, s) }
        }
        return nil
    }

    /// Store a leaf at its first gfn (the table its level lives in).
    func setLeaf(_ base: Int, _ s: SPTE) {
        if s.level == 0 { spte[base] = s } else { hugeSpte[base] = s }
    }

    func clearLeaf(_ base: Int, level: Int) {
        if level == 0 { spte[base] = nil } else { hugeSpte[base] = nil }
    }

    /// Huge leaves overlapping [start, end) (gfns), in gfn order (deterministic iteration).
    func hugeLeaves(overlapping start: Int, _ end: Int) -> [(base: Int, spte: SPTE)] {
        if hugeSpte.isEmpty { return [] }
        return hugeSpte.filter { $0.key < end && $0.key + PageLevel.pages($0.value.level) > start }
            .sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}

extension SPTE {
    /// The frame backing `gfn` inside this leaf (a huge leaf maps physically contiguous pages).
    @inline(__always) func frame(_ gfn: Int, base: Int) -> UnsafeMutableRawPointer {
        ref.frame + (gfn - base) * pagePayload
    }
}

extension Model {
    /// tdp_mmu_map_handle_target_level() for a huge goal level: a present non-leaf at that level
    /// (4K leaves from before a merge) is replaced by the huge leaf; the children are removed
    /// (handle_removed_pt). Direct roots only: the mirror root forbids promotion (tdx B19).
    func tdpMmuInstallHugeLeaf(_ vm: VM, base: Int, spte: SPTE) throws(ModelAbort) -> Errno? {
        let pages = PageLevel.pages(spte.level)
        for g in base..<(base + pages) {
            guard let child = vm.spte[g] else { continue }
            if child.isPrivate { try vm.ops.removePrivateSpte(self, vm, gfn: g, spte: child) } else { vm.spte[g] = nil }
        }
        if spte.isPrivate { return try vm.ops.setPrivateSpte(self, vm, gfn: base, spte: spte) }
        vm.setLeaf(base, spte)
        return nil
    }

    /// tdp_mmu_split_huge_pages_root(..., target_level = 4K, only_cross_boundary): split every
    /// huge leaf of `slotID` overlapping [start, end) (or only those crossing its boundary) down to
    /// 4K. Each split needs a page-table page (tdp_mmu_alloc_sp_for_split): -ENOMEM when the
    /// `sept_split` allocation site is failed. Leaves split before the failure stay split (the
    /// kernel flushes what was done). Caller holds mmu_lock for write.
    func tdpMmuSplitHugePages(_ vm: VM, slotID: Int, start: Int, end: Int, onlyCrossBoundary: Bool) -> Errno? {
        // HP v3 10/24 iterates the roots kvm_gfn_range_filter_to_root_types() selects; for a VM
        // without a mirrored TDP that is the direct root, which holds every leaf modelled here.
        var work = vm.hugeLeaves(overlapping: start, end).filter { $0.spte.slotID == slotID }
        while let (base, s) = work.first {
            work.removeFirst()
            let pages = PageLevel.pages(s.level)
            // iter_cross_boundary(): a leaf entirely inside [start, end) is zapped whole later.
            if onlyCrossBoundary && base >= start && base + pages <= end { continue }
            if inject.take(alloc: .septSplit) { return .ENOMEM }   // tdp_mmu_alloc_sp_for_split()
            // tdp_mmu_split_huge_page(): 512 children of the next lower level, same frames
            // (make_huge_page_split_spte), linked in place of the huge leaf.
            vm.hugeSpte[base] = nil
            let childPages = PageLevel.pages(s.level - 1)
            for i in 0..<512 {
                let ref = FrameRef(s.ref.folio, page: s.ref.page + i * childPages)
                let child = SPTE(isPrivate: s.isPrivate, level: s.level - 1, ref: ref, slotID: s.slotID, gmemBacked: s.gmemBacked)
                vm.setLeaf(base + i * childPages, child)
                // The pre-order walk visits the new children: split those still huge and in scope.
                if child.level > 0 && base + i * childPages < end && base + (i + 1) * childPages > start {
                    work.append((base + i * childPages, child))
                }
            }
        }
        return nil
    }

    /// kvm_gmem_invalidate_begin() as HP v3 16/24 splits it: begin + range_add for every binding
    /// overlapping [start, end), without zapping (the zap comes after kvm_gmem_split_private()).
    func gmemInvalidateStart(_ inode: GmemInode, _ start: Int, _ end: Int) throws(ModelAbort) {
        for f in inode.files {
            var found = false
            let vm = f.vm
            for b in f.bindings where b.start < end && b.end > start {
                if !found {
                    found = true
                    try lock(vm.mmuLock)
                    mmuInvalidateBegin(vm)
                }
                touchSlot(b.slot)
                let (gs, ge) = gfnRange(b.slot, start, end)
                mmuInvalidateRangeAdd(vm, gs, ge)
            }
            if found { unlock(vm.mmuLock) }
        }
    }

    /// kvm_gmem_split_private() (HP v3 16/24): split the leaves crossing [start, end) (or, with
    /// `whole`, every huge leaf in range) of every binding, under write mmu_lock. Errors
    /// propagate; the caller must still end the invalidation.
    func gmemSplitPrivate(_ inode: GmemInode, _ start: Int, _ end: Int, whole: Bool) throws(ModelAbort) -> Errno? {
        for f in inode.files {
            let vm = f.vm
            if vm.hugeSpte.isEmpty { continue }
            let bs = f.bindings.filter { $0.start < end && $0.end > start }
            if bs.isEmpty { continue }
            try lock(vm.mmuLock)
            for b in bs {
                let (gs, ge) = gfnRange(b.slot, start, end)
                if let e = tdpMmuSplitHugePages(vm, slotID: b.slot.id, start: gs, end: ge, onlyCrossBoundary: !whole) {
                    unlock(vm.mmuLock)
                    return e
                }
            }
            unlock(vm.mmuLock)
        }
        return nil
    }

    /// kvm_gmem_zap() (HP v3 16/24): zap [start, end) of every binding (the range was already
    /// added by gmemInvalidateStart).
    func gmemZapRange(_ inode: GmemInode, _ start: Int, _ end: Int, filter: AttrFilter) throws(ModelAbort) {
        for f in inode.files {
            let vm = f.vm
            let bs = f.bindings.filter { $0.start < end && $0.end > start }
            if bs.isEmpty { continue }
            try lock(vm.mmuLock)
            for b in bs {
                let (gs, ge) = gfnRange(b.slot, start, end)
                try zapLeafs(vm, slotID: b.slot.id, start: gs, end: ge, filter: filter)
            }
            unlock(vm.mmuLock)
        }
    }

    /// The gfns of `slot` backing gmem indices [start, end).
    @inline(__always) func gfnRange(_ slot: Memslot, _ start: Int, _ end: Int) -> (Int, Int) {
        (slot.baseGfn + max(slot.pgoff, start) - slot.pgoff, slot.baseGfn + min(slot.pgoff + slot.npages, end) - slot.pgoff)
    }
}
