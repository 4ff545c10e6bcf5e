/// Invariant checks run at every scheduling point (and at the end of every op). Cheap checks
/// only: the model is small (a few inodes of <= 64 pages). Each check names its registry id.
enum Checker {
    /// `othersIdle`: no other logical thread is in the middle of an op (the "returns to
    /// userspace" checks about global state only hold then; a finishing thread's own locks are
    /// always checked).
    static func check(_ m: Model, atOpEnd: Bool, othersIdle: Bool = true) {
        // Stop after the first finding: the executor reports it and ends the run.
        if !m.findings.isEmpty { return }
        checkAttributes(m)
        checkFolios(m)
        checkHostPTEs(m)
        for vm in m.vms { if let vm { checkStage2(m, vm, atOpEnd: atOpEnd && othersIdle); checkTdx(m, vm, atOpEnd: atOpEnd && othersIdle) } }
        if !m.tdx.tds.isEmpty { checkTdxRefs(m) }
        if atOpEnd { checkOpEnd(m, othersIdle: othersIdle) }
    }

    /// G1
    static func checkAttributes(_ m: Model) {
        guard m.profile.perGmemAttributes else { return }
        for inode in m.inodes where !inode.evicted {
            if let why = inode.attrs.wellFormed() {
                m.report(.invariant(.G1, "gmem\(inode.id) attributes: \(why)"))
            }
        }
    }

    /// G4, G5, G6
    static func checkFolios(_ m: Model) {
        // Host-PTE refs are recounted from the page tables (an oracle independent of folioGet).
        for p in m.procs { if let p { for pte in p.ptes.values { pte.folio.scratchPTEs += 1 } } }
        defer { for f in m.pages.live { f.scratchPTEs = 0 } }
        for f in m.pages.live {
            let ptes = f.scratchPTEs
            let expected = f.filemapRefs + ptes + f.callerRefs + f.gupRefs
                + Model.gupPinBias * f.pins + f.transientRefs + f.lruRefs + f.tdxRefs + f.anonOwnerRefs
            if f.refcount != expected {
                m.report(.invariant(.G5, "folio \(f.id) (gmem\(f.inode) index \(f.index)) refcount \(f.refcount) != expected \(expected) [filemap \(f.filemapRefs) pte \(ptes) caller \(f.callerRefs) gup \(f.gupRefs) pins \(f.pins) transient \(f.transientRefs) lru \(f.lruRefs) tdx \(f.tdxRefs)]"))
            }
            if f.inFilemap != (f.filemapRefs == f.nrPages) {
                m.report(.invariant(.G5, "folio \(f.id): in filemap \(f.inFilemap) but filemap refs \(f.filemapRefs)"))
            }
            if f.refcount == 0 {
                m.report(.invariant(.G6, "folio \(f.id) has refcount 0 but was not freed"))
            }
            // G18: huge folios are private-only and never host-mapped.
            if f.order > 0 && f.inode >= 0 && f.inFilemap {
                if ptes > 0 {
                    m.report(.invariant(.G18, "order-\(f.order) folio \(f.id) (gmem\(f.inode) index \(f.index)) is mapped by \(ptes) host PTE(s)"))
                } else if m.profile.perGmemAttributes, m.inodes[f.inode].attrs.any(f.index, f.index + f.nrPages, private: false) {
                    m.report(.invariant(.G18, "order-\(f.order) folio \(f.id) backs shared indices of gmem\(f.inode) in [\(f.index), \(f.index + f.nrPages))"))
                }
            }
            if f.inode >= 0 && (f.gupRefs > 0 || f.pins > 0), f.inFilemap {
                let inode = m.inodes[f.inode]
                if m.profile.perGmemAttributes, (0..<f.nrPages).contains(where: { inode.attrs.get(f.index + $0) == true }) {
                    m.report(.invariant(.G4, "folio \(f.id) backing private gmem\(f.inode) index \(f.index) has \(f.pins) long-term pin(s) and \(f.gupRefs) GUP ref(s)"))
                }
            }
        }
    }

    /// G2, G7, G8, G13 for host page tables.
    static func checkHostPTEs(_ m: Model) {
        for p in m.procs {
            guard let p else { continue }
            for (k, pte) in p.ptes {
                let f = pte.folio
                if f.freed {
                    m.report(.invariant(.G7, "proc\(p.id) PTE for gmem\(k >> 24) index \(k & 0xffffff) maps freed folio \(f.id)"))
                    continue
                }
                if !f.inFilemap {
                    m.report(.invariant(.G8, "proc\(p.id) PTE for gmem\(k >> 24) index \(k & 0xffffff) maps folio \(f.id) removed from the page cache"))
                }
                if !f.uptodate {
                    m.report(.invariant(.G13, "proc\(p.id) maps never-zeroed folio \(f.id)"))
                }
                if m.profile.perGmemAttributes {
                    let inode = m.inodes[k >> 24]
                    if inode.attrs.get(k & 0xffffff) == true {
                        m.report(.invariant(.G2, "proc\(p.id) has a PTE for private gmem\(inode.id) index \(k & 0xffffff)"))
                    }
                }
            }
        }
    }

    /// G7, G8, G13, G14, G16, K1, K2, K4 for stage-2.
    static func checkStage2(_ m: Model, _ vm: VM, atOpEnd: Bool) {
        if vm.inval.inProgress < 0 {
            m.report(.invariant(.K1, "vm\(vm.id) mmu_invalidate_in_progress = \(vm.inval.inProgress)"))
        }
        for (gfn, s) in vm.spte {
            let f = s.ref.folio
            if f.freed {
                m.report(.invariant(.G7, "vm\(vm.id) SPTE for gfn \(gfn) maps freed folio \(f.id)"))
                continue
            }
            if !f.uptodate {
                m.report(.invariant(.G13, "vm\(vm.id) maps never-zeroed folio \(f.id) at gfn \(gfn)"))
            }
            // memory_failure() sets PG_hwpoison before kvm_gmem_error_folio() zaps: only an
            // SPTE that survives the whole path breaks the rule.
            if f.hwpoison && atOpEnd {
                m.report(.invariant(.G14, "vm\(vm.id) maps hwpoisoned folio \(f.id) at gfn \(gfn)"))
            }
            if s.level > 0 { continue }   // huge leaves live in hugeSpte
            let inRange = vm.inval.inProgress > 0 && (vm.inval.rangeStart < 0 || (gfn >= vm.inval.rangeStart && gfn < vm.inval.rangeEnd))
            guard let slot = vm.slots[s.slotID], !slot.deleted else {
                if atOpEnd { m.report(.invariant(.G16, "vm\(vm.id) SPTE for gfn \(gfn) survives deletion of slot \(s.slotID)")) }
                continue
            }
            if s.gmemBacked {
                if !f.inFilemap {
                    m.report(.invariant(.G8, "vm\(vm.id) SPTE for gfn \(gfn) maps folio \(f.id) removed from the page cache"))
                    continue
                }
                guard let file = slot.file, !file.released else {
                    if atOpEnd { m.report(.invariant(.G16, "vm\(vm.id) SPTE for gfn \(gfn) survives release of its guest_memfd")) }
                    continue
                }
                let idx = slot.index(of: gfn)
                if file.inode.filemap[idx] !== f {
                    m.report(.invariant(.K4, "vm\(vm.id) SPTE for gfn \(gfn) maps folio \(f.id), but gmem\(file.inode.id) index \(idx) holds \(file.inode.filemap[idx].map { "folio \($0.id)" } ?? "nothing")"))
                }
            } else if slot.sharedBacking[gfn - slot.baseGfn] !== f {
                m.report(.invariant(.K4, "vm\(vm.id) shared SPTE for gfn \(gfn) does not map the slot's backing page"))
            }
            if !inRange {
                let attrPrivate = m.kvmMemIsPrivateQuiet(vm, gfn)
                if attrPrivate != s.isPrivate {
                    m.report(.invariant(.K2, "vm\(vm.id) has a \(s.isPrivate ? "private" : "shared") SPTE for gfn \(gfn) whose attribute is \(attrPrivate ? "private" : "shared")"))
                }
            }
        }
        if !vm.hugeSpte.isEmpty { checkHugeLeaves(m, vm, atOpEnd: atOpEnd) }
        if atOpEnd && vm.inval.inProgress != 0 {
            m.report(.invariant(.K1, "vm\(vm.id) returns to userspace with mmu_invalidate_in_progress = \(vm.inval.inProgress)"))
        }
    }

    /// G7, G8, G14, K5, K7 for huge leaves (K4's per-page frame check reduces to "the leaf maps
    /// the folio the filemap holds at its first index" once K5 holds).
    static func checkHugeLeaves(_ m: Model, _ vm: VM, atOpEnd: Bool) {
        for (base, s) in vm.hugeSpte {
            let f = s.ref.folio
            let pages = PageLevel.pages(s.level)
            if f.freed {
                m.report(.invariant(.G7, "vm\(vm.id) level-\(s.level) SPTE at gfn \(base) maps freed folio \(f.id)"))
                continue
            }
            if f.hwpoison && atOpEnd { // see checkStage2: the zap follows PG_hwpoison
                m.report(.invariant(.G14, "vm\(vm.id) maps hwpoisoned folio \(f.id) at gfn \(base)"))
            }
            // K5: level <= folio order, and the leaf lies inside the folio.
            if pages > f.nrPages || s.ref.page % pages != 0 || s.ref.page + pages > f.nrPages {
                m.report(.invariant(.K5, "vm\(vm.id) maps gfn \(base) with a level-\(s.level) leaf (\(pages) pages) over order-\(f.order) folio \(f.id) at page \(s.ref.page)"))
                continue
            }
            guard let slot = vm.slots[s.slotID], !slot.deleted else {
                m.report(.invariant(.G16, "vm\(vm.id) huge SPTE at gfn \(base) survives deletion of slot \(s.slotID)"))
                continue
            }
            if base < slot.baseGfn || base + pages > slot.baseGfn + slot.npages {
                m.report(.invariant(.K7, "vm\(vm.id) level-\(s.level) leaf at gfn \(base) extends outside slot \(slot.id)"))
                continue
            }
            guard s.gmemBacked, let file = slot.file, !file.released else { continue }
            if !f.inFilemap {
                m.report(.invariant(.G8, "vm\(vm.id) huge SPTE at gfn \(base) maps folio \(f.id) removed from the page cache"))
                continue
            }
            let idx = slot.index(of: base)
            if file.inode.filemap[idx] !== f {
                m.report(.invariant(.K4, "vm\(vm.id) huge SPTE at gfn \(base) maps folio \(f.id), but gmem\(file.inode.id) index \(idx) holds another"))
            }
            let inRange = vm.inval.inProgress > 0 && (vm.inval.rangeStart < 0 || (base < vm.inval.rangeEnd && base + pages > vm.inval.rangeStart))
            if !inRange && m.profile.perGmemAttributes {
                let mixed = file.inode.attrs.any(idx, idx + pages, private: !s.isPrivate)
                if mixed {
                    m.report(.invariant(.K7, "vm\(vm.id) \(s.isPrivate ? "private" : "shared") level-\(s.level) leaf at gfn \(base) spans indices of the other type"))
                }
            }
        }
    }

    /// G16 bindings, L1 locks.
    static func checkOpEnd(_ m: Model, othersIdle: Bool) {
        for f in m.files where othersIdle {
            guard let f, !f.released else { continue }
            let bs = f.bindings.sorted { $0.start < $1.start }
            for i in bs.indices {
                if i > 0 && bs[i].start < bs[i - 1].end {
                    m.report(.invariant(.G16, "gmem\(f.id) bindings overlap at index \(bs[i].start)"))
                }
                if bs[i].slot.deleted {
                    m.report(.invariant(.G16, "gmem\(f.id) binding [\(bs[i].start), \(bs[i].end)) points at deleted memslot \(bs[i].slot.id)"))
                }
            }
        }
        for t in m.lockdep.held.indices where !m.lockdep.held[t].isEmpty && (othersIdle || t == m.current) {
            let names = m.lockdep.held[t].map { $0.lock.label }.joined(separator: ", ")
            m.report(.invariant(.L1, "t\(t) returns to userspace holding \(names)"))
        }
    }
}

extension Model {
    /// kvm_mem_is_private() without side effects (no WARN on a missing entry).
    func kvmMemIsPrivateQuiet(_ vm: VM, _ gfn: Int) -> Bool {
        if !profile.perGmemAttributes { return vm.privateGfns.contains(gfn) }
        guard let slot = vm.slot(forGfn: gfn), let f = slot.file, !f.released else { return false }
        return f.inode.attrs.get(slot.index(of: gfn)) ?? !f.inode.flags.contains(.initShared)
    }

    /// Run every invariant check now (the executor calls this after each op).
    public func checkInvariants(atOpEnd: Bool, othersIdle: Bool = true) {
        Checker.check(self, atOpEnd: atOpEnd, othersIdle: othersIdle)
    }

    /// A short model-state dump for reports.
    public func stateDump() -> String {
        var out: [String] = []
        for vm in vms {
            guard let vm else { continue }
            let sp = vm.spte.keys.sorted().prefix(16).map { g in "\(g):\(vm.spte[g]!.isPrivate ? "P" : "S")" }
                + vm.hugeSpte.keys.sorted().prefix(8).map { g in "\(g):\(vm.hugeSpte[g]!.isPrivate ? "P" : "S")@L\(vm.hugeSpte[g]!.level)" }
            out.append("vm\(vm.id) \(vm.type.rawValue) slots=\(vm.slots.keys.sorted()) inval=\(vm.inval.inProgress)/seq\(vm.inval.seq) spte=[\(sp.joined(separator: " "))]\(vm.bugged ? " BUGGED" : "")\(vm.dead ? " DEAD" : "")")
            if let t = tdxStateDump(vm) { out.append(t) }
        }
        for inode in inodes where !inode.evicted {
            let attrs = inode.attrs.ranges.map { "[\($0.start),\($0.end)):\($0.isPrivate ? "P" : "S")" }.joined(separator: " ")
            let folios = (0..<inode.sizePages).compactMap { i -> String? in
                guard let f = inode.filemap[i] else { return nil }
                return "\(i):r\(f.refcount)\(f.uptodate ? "" : "!u")\(f.hwpoison ? "H" : "")"
            }
            out.append("gmem\(inode.id) size=\(inode.sizePages) attrs=\(profile.perGmemAttributes ? attrs : "per-vm") folios=[\(folios.prefix(16).joined(separator: " "))]")
        }
        for p in procs {
            guard let p, !p.vmas.isEmpty || !p.ptes.isEmpty else { continue }
            out.append("proc\(p.id) vmas=\(p.vmas.keys.sorted()) ptes=\(p.ptes.count)")
        }
        return out.joined(separator: "\n")
    }
}
