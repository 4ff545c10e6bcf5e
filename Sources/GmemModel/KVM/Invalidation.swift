/// KVM MMU invalidation and zapping (virt/kvm/kvm_main.c, arch/x86/kvm/mmu/tdp_mmu.c).
extension Model {
    /// kvm_mmu_invalidate_begin(): caller holds mmu_lock for write.
    func mmuInvalidateBegin(_ vm: VM) {
        vm.inval.inProgress += 1
        if vm.inval.inProgress == 1 {
            vm.inval.rangeStart = -1   // INVALID_GPA
            vm.inval.rangeEnd = -1
        }
    }

    /// kvm_mmu_invalidate_range_add()
    func mmuInvalidateRangeAdd(_ vm: VM, _ start: Int, _ end: Int) {
        warnOn(vm.inval.inProgress == 0, "kvm_mmu_invalidate_range_add", "range added outside begin/end")
        if vm.inval.rangeStart < 0 {
            vm.inval.rangeStart = start
            vm.inval.rangeEnd = end
        } else {
            vm.inval.rangeStart = min(vm.inval.rangeStart, start)
            vm.inval.rangeEnd = max(vm.inval.rangeEnd, end)
        }
    }

    /// kvm_mmu_invalidate_end()
    func mmuInvalidateEnd(_ vm: VM) {
        vm.inval.seq += 1
        vm.inval.inProgress -= 1
        kvmBugOn(vm.inval.inProgress < 0, vm, "kvm_mmu_invalidate_end", "mmu_invalidate_in_progress < 0")
        warnOn(vm.inval.rangeStart < 0, "kvm_mmu_invalidate_end",
               "no range was added between invalidate start() and end()")
    }

    /// kvm_mmu_unmap_gfn_range() -> kvm_tdp_mmu_unmap_gfn_range(): range_add, then zap leaves of
    /// the root types the filter selects (kvm_gfn_range_filter_to_root_types: without a mirrored
    /// TDP every root is a direct root and the filter is ignored). Caller holds mmu_lock write.
    @discardableResult
    func mmuUnmapGfnRange(_ vm: VM, slot: Memslot, start: Int, end: Int, filter: AttrFilter,
                          sharedRootsOnly: Bool = false) throws(ModelAbort) -> Bool {
        mmuInvalidateRangeAdd(vm, start, end)
        return try zapLeafs(vm, slotID: slot.id, start: start, end: end, filter: filter, sharedRootsOnly: sharedRootsOnly)
    }

    /// tdp_mmu_zap_leafs() over [start, end) (gfns); returns whether anything was zapped (flush).
    @discardableResult
    func zapLeafs(_ vm: VM, slotID: Int?, start: Int, end: Int, filter: AttrFilter,
                  sharedRootsOnly: Bool = false) throws(ModelAbort) -> Bool {
        var zapped = false
        let mirrored = vm.ops.hasMirroredTDP
        // Iterate the smaller of the range and the table (ranges can be huge, tables are small).
        var gfns: [Int] = []
        if end - start <= vm.spte.count {
            for g in start..<end where vm.spte[g] != nil { gfns.append(g) }
        } else {
            for g in vm.spte.keys where g >= start && g < end { gfns.append(g) }
            gfns.sort()
        }
        for gfn in gfns {
            guard let s = vm.spte[gfn] else { continue }
            if let id = slotID, s.slotID != id { continue }
            // An hva-based notifier only reaches mappings of host memory: private leaves of a
            // sw VM are guest_memfd pages that no host VMA of this range maps.
            if sharedRootsOnly && s.isPrivate { continue }
            if mirrored {
                if s.isPrivate && !filter.contains(.privateOnly) { continue }
                if !s.isPrivate && !filter.contains(.sharedOnly) { continue }
            }
            noteZap(vm, gfn: gfn, spte: s)
            if s.isPrivate {
                try vm.ops.removePrivateSpte(self, vm, gfn: gfn, spte: s)
            } else {
                vm.spte[gfn] = nil
            }
            zapped = true
        }
        // tdp_mmu_zap_leafs() walks with for_each_tdp_pte_min_level(PG_LEVEL_4K): a huge leaf
        // overlapping the range at all is zapped whole (direct roots never split to zap).
        for (base, s) in vm.hugeLeaves(overlapping: start, end) {
            if let id = slotID, s.slotID != id { continue }
            if sharedRootsOnly && s.isPrivate { continue }
            if mirrored {
                if s.isPrivate && !filter.contains(.privateOnly) { continue }
                if !s.isPrivate && !filter.contains(.sharedOnly) { continue }
            }
            noteZap(vm, gfn: base, spte: s)
            if s.isPrivate {
                try vm.ops.removePrivateSpte(self, vm, gfn: base, spte: s)
            } else {
                vm.hugeSpte[base] = nil
            }
            zapped = true
        }
        // The mirror root (TDX): only reached through KVM_FILTER_PRIVATE, never by an hva-based
        // notifier ("mirror roots don't need handling in response to the mmu notifier").
        if mirrored && filter.contains(.privateOnly) && !sharedRootsOnly && !vm.mirror.leaves.isEmpty {
            let mg = vm.mirror.leaves.keys.filter { $0 >= start && $0 < end }.sorted()
            for gfn in mg {
                guard let s = vm.mirror.leaves[gfn] else { continue }
                if let id = slotID, s.slotID != id { continue }
                noteZap(vm, gfn: gfn, spte: s)
                try vm.ops.removePrivateSpte(self, vm, gfn: gfn, spte: s)
                zapped = true
            }
        }
        return zapped
    }

    /// Bookkeeping for the conversion checks (G11, K3, G9 side effects).
    private func noteZap(_ vm: VM, gfn: Int, spte: SPTE) {
        guard var w = conversion else { return }
        w.stage2Zaps += 1
        if vm.ops.hasMirroredTDP, let slot = vm.slots[spte.slotID], slot.file?.inode.id == w.inode {
            let idx = slot.index(of: gfn)
            if idx >= w.start && idx < w.end && spte.isPrivate == w.toPrivate { w.targetTypeZaps += 1 }
        }
        conversion = w
    }

    /// kvm_gmem_invalidate_begin(inode, start, end) for every file of the inode
    /// (__kvm_gmem_invalidate_begin): the first overlapping binding takes mmu_lock and begins.
    func gmemInvalidateBegin(_ inode: GmemInode, _ start: Int, _ end: Int, filter: AttrFilter) throws(ModelAbort) {
        for f in inode.files {
            var found = false
            let vm = f.vm
            for b in f.bindings where b.start < end && b.end > start {
                let slot = b.slot
                if !found {
                    found = true
                    // KVM_MMU_LOCK() (write). B11 variant: a TD's zap under the read lock,
                    // so two zappers' BLOCK/TRACK/REMOVE sequences interleave.
                    let shared = vm.ops.hasMirroredTDP && v.has(.tdxTrackUnderReadLock)
                    try lock(vm.mmuLock, shared ? .shared : .exclusive)
                    mmuInvalidateBegin(vm)
                }
                // B13: a stale binding's slot may already be freed; reading it is the UAF.
                touchSlot(slot)
                let gStart = slot.baseGfn + max(slot.pgoff, start) - slot.pgoff
                let gEnd = slot.baseGfn + min(slot.pgoff + slot.npages, end) - slot.pgoff
                try mmuUnmapGfnRange(vm, slot: slot, start: gStart, end: gEnd, filter: filter)
            }
            if found { unlock(vm.mmuLock) }
        }
    }

    /// kvm_gmem_invalidate_end(): per file, if a binding exists in range.
    func gmemInvalidateEnd(_ inode: GmemInode, _ start: Int, _ end: Int) throws(ModelAbort) {
        for f in inode.files where f.bindings.contains(where: { $0.start < end && $0.end > start }) {
            try lock(f.vm.mmuLock)
            mmuInvalidateEnd(f.vm)
            unlock(f.vm.mmuLock)
        }
    }

    /// kvm_gmem_get_invalidate_filter() and its successors, per profile/variant.
    func invalidateFilter(_ inode: GmemInode, _ start: Int, _ end: Int) -> AttrFilter {
        if v.has(.staticFilter) || !profile.perGmemAttributes {
            // ML: KVM_FILTER_SHARED if INIT_SHARED, else KVM_FILTER_PRIVATE.
            return inode.flags.contains(.initShared) ? .sharedOnly : .privateOnly
        }
        // IPC-v8 20/46: from the current attributes of [start, end).
        var f: AttrFilter = []
        let s = min(start, inode.sizePages), e = min(end, inode.sizePages)
        if inode.attrs.any(s, e, private: true) { f.insert(.privateOnly) }
        if inode.attrs.any(s, e, private: false) { f.insert(.sharedOnly) }
        return f.isEmpty ? .both : f
    }

    /// Read a memslot the way kernel code dereferences it (ASan sees a freed slot).
    @inline(__always) func touchSlot(_ s: Memslot) {
        s.raw.storeBytes(of: s.raw.load(as: UInt8.self), as: UInt8.self)
    }
}

extension ConversionWindow {
    init(inode: Int, start: Int, end: Int, toPrivate: Bool, before: AttrTree) {
        self.inode = inode
        self.start = start
        self.end = end
        self.toPrivate = toPrivate
        self.before = before
    }
}
