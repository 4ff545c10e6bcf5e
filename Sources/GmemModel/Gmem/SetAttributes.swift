/// KVM_SET_MEMORY_ATTRIBUTES2 on the guest_memfd fd (IPC-v8 13-20/46, research §2.9).
extension Model {
    /// kvm_gmem_ioctl() -> kvm_gmem_set_attributes(): validation in the kernel's order.
    public func gmemSetAttributes(gmem id: Int, page: Int, count: Int, toPrivate: Bool) throws(ModelAbort) -> SysResult {
        guard let f = file(id) else { return .skipped }
        guard f.fdOpen else { return .err(.EBADF) }
        // kvm_gmem_ioctl(): without gmem_in_place_conversion the ioctl does not exist.
        if !profile.inPlaceConversion { return .err(.ENOTTY) }
        if !f.vm.hasPrivateMem { return .err(.EINVAL) }
        if count <= 0 || page < 0 { return .err(.EINVAL) }
        let inode = f.inode
        if page >= inode.sizePages || page + count > inode.sizePages { return .err(.EINVAL) }
        return try kvmGmemSetAttributesLocked(inode, start: page, nr: count, toPrivate: toPrivate)
    }

    /// __kvm_gmem_set_attributes(): the conversion proper, step by step.
    func kvmGmemSetAttributesLocked(_ inode: GmemInode, start: Int, nr: Int, toPrivate: Bool) throws(ModelAbort) -> SysResult {
        let end = start + nr
        // 1. IL.w
        try lock(inode.invalidateLock)
        defer { unlock(inode.invalidateLock) }
        // The checker's "before" is what this conversion sees under IL.w: another conversion may
        // have changed the range while this one waited for the lock.
        let snap = attrsSnapshot(inode)
        conversion = ConversionWindow(inode: inode.id, start: start, end: end, toPrivate: toPrivate, before: snap.attrs,
                                      storesBefore: snap.stores)
        defer { conversion = nil }
        // 2. Nothing to do: no side effects at all (16/46).
        if inode.attrs.all(start, end, private: toPrivate) {
            checkConversionResult(inode, .ok)
            return .ok
        }
        // 3. kvm_gmem_mas_preallocate()
        if inject.take(alloc: .maple) {
            let r = SysResult.err(.ENOMEM, errorOffset: start)
            checkConversionResult(inode, r)
            return r
        }
        let filter = conversionFilter(inode, start, end, toPrivate: toPrivate)
        var begun = false
        if v.has(.zapBeforeRefcountCheck) {
            // gmem B19 (1G-RFCv2 ordering): invalidate + zap before the refcount check.
            try gmemInvalidateBegin(inode, start, end, filter: filter)
            begun = true
        }
        // 4. to-private: unmap host PTEs everywhere, then the safe-refcount check.
        if toPrivate {
            unmapMappingRange(inode, start, end)
            yieldPoint()
            if !v.has(.skipRefcountCheck), let bad = try kvmGmemIsSafeForConversion(inode, start, end) {
                if begun { try gmemInvalidateEnd(inode, start, end) }
                let errIndex = v.has(.errOffsetFolioIndex) ? bad.index : max(start, bad.index)
                let r = SysResult.err(.EAGAIN, errorOffset: errIndex)
                checkConversionResult(inode, r, unsafeFolio: bad)
                return r
            }
        }
        // hugetlb gmem, private->shared: split the huge folios in range (§3.4 step 2b) before the
        // point of no return; a failure leaves attributes and stage-2 mappings untouched.
        if !toPrivate && inode.hugeOrder > 0 && !begun {
            switch try kvmGmemSplitForShared(inode, start, end, filter: filter) {
            case .failed(let r):
                checkConversionResult(inode, r)
                return r
            case .zapped: begun = true
            case .nothingToSplit: break
            }
        }
        // 5. Point of no return: invalidate start zaps stage-2 mappings.
        if !begun { try gmemInvalidateBegin(inode, start, end, filter: filter) }
        // 6. to-shared: kvm_arch_gmem_invalidate() per folio (SNP RMP back to shared).
        if !toPrivate {
            var i = start
            while i < end {
                if let folio = inode.filemap[i] {
                    for fl in inode.files { fl.vm.ops.gmemInvalidate(folio); break }
                    i = folio.index + folio.nrPages
                } else { i += 1 }
            }
        }
        // 7. mas_store_prealloc(): cannot fail.
        // Under IL.w; the maple tree's own lock (ma_lock) orders it against RCU readers: `sync`.
        atomically {
            inode.attrs.store(start, end, private: toPrivate)
            inode.attrStores += 1
        }
        // 8. invalidate end.
        try gmemInvalidateEnd(inode, start, end)
        // §3.4 step 7: shared->private merges huge ranges that became fully private (metadata only).
        if toPrivate && inode.hugeOrder > 0 { kvmGmemMergeRange(inode, start, end) }
        checkConversionResult(inode, .ok)
        return .ok
    }

    enum SplitForShared { case nothingToSplit, zapped, failed(SysResult) }

    /// Private->shared on hugetlb gmem, up to and including the stage-2 zap. Default (hp-v3) order:
    /// invalidate begin (no zap), kvm_gmem_split_private() down to 4K for every leaf over a folio
    /// about to be split (HP v3 16/24), the folio split (2b; fallible: HVO undo), then the zap
    /// (step 4, the point of no return). Research §3.4 puts 2b before 3 and HP v3 the S-EPT split
    /// after 3; taken literally the folio would be split while KVM still maps it huge (B16/B23),
    /// so the model splits the mappings first. The variants are the two orders the sources warn
    /// about: split_before_zap (B16) and zap_before_split (B18).
    func kvmGmemSplitForShared(_ inode: GmemInode, _ start: Int, _ end: Int, filter: AttrFilter) throws(ModelAbort) -> SplitForShared {
        var folios: [Folio] = []
        var i = start
        while i < end {
            guard let f = inode.filemap[i] else { i += 1; continue }
            if f.order > 0 { folios.append(f) }
            i = f.index + f.nrPages
        }
        guard let first = folios.first, let last = folios.last else { return .nothingToSplit }
        if v.has(.splitBeforeZap) {
            // gmem B16 / tdx B23: the folio is split while stage-2 still maps it huge.
            if let e = splitFolios(inode, folios) { return .failed(.err(e, errorOffset: start)) }
            try gmemInvalidateBegin(inode, start, end, filter: filter)
            return .zapped
        }
        if v.has(.zapBeforeSplit) {
            // gmem B18: zap first (point of no return), then a split that can still fail.
            try gmemInvalidateBegin(inode, start, end, filter: filter)
            if let e = splitFolios(inode, folios) {
                try gmemInvalidateEnd(inode, start, end)
                return .failed(.err(e, errorOffset: start))
            }
            return .zapped
        }
        // 3. invalidate begin (faults in range now retry), no zap yet.
        try gmemInvalidateStart(inode, start, end)
        // kvm_gmem_split_private(): no leaf may stay larger than the pieces (I10).
        if let e = try gmemSplitPrivate(inode, first.index, last.index + last.nrPages, whole: true) {
            // gmem B24: the posted error path returns without kvm_mmu_invalidate_end().
            if !v.has(.splitFailureSkipsInvalidateEnd) { try gmemInvalidateEnd(inode, start, end) }
            return .failed(.err(e, errorOffset: start))
        }
        // 2b. folio split (fallible: HVO undo).
        if let e = splitFolios(inode, folios) {
            try gmemInvalidateEnd(inode, start, end)
            return .failed(.err(e, errorOffset: start))
        }
        // 4. zap: the point of no return.
        try gmemZapRange(inode, start, end, filter: filter)
        return .zapped
    }

    /// Split every folio; on a failure merge back the ones already split (1G-RFCv2 rolls back).
    func splitFolios(_ inode: GmemInode, _ folios: [Folio]) -> Errno? {
        for (n, f) in folios.enumerated() {
            if let e = kvmGmemSplitFolioInFilemap(inode, f) {
                for g in folios[..<n] { kvmGmemTryMergeFolioInFilemap(inode, base: g.index) }
                return e
            }
        }
        return nil
    }

    /// The filter a conversion zaps with: the agreed fix zaps only the opposite state (B1 fix).
    func conversionFilter(_ inode: GmemInode, _ start: Int, _ end: Int, toPrivate: Bool) -> AttrFilter {
        if v.has(.staticFilter) || v.has(.filterFromCurrentAttrs) { return invalidateFilter(inode, start, end) }
        return toPrivate ? .sharedOnly : .privateOnly
    }

    /// kvm_gmem_is_safe_for_conversion(): every folio in range must have exactly
    /// nr_pages (filemap) + 1 (filemap_get_folios batch) refs; lru_add batches are drained once
    /// (18/46) before declaring failure. Returns the first unsafe folio.
    func kvmGmemIsSafeForConversion(_ inode: GmemInode, _ start: Int, _ end: Int) throws(ModelAbort) -> Folio? {
        var drained = false
        var i = start
        while i < end {
            guard let folio = inode.filemap[i] else { i += 1; continue }
            folioGet(folio, .caller)              // filemap_get_folios() batch reference
            defer { folioPut(folio, .caller) }
            var safe = atomically { folio.refcount == folio.nrPages + 1 }   // folio_ref_count()
            if !safe && !drained && folio.lruRefs > 0 && !v.has(.noLruDrain) {
                lruAddDrainAll()                  // folio_may_be_lru_cached() -> lru_add_drain_all()
                drained = true
                safe = folio.refcount == folio.nrPages + 1
            }
            if !safe {
                // I28 / B5: a folio whose only extra refs sit in an lru_add batch can never become
                // safe by retrying if nothing drains the batch.
                let extra = folio.refcount - folio.nrPages - 1
                if extra > 0 && extra == folio.tdxRefs {
                    report(Finding(kind: .liveness, id: InvariantID.T14.rawValue,
                                   message: "to-private conversion fails with EAGAIN on gmem\(inode.id) index \(folio.index): its only extra refs (\(extra)) are TDX's long-term page refs, which no retry drops"))
                }
                if extra > 0 && extra == folio.lruRefs {
                    report(Finding(kind: .liveness, id: InvariantID.G17.rawValue,
                                   message: "to-private conversion fails with EAGAIN on gmem\(inode.id) index \(folio.index) whose only extra refs (\(extra)) are per-CPU lru_add batch refs that nothing drains: retrying never succeeds"))
                }
                return folio
            }
            i = folio.index + folio.nrPages
        }
        return nil
    }

    /// lru_add_drain_all(): every per-CPU lru_add batch is flushed (the batch refs drop).
    /// Threads mode: the per-CPU batches' local locks and the lru lock are `sync`.
    func lruAddDrainAll() {
        atomically {
            for f in pages.live where f.lruRefs > 0 { folioPut(f, .lru, f.lruRefs) }
        }
    }

    /// G9, G10, G11, K3: what a KVM_SET_MEMORY_ATTRIBUTES2 call promised, checked at its return.
    func checkConversionResult(_ inode: GmemInode, _ r: SysResult, unsafeFolio: Folio? = nil) {
        guard let w = conversion else { return }
        switch r {
        case .ok:
            if w.before.all(w.start, w.end, private: w.toPrivate) && (w.hostUnmaps > 0 || w.stage2Zaps > 0) {
                report(.invariant(.G11, "no-op conversion of [\(w.start), \(w.end)) had side effects (\(w.hostUnmaps) host unmaps, \(w.stage2Zaps) stage-2 zaps)"))
            }
            if w.targetTypeZaps > 0 {
                report(.invariant(.K3, "conversion to \(w.toPrivate ? "private" : "shared") zapped \(w.targetTypeZaps) mapping(s) already of the target type"))
            }
            // Only the first violation is reported (the checker stops there too).
            if harnessLocked({ findings.isEmpty }), let gfn = oldTypeMappingLeft(inode, w) {
                report(.invariant(.K3, "conversion to \(w.toPrivate ? "private" : "shared") left a \(w.toPrivate ? "shared" : "private") mapping of gfn \(gfn) in range"))
            }
        case .err(let e, let off):
            if inode.attrStores == w.storesBefore && inode.attrs != w.before {
                report(.invariant(.G9, "failed conversion (\(e.name)) changed attributes"))
            }
            if w.stage2Zaps > 0 {
                report(.invariant(.G9, "failed conversion (\(e.name)) zapped \(w.stage2Zaps) stage-2 mapping(s): only host PTE zaps may precede the point of no return"))
            }
            if e == .EAGAIN {
                if !w.toPrivate { report(.invariant(.G10, "EAGAIN from a to-shared conversion")) }
                if let off, off < w.start || off >= w.end {
                    report(.invariant(.G9, "EAGAIN error_offset \(off) outside the request [\(w.start), \(w.end))"))
                }
            }
            if e == .ENOMEM, let off, off != w.start {
                report(.invariant(.G9, "ENOMEM error_offset \(off) != offset \(w.start)"))
            }
        default: break
        }
    }

    /// K3, other half: with a mirrored TDP, a mapping of the old type in range after the call.
    func oldTypeMappingLeft(_ inode: GmemInode, _ w: ConversionWindow) -> Int? {
        for f in inode.files where f.vm.ops.hasMirroredTDP {
            for b in f.bindings where b.start < w.end && b.end > w.start {
                let slot = b.slot
                for idx in max(b.start, w.start)..<min(b.end, w.end) {
                    let gfn = slot.gfn(of: idx)
                    if w.toPrivate, let s = f.vm.spte[gfn], s.gmemBacked { return gfn }
                    if !w.toPrivate, f.vm.mirror.leaves[gfn] != nil { return gfn }
                }
            }
        }
        return nil
    }
}
