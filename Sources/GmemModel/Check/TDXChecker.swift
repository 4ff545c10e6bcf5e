/// T invariants (tdx-semantics §6.1 I1-I13): mirror root vs Secure EPT vs guest_memfd.
extension Checker {
    static func checkTdx(_ m: Model, _ vm: VM, atOpEnd: Bool) {
        guard let kt = vm.tdx else { return }
        // T8: nothing transient survives the write/read mmu_lock section that created it.
        if vm.mmuLock.isFree {
            if let g = vm.mirror.frozen.first { m.report(.invariant(.T8, "vm\(vm.id) mirror SPTE for gfn \(g) still FROZEN with mmu_lock released")) }
            if kt.waitForSeptZap { m.report(.invariant(.T8, "vm\(vm.id) wait_for_sept_zap still set with mmu_lock released")) }
        }
        // T9
        if kt.preFaultAllowed && kt.state != .runnable {
            m.report(.invariant(.T9, "vm\(vm.id) pre_fault_allowed while the TD is \(kt.state.rawValue)"))
        }
        // T7
        if vm.mirror.nonLeafZappedWithHkid > 0 {
            m.report(.invariant(.T7, "vm\(vm.id) freed \(vm.mirror.nonLeafZappedWithHkid) mirror non-leaf SPTE(s) with the HKID assigned"))
        }
        guard let td = kt.td else {
            if !vm.mirror.isEmpty { m.report(.invariant(.T1, "vm\(vm.id) has mirror SPTEs but no TD")) }
            return
        }
        let leaves = td.leaves
        // T6
        if td.hkid == nil && !vm.bugged, let l = leaves.first {
            m.report(.invariant(.T6, "vm\(vm.id) S-EPT leaf for gfn \(l.gfn) (\(l.entry.state.rawValue)) with the HKID released"))
        }
        // T10
        for (v, e) in td.vcpuEpoch where e < td.epoch - 1 {
            m.report(.invariant(.T10, "vm\(vm.id) vcpu\(v) in guest mode since epoch \(e), TD epoch \(td.epoch)"))
        }
        // T4 (also checked when a folio is freed)
        for l in leaves {
            if let p = l.entry.page, p.folio.freed {
                m.report(.invariant(.T4, "vm\(vm.id) S-EPT \(l.entry.state.rawValue) leaf for gfn \(l.gfn) maps freed folio \(p.folio.id)"))
            }
        }
        // T13
        for l in leaves {
            if let p = l.entry.page, l.entry.level > p.folio.order {
                m.report(.invariant(.T13, "vm\(vm.id) S-EPT leaf at level \(l.entry.level) for gfn \(l.gfn) over an order-\(p.folio.order) folio"))
            }
        }
        if !vm.bugged { checkMirrorAgreement(m, vm, kt, td) }
        checkMirrorBacking(m, vm, atOpEnd: atOpEnd)
    }

    /// T1, T2
    static func checkMirrorAgreement(_ m: Model, _ vm: VM, _ kt: KvmTdx, _ td: TdxTD) {
        let premapDesign = m.v.has(.tdxPremapPopulate)
        var premapped = 0
        for gfn in vm.mirror.leaves.keys.sorted() where !vm.mirror.frozen.contains(gfn) {
            let s = vm.mirror.leaves[gfn]!
            guard let e = td.leaf(gfn) else {
                if premapDesign { premapped += 1; continue }
                m.report(.invariant(.T1, "vm\(vm.id) mirror leaf for gfn \(gfn) but the S-EPT entry is FREE"))
                return
            }
            if e.state != .mapped && e.state != .pending {
                m.report(.invariant(.T1, "vm\(vm.id) mirror leaf for gfn \(gfn) but the S-EPT entry is \(e.state.rawValue)"))
                return
            }
            if e.hpa != Pamt.hpa(s.ref) {
                m.report(.invariant(.T1, "vm\(vm.id) gfn \(gfn): mirror maps hpa \(Pamt.hpa(s.ref)), S-EPT maps \(e.hpa)"))
                return
            }
        }
        for l in td.leaves where vm.mirror.leaves[l.gfn] == nil && !vm.mirror.frozen.contains(l.gfn)
            && !vm.mirror.removing.contains(l.gfn) {
            m.report(.invariant(.T1, "vm\(vm.id) S-EPT \(l.entry.state.rawValue) leaf for gfn \(l.gfn) without a mirror leaf"))
            return
        }
        if td.hkid != nil {
            for (k, e) in td.sept where !e.state.isLeaf && vm.mirror.nonLeaf[k] == nil {
                m.report(.invariant(.T1, "vm\(vm.id) S-EPT non-leaf (level \(e.level), gfn \(SeptLevel.firstGfn(ofKey: k))) without a mirror non-leaf"))
                return
            }
            for k in vm.mirror.nonLeaf.keys where td.sept[k]?.state != .nonLeaf {
                m.report(.invariant(.T1, "vm\(vm.id) mirror non-leaf (level \(SeptLevel.level(ofKey: k)), gfn \(SeptLevel.firstGfn(ofKey: k))) is \(td.sept[k]?.state.rawValue ?? "FREE") in the S-EPT"))
                return
            }
        }
        if premapDesign {
            if kt.nrPremapped != premapped || kt.nrPremapped < 0 {
                m.report(.invariant(.T2, "vm\(vm.id) nr_premapped \(kt.nrPremapped) but \(premapped) mirror leaves have a FREE S-EPT entry"))
            } else if kt.state == .runnable && kt.nrPremapped != 0 {
                m.report(.invariant(.T2, "vm\(vm.id) RUNNABLE with nr_premapped \(kt.nrPremapped)"))
            }
        }
    }

    /// T3, T13 for mirror leaves.
    static func checkMirrorBacking(_ m: Model, _ vm: VM, atOpEnd: Bool) {
        for (gfn, s) in vm.mirror.leaves {
            let f = s.ref.folio
            if s.level > f.order {
                m.report(.invariant(.T13, "vm\(vm.id) mirror leaf at level \(s.level) for gfn \(gfn) over an order-\(f.order) folio"))
            }
            let inRange = vm.inval.inProgress > 0 && (vm.inval.rangeStart < 0 || (gfn >= vm.inval.rangeStart && gfn < vm.inval.rangeEnd))
            guard let slot = vm.slots[s.slotID], !slot.deleted, let file = slot.file, !file.released else {
                // kvm_gmem_release() NULLs slot->gmem.file before it zaps: only a leaf that
                // survives the syscall is a violation.
                if atOpEnd { m.report(.invariant(.T3, "vm\(vm.id) mirror leaf for gfn \(gfn) outlives its memslot or guest_memfd binding")) }
                continue
            }
            let idx = slot.index(of: gfn)
            if f.freed || file.inode.filemap[idx] !== f {
                if !inRange { m.report(.invariant(.T3, "vm\(vm.id) mirror leaf for gfn \(gfn) maps folio \(f.id), gmem\(file.inode.id) index \(idx) holds \(file.inode.filemap[idx].map { "folio \($0.id)" } ?? "nothing")")) }
                continue
            }
            if !inRange && !m.kvmMemIsPrivateQuiet(vm, gfn) {
                m.report(.invariant(.T3, "vm\(vm.id) mirror leaf for gfn \(gfn) whose attribute is shared"))
            }
        }
    }

    /// T5 over every live folio.
    static func checkTdxRefs(_ m: Model) {
        let r0 = m.v.has(.tdxPinPerPage), r2 = m.v.has(.tdxRefOnRemoveFailure) && !r0
        var expected: [Int: Int] = [:]
        if r0 {
            // One pin per S-EPT leaf (the TD outlives its VM in the module: a leaf whose removal
            // failed keeps its pin after kvm_destroy_vm) ...
            var mapped: Set<Int> = []
            for (_, td) in m.tdx.tds {
                for l in td.leaves { if let p = l.entry.page { mapped.insert(Pamt.hpa(p)); expected[p.folio.id, default: 0] += Model.pagesAt(l.entry.level) } }
            }
            // ... a failure after a successful REMOVE (WBINVD) keeps the pin of a page the S-EPT
            // no longer maps ...
            for (h, f) in m.tdx.removeFailed where !mapped.contains(h) { mapped.insert(h); expected[f.id, default: 0] += 1 }
            // ... and one per premapped mirror leaf (get_page before the premap count).
            for vm in m.vms {
                guard let vm, vm.tdx != nil else { continue }
                for (_, s) in vm.mirror.leaves where !mapped.contains(Pamt.hpa(s.ref)) { expected[s.ref.folio.id, default: 0] += 1 }
            }
        }
        if r2 { for f in m.tdx.removeFailed.values { expected[f.id, default: 0] += 1 } }
        for f in m.pages.folios where !f.freed && (f.tdxRefs != 0 || expected[f.id] != nil) {
            let want = expected[f.id] ?? 0
            if f.tdxRefs != want {
                let policy = r0 ? "R0" : (r2 ? "R2" : "R3")
                m.report(.invariant(.T5, "folio \(f.id) holds \(f.tdxRefs) TDX ref(s), policy \(policy) expects \(want)"))
                return
            }
        }
    }
}

extension Model {
    /// T4 at the moment a folio's frames go back to the allocator. A folio of a hugetlb page
    /// that other folios still use (a split or merge retiring the old folio) frees no frame: the
    /// hugetlb page returns to the pool as a whole with its last folio, and then every frame of
    /// it is checked.
    func checkFreedFolioNotInSept(_ f: Folio) {
        guard !tdx.tds.isEmpty else { return }
        let firstPfn: Int, nrPages: Int
        if let block = f.block {
            guard block.users == 1 else { return }
            (firstPfn, nrPages) = (block.pfnBase, block.nrPages)
        } else {
            (firstPfn, nrPages) = (f.pfn, f.nrPages)
        }
        let frames = firstPfn..<(firstPfn + nrPages)
        for (vmID, td) in tdx.tds.sorted(by: { $0.key < $1.key }) {
            for l in td.leaves {
                guard let p = l.entry.page, frames.contains(Pamt.hpa(p)) else { continue }
                report(.invariant(.T4, "folio \(p.folio.id) freed while vm\(vmID)'s S-EPT still maps it at gfn \(l.gfn) (\(l.entry.state.rawValue)): the page can be reused while the TDX module owns it"))
                return
            }
        }
        for hpa in frames {
            if let e = tdx.pamt.entries[hpa] {
                report(.invariant(.T4, "folio \(f.id) freed while the PAMT says TD vm\(e.td) owns page \(hpa - f.pfn) (\(e.owner.rawValue))"))
                return
            }
        }
    }

    /// The TDX part of the state dump.
    func tdxStateDump(_ vm: VM) -> String? {
        guard let kt = vm.tdx else { return nil }
        var s = "  td state=\(kt.state.rawValue)"
        guard let td = kt.td else { return s }
        s += " module=\(td.opState.rawValue) hkid=\(td.hkid.map(String.init) ?? "released") epoch=\(td.epoch)"
        if v.has(.tdxPremapPopulate) { s += " nr_premapped=\(kt.nrPremapped)" }
        let mirror = vm.mirror.leaves.keys.sorted().prefix(16).map { "\($0):\(Pamt.hpa(vm.mirror.leaves[$0]!.ref))" }
        let sept = td.leaves.prefix(16).map { "\($0.gfn):\($0.entry.state.rawValue)@\($0.entry.hpa)" }
        s += " mirror=[\(mirror.joined(separator: " "))] nonleaf=\(vm.mirror.nonLeaf.count) sept=[\(sept.joined(separator: " "))]"
        s += "\n  seamcalls: \(tdx.log.joined(separator: " "))"
        return s
    }
}
