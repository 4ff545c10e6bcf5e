/// Invariant checks run at every scheduling point (and at the end of every op). Cheap checks
/// only: the model is small (a few inodes of <= 64 pages). Each check names its registry id.
enum Checker {
    static func check(_ m: Model, atOpEnd: Bool) {
        // Stop after the first finding: the executor reports it and ends the run.
        if !m.findings.isEmpty { return }
        checkAttributes(m)
        checkFolios(m)
        checkHostPTEs(m)
        for vm in m.vms { if let vm { checkStage2(m, vm, atOpEnd: atOpEnd); checkTdx(m, vm, atOpEnd: atOpEnd) } }
        if !m.tdx.tds.isEmpty { checkTdxRefs(m) }
        if atOpEnd { checkOpEnd(m) }
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
        var pteRefs: [Int: Int] = [:]
        for p in m.procs { if let p { for pte in p.ptes.values { pteRefs[pte.folio.id, default: 0] += 1 } } }
        for f in m.pages.folios where !f.freed {
            let expected = f.filemapRefs + (pteRefs[f.id] ?? 0) + f.callerRefs + f.gupRefs
                + Model.gupPinBias * f.pins + f.transientRefs + f.lruRefs + f.tdxRefs + f.anonOwnerRefs
            if f.refcount != expected {
                m.report(.invariant(.G5, "folio \(f.id) (gmem\(f.inode) index \(f.index)) refcount \(f.refcount) != expected \(expected) [filemap \(f.filemapRefs) pte \(pteRefs[f.id] ?? 0) caller \(f.callerRefs) gup \(f.gupRefs) pins \(f.pins) transient \(f.transientRefs) lru \(f.lruRefs) tdx \(f.tdxRefs)]"))
            }
            if f.inFilemap != (f.filemapRefs == f.nrPages) {
                m.report(.invariant(.G5, "folio \(f.id): in filemap \(f.inFilemap) but filemap refs \(f.filemapRefs)"))
            }
            if f.refcount == 0 {
                m.report(.invariant(.G6, "folio \(f.id) has refcount 0 but was not freed"))
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
            if f.hwpoison {
                m.report(.invariant(.G14, "vm\(vm.id) maps hwpoisoned folio \(f.id) at gfn \(gfn)"))
            }
            if s.level > f.order {
                m.report(.invariant(.K5, "vm\(vm.id) maps gfn \(gfn) at level \(s.level) over an order-\(f.order) folio"))
            }
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
        if atOpEnd && vm.inval.inProgress != 0 {
            m.report(.invariant(.K1, "vm\(vm.id) returns to userspace with mmu_invalidate_in_progress = \(vm.inval.inProgress)"))
        }
    }

    /// G16 bindings, L1 locks.
    static func checkOpEnd(_ m: Model) {
        for f in m.files {
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
        for t in m.lockdep.held.indices where !m.lockdep.held[t].isEmpty {
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
    public func checkInvariants(atOpEnd: Bool) { Checker.check(self, atOpEnd: atOpEnd) }

    /// A short model-state dump for reports.
    public func stateDump() -> String {
        var out: [String] = []
        for vm in vms {
            guard let vm else { continue }
            let sp = vm.spte.keys.sorted().prefix(16).map { g in "\(g):\(vm.spte[g]!.isPrivate ? "P" : "S")" }
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
