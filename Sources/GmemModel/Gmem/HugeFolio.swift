/// hugetlb-backed guest_memfd (hp-v3; research gmem-semantics §3, 1G-RFCv2 mechanics): huge
/// folio allocation, split to order 0 when any page of the huge range is shared, merge back when
/// the whole range is private, and the max mapping order reported to KVM.
extension Model {
    /// Huge gmem sizes must be whole hugetlb pages; the model caps how many (a 1G page is 262144
    /// model pages, and splitting it creates 262144 folios).
    static let maxHugePages2M = 8
    static let maxHugePages1G = 1

    // MARK: max mapping order / level

    /// kvm_gmem_mapping_order() (1G-RFCv2) / *max_order of __kvm_gmem_get_pfn(): the folio order
    /// if no page of its huge range is shared, else 0 (research I27).
    func kvmGmemMappingOrder(_ inode: GmemInode, _ index: Int, _ folio: Folio) -> Int {
        if folio.order == 0 { return 0 }
        if profile.perGmemAttributes && inode.attrs.any(folio.index, folio.index + folio.nrPages, private: false) { return 0 }
        return folio.order
    }

    /// The one place that decides how large a stage-2 leaf for `gfn` may be (level 0 = 4K,
    /// 1 = 2M, 2 = 1G): kvm_mmu_max_mapping_level() = min(kvm_max_level_for_order(gmem max_order),
    /// vendor gmem_max_mapping_level, lpage_info: the huge range must lie inside the slot with
    /// gfn and index congruent, KVM's largest huge level). Shared faults on non-gmem slots and
    /// every 4K guest_memfd get 0. The mirror root reuses this with its own vendor cap.
    public func maxMappingLevel(_ vm: VM, slot: Memslot, gfn: Int, folio: Folio, fromGmem: Bool, isPrivate: Bool) -> Int {
        guard fromGmem, folio.order > 0, let file = slot.file else { return 0 }
        let index = slot.index(of: gfn)
        var level = PageLevel.maxLevel(forOrder: kvmGmemMappingOrder(file.inode, index, folio))
        if isPrivate { level = min(level, vm.ops.privateMaxMappingLevel(vm, gfn: gfn)) }
        level = min(level, Model.kvmMaxHugePageLevel)
        while level > 0 {
            let pages = PageLevel.pages(level)
            let base = gfn & ~(pages - 1)
            // lpage_info: disallowed when the huge range leaves the slot or is misaligned with
            // the guest_memfd offset (THP-RFC 5/5: forced to 0 outside the binding).
            if base >= slot.baseGfn && base + pages <= slot.baseGfn + slot.npages
                && (slot.baseGfn - slot.pgoff) & (pages - 1) == 0 { break }
            level -= 1
        }
        return level
    }

    /// Largest direct-root leaf the model installs: 2M. KVM would map a 1G folio with a 1G leaf
    /// where the CPU allows it; the model stops at 2M so a 1G folio split touches only the 2M
    /// leaves the guest faulted (the level code itself is generic).
    public static let kvmMaxHugePageLevel = 1

    // MARK: allocation

    /// kvm_gmem_get_folio() with the hugetlb allocator (1G-RFCv2 §3.2): allocate the huge folio,
    /// add it at round_down(index, nr), drop the allocation ref (only filemap refs remain), split
    /// it at once if any page of its range is shared. The caller then looks up `index`.
    /// -EEXIST: a racing fault added the range first (filemap_add_folio), nothing allocated.
    func kvmGmemAllocHugeFolio(_ inode: GmemInode, _ index: Int) -> Errno? {
        let base = index & ~((1 << inode.hugeOrder) - 1)
        if inode.filemap[index] != nil { return .EEXIST }
        if inject.take(alloc: .folio) { return .ENOMEM }
        let f = pages.allocHuge(order: inode.hugeOrder, inode: inode.id, index: base)
        filemapAdd(inode, f)
        if !profile.perGmemAttributes || !inode.attrs.any(base, base + f.nrPages, private: false) { return nil }
        // kvm_gmem_try_split_folio_in_filemap()
        if let e = kvmGmemSplitFolioInFilemap(inode, f) {
            // Allocation fails as a whole: the new folio leaves the page cache and is freed.
            filemapRemoveForRestructuring(inode, f)
            folioPut(f, .filemap, f.nrPages)
            return e
        }
        return nil
    }

    // MARK: split / merge

    /// kvm_gmem_split_folio_in_filemap(): freeze the refcount at the filemap refs
    /// (filemap_remove_folio_for_restructuring), undo HVO (hugetlb_vmemmap_restore_folio needs
    /// vmemmap pages: the `folio_split` allocation site), replace the folio by order-0 folios over
    /// the same frames. Nothing is changed on failure.
    func kvmGmemSplitFolioInFilemap(_ inode: GmemInode, _ f: Folio) -> Errno? {
        guard f.order > 0, let block = f.block else { return nil }
        // Research §3.1 / I10: nobody but the page cache may hold a reference. 1G-RFCv2 spins here
        // (D4); the model fails the split instead (Yan Zhao's R2 companion check returns -EFAULT).
        if f.refcount != f.nrPages { return .EFAULT }
        checkRestructure(f, pieceOrder: 0, what: "split")
        if inject.take(alloc: .folioSplit) { return .ENOMEM }
        var pieces: [Folio] = []
        pieces.reserveCapacity(f.nrPages)
        let blockOffset = (f.mem - block.base) / pagePayload
        for i in 0..<f.nrPages {
            let p = pages.restructured(order: 0, inode: inode.id, index: f.index + i, block: block, offset: blockOffset + i)
            p.uptodate = f.uptodate
            p.hwpoison = f.hwpoison
            pieces.append(p)
        }
        filemapRemoveForRestructuring(inode, f)
        for p in pieces { filemapAdd(inode, p) }
        retargetMappings(from: [f]) { page in (pieces[page], 0) }
        folioPut(f, .filemap, f.nrPages)
        return nil
    }

    /// kvm_gmem_try_merge_folio_in_filemap() (step 7 of §3.4: metadata only, cannot fail): merge
    /// the order-0 pieces of the huge range at `base` back into one folio when the whole range is
    /// private, every piece is present, unpoisoned and held only by the page cache. Returns
    /// whether it merged (a range that does not qualify simply stays split).
    @discardableResult
    func kvmGmemTryMergeFolioInFilemap(_ inode: GmemInode, base: Int) -> Bool {
        let nr = 1 << inode.hugeOrder
        guard base + nr <= inode.sizePages, inode.attrs.all(base, base + nr, private: true),
              let first = inode.filemap[base], first.order == 0, let block = first.block else { return false }
        let blockOffset = (first.mem - block.base) / pagePayload
        var pieces: [Folio] = []
        pieces.reserveCapacity(nr)
        for i in 0..<nr {
            guard let p = inode.filemap[base + i], p.order == 0, p.block === block,
                  p.mem == block.base + (blockOffset + i) * pagePayload,
                  p.refcount == 1, !p.hwpoison else { return false }
            pieces.append(p)
        }
        let merged = pages.restructured(order: inode.hugeOrder, inode: inode.id, index: base, block: block, offset: blockOffset)
        checkRestructure(merged, pieceOrder: inode.hugeOrder, what: "merge", pieces: pieces)
        // One uptodate flag for the whole folio: pieces never handed out are zeroed now (they
        // would have been zeroed on first use), so the merged folio can be uptodate.
        for (i, p) in pieces.enumerated() where !p.uptodate { merged.zeroPages(i, i + 1) }
        merged.uptodate = true
        for p in pieces { filemapRemoveForRestructuring(inode, p) }
        filemapAdd(inode, merged)
        retargetMappings(from: pieces) { page in (merged, page) }
        for p in pieces { folioPut(p, .filemap) }
        return true
    }

    /// Merge every huge range overlapping [start, end) that qualifies (after a to-private store).
    func kvmGmemMergeRange(_ inode: GmemInode, _ start: Int, _ end: Int) {
        let nr = 1 << inode.hugeOrder
        var base = start & ~(nr - 1)
        while base < end {
            kvmGmemTryMergeFolioInFilemap(inode, base: base)
            base += nr
        }
    }

    /// filemap_remove_folio_for_restructuring(): out of the page cache without a_ops->free_folio
    /// (the memory is not freed); the filemap refs are dropped by the caller after the
    /// replacement is in place.
    func filemapRemoveForRestructuring(_ inode: GmemInode, _ f: Folio) {
        for i in 0..<f.nrPages where f.index + i < inode.sizePages && inode.filemap[f.index + i] === f {
            inode.filemap[f.index + i] = nil
        }
        f.inFilemap = false
    }

    /// page_folio(pfn) after a restructure: mappings keep their frames (the hardware holds an HPA),
    /// the folio they resolve to changes. `resolve(page)` maps a page of the old folio(s) (counted
    /// from the first old folio's index) to its new folio and page.
    /// Threads mode: faults install SPTEs and PTEs concurrently (under mmu_lock read / the PTL,
    /// not the locks the conversion holds), so the whole rewrite is one `sync` section; the
    /// kernel has nothing to rewrite (the hardware holds HPAs), so it must look atomic.
    func retargetMappings(from old: [Folio], _ resolve: (Int) -> (Folio, Int)) {
        atomically { retargetMappingsLocked(from: old, resolve) }
    }

    private func retargetMappingsLocked(from old: [Folio], _ resolve: (Int) -> (Folio, Int)) {
        guard let first = old.first else { return }
        let ids = Set(old.map { ObjectIdentifier($0) })
        let origin = first.index
        func fix(_ r: FrameRef) -> FrameRef? {
            guard ids.contains(ObjectIdentifier(r.folio)) else { return nil }
            let (nf, np) = resolve(r.folio.index - origin + r.page)
            return FrameRef(nf, page: np)
        }
        for vm in vms {
            guard let vm else { continue }
            for (g, s) in vm.spte { if let r = fix(s.ref) { vm.spte[g]!.ref = r } }
            for (g, s) in vm.hugeSpte { if let r = fix(s.ref) { vm.hugeSpte[g]!.ref = r } }
        }
        for p in procs {
            guard let p else { continue }
            for (k, r) in p.ptes { if let n = fix(r) { p.ptes[k] = n } }
        }
        // The mirror root and the S-EPT hold the same frames; their page_folio() changes too.
        for vm in vms {
            guard let vm, vm.tdx != nil else { continue }
            for (g, s) in vm.mirror.leaves { if let r = fix(s.ref) { vm.mirror.leaves[g]!.ref = r } }
        }
        for (_, td) in tdx.tds {
            for (k, e) in td.sept { if let p = e.page, let r = fix(p) { td.sept[k]!.page = r } }
        }
        for (h, f) in tdx.removeFailed where ids.contains(ObjectIdentifier(f)) {
            tdx.removeFailed[h] = resolve(f.index - origin + (h - f.pfn)).0
        }
    }

    /// G19 (research I10): a folio is restructured only when no host PTE maps it and no stage-2
    /// leaf larger than the resulting pieces maps it.
    func checkRestructure(_ f: Folio, pieceOrder: Int, what: String, pieces: [Folio] = []) {
        atomically { checkRestructureLocked(f, pieceOrder: pieceOrder, what: what, pieces: pieces) }
    }

    private func checkRestructureLocked(_ f: Folio, pieceOrder: Int, what: String, pieces: [Folio]) {
        let targets = pieces.isEmpty ? [f] : pieces
        let ids = Set(targets.map { ObjectIdentifier($0) })
        for p in procs {
            guard let p else { continue }
            if p.ptes.values.contains(where: { ids.contains(ObjectIdentifier($0.folio)) }) {
                report(.invariant(.G19, "\(what) of gmem\(f.inode) folio at index \(f.index) while proc\(p.id) maps it"))
                return
            }
        }
        let maxLevel = PageLevel.maxLevel(forOrder: pieceOrder)
        for vm in vms {
            guard let vm else { continue }
            for (g, s) in vm.hugeSpte where s.level > maxLevel && ids.contains(ObjectIdentifier(s.ref.folio)) {
                report(.invariant(.G19, "\(what) of gmem\(f.inode) folio at index \(f.index) into order-\(pieceOrder) pieces while vm\(vm.id) maps gfn \(g) with a level-\(s.level) leaf"))
                return
            }
        }
    }

    // MARK: truncation

    /// kvm_gmem_truncate_inode_range() (1G-RFCv2): huge ranges fully inside [start, end) are
    /// truncated; the covered part of a partially punched huge range is only zeroed
    /// (kvm_gmem_zero_range) and its folios stay.
    func kvmGmemTruncateInodeRange(_ inode: GmemInode, _ start: Int, _ end: Int) throws(ModelAbort) {
        let nr = 1 << inode.hugeOrder
        var base = start & ~(nr - 1)
        while base < end {
            let s = max(start, base), e = min(end, base + nr)
            if s == base && e == base + nr {
                try truncateInodePagesRange(inode, base, base + nr)
            } else {
                var i = s
                while i < e {
                    guard let f = inode.filemap[i] else { i += 1; continue }
                    let to = min(e, f.index + f.nrPages)
                    f.zeroPages(i - f.index, to - f.index)
                    i = to
                }
            }
            base += nr
        }
    }
}
