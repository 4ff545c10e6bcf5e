import Testing
@testable import GmemModel

/// hugetlb-backed guest_memfd and huge stage-2 leaves (hp-v3; research gmem-semantics §3):
/// folio orders, leaf levels, split/merge, failure paths, and that the new invariants bite.
@Suite struct HugePageTests {
    static let base = 0x200

    /// vm0 (sw) + vcpu0 + gmem0 (`pages`, huge) bound by slot0 at gfn 0x200.
    static func setup(_ config: Config = Config(), pages: Int = 512, huge: HugeSize = .h2m,
                      flags: GmemFlags = [.mmap]) throws -> Model {
        let m = Model(config: config)
        #expect(m.vmCreate(vm: 0, type: .sw) == .ok)
        #expect(m.vcpuCreate(vm: 0, vcpu: 0) == .ok)
        #expect(m.gmemCreate(gmem: 0, vm: 0, pages: pages, flags: flags, huge: huge) == .ok)
        #expect(try m.slotCreate(vm: 0, slot: 0, gmem: 0, gfn: base, pages: pages, off: 0) == .ok)
        return m
    }

    static func expectClean(_ m: Model, sourceLocation: SourceLocation = #_sourceLocation) {
        m.checkInvariants(atOpEnd: true)
        let fs = m.drainFindings()
        #expect(fs.isEmpty, "unexpected findings: \(fs.map { "\($0.signature) \($0.message)" })", sourceLocation: sourceLocation)
    }

    static func inode(_ m: Model) -> GmemInode { m.files[0]!.inode }
    static func vm(_ m: Model) -> VM { m.vms[0]! }

    // MARK: allocation and faults

    @Test func allocationIsOneHugeFolio() throws {
        let m = try Self.setup(pages: 1024)
        #expect(try m.gmemAllocate(gmem: 0, page: 3, count: 1) == .ok)
        let f = try #require(Self.inode(m).filemap[3])
        #expect(f.order == 9 && f.index == 0 && f.nrPages == 512)
        #expect(f.refcount == 512 && f.filemapRefs == 512)          // filemap holds nr_pages refs
        #expect((0..<512).allSatisfy { Self.inode(m).filemap[$0] === f })
        #expect(Self.inode(m).filemap[512] == nil)
        #expect(m.pages.liveCount == 1)
        Self.expectClean(m)
    }

    @Test func privateFaultMapsOne2MLeaf() throws {
        let m = try Self.setup()
        #expect(try m.guestAccess(vcpu: 0, gfn: Self.base + 5, write: 0x41, privateKey: nil) == .ok)
        let vm = Self.vm(m)
        #expect(vm.spte.isEmpty)
        let leaf = try #require(vm.hugeSpte[Self.base])
        #expect(leaf.level == 1 && leaf.isPrivate && leaf.ref.page == 0)
        #expect(vm.leaf(covering: Self.base + 511)?.base == Self.base)
        #expect(vm.leaf(covering: Self.base + 512) == nil)
        // Every page reads through the one leaf; untouched pages were zeroed.
        #expect(try m.guestAccess(vcpu: 0, gfn: Self.base + 300, write: nil, privateKey: nil) == .value(0))
        #expect(try m.guestAccess(vcpu: 0, gfn: Self.base + 5, write: nil, privateKey: nil) == .value(0x41))
        // The caller ref of kvm_gmem_get_pfn was dropped: KVM holds no folio ref (I6).
        #expect(leaf.ref.folio.refcount == 512)
        Self.expectClean(m)
    }

    @Test func maxMappingLevelFollowsFolioOrderAttributesAndSlot() throws {
        let m = try Self.setup(pages: 1024)
        #expect(try m.gmemAllocate(gmem: 0, page: 0, count: 1024) == .ok)
        let vm = Self.vm(m), slot = vm.slots[0]!, inode = Self.inode(m)
        let f0 = inode.filemap[0]!
        #expect(m.maxMappingLevel(vm, slot: slot, gfn: Self.base, folio: f0, fromGmem: true, isPrivate: true) == 1)
        // A shared page in the huge range: the folio is split, the mapping order is 0 (I27).
        #expect(try m.gmemSetAttributes(gmem: 0, page: 700, count: 1, toPrivate: false) == .ok)
        let f1 = try #require(inode.filemap[600])
        #expect(f1.order == 0)
        #expect(m.maxMappingLevel(vm, slot: slot, gfn: Self.base + 600, folio: f1, fromGmem: true, isPrivate: true) == 0)
        // Not through guest_memfd (separate shared backing): 4K.
        #expect(m.maxMappingLevel(vm, slot: slot, gfn: Self.base, folio: f0, fromGmem: false, isPrivate: false) == 0)
        Self.expectClean(m)
    }

    @Test func misalignedSlotGets4KLeaves() throws {
        let m = Model()
        #expect(m.vmCreate(vm: 0, type: .sw) == .ok)
        #expect(m.vcpuCreate(vm: 0, vcpu: 0) == .ok)
        #expect(m.gmemCreate(gmem: 0, vm: 0, pages: 1024, flags: [], huge: .h2m) == .ok)
        // gfn 0x201 <-> index 0: gfn and index are not congruent modulo 512 (lpage_info).
        #expect(try m.slotCreate(vm: 0, slot: 0, gmem: 0, gfn: 0x201, pages: 600, off: 0) == .ok)
        // The slot covers indices [900, 1000): no whole 2M range inside it.
        #expect(try m.slotCreate(vm: 0, slot: 1, gmem: 0, gfn: 0x1000, pages: 100, off: 900) == .ok)
        #expect(try m.guestAccess(vcpu: 0, gfn: 0x205, write: 1, privateKey: nil) == .ok)
        #expect(try m.guestAccess(vcpu: 0, gfn: 0x1010, write: 2, privateKey: nil) == .ok)
        let vm = m.vms[0]!
        #expect(vm.hugeSpte.isEmpty)
        #expect(vm.spte[0x205]?.level == 0 && vm.spte[0x1010]?.level == 0)
        Self.expectClean(m)
    }

    @Test func fourKGuestMemfdNeverMapsHuge() throws {
        let m = try Self.setup(pages: 512, huge: .none)
        #expect(try m.guestAccess(vcpu: 0, gfn: Self.base, write: 1, privateKey: nil) == .ok)
        #expect(Self.vm(m).hugeSpte.isEmpty && Self.vm(m).spte.count == 1)
        Self.expectClean(m)
    }

    // MARK: conversion: split and merge

    @Test func toSharedSplitsLeafAndFolioAndZapsOnlyTheRange() throws {
        let m = try Self.setup()
        #expect(try m.guestAccess(vcpu: 0, gfn: Self.base + 5, write: 0x41, privateKey: nil) == .ok)
        #expect(try m.gmemSetAttributes(gmem: 0, page: 5, count: 1, toPrivate: false) == .ok)
        let vm = Self.vm(m), inode = Self.inode(m)
        #expect(vm.hugeSpte.isEmpty)
        #expect(vm.spte.count == 511)                      // split to 4K, only page 5 zapped
        #expect(vm.spte[Self.base + 5] == nil)
        #expect(vm.spte.values.allSatisfy { $0.isPrivate && $0.level == 0 })
        #expect((0..<512).allSatisfy { inode.filemap[$0]!.order == 0 && inode.filemap[$0]!.index == $0 })
        #expect((0..<512).allSatisfy { inode.filemap[$0]!.refcount == 1 })
        // Every 4K leaf resolves to the folio now holding its page (page_folio after the split).
        #expect(vm.spte.allSatisfy { g, s in inode.filemap[g - Self.base] === s.ref.folio && s.ref.page == 0 })
        #expect(vm.inval.inProgress == 0)
        // Contents are preserved in place.
        #expect(try m.guestAccess(vcpu: 0, gfn: Self.base + 5, write: nil, privateKey: false) == .value(0x41))
        Self.expectClean(m)
    }

    @Test func toPrivateMergesAndRefaultsAt2M() throws {
        let m = try Self.setup()
        #expect(try m.guestAccess(vcpu: 0, gfn: Self.base + 6, write: 0x42, privateKey: nil) == .ok)
        #expect(try m.gmemSetAttributes(gmem: 0, page: 5, count: 1, toPrivate: false) == .ok)
        let liveAfterSplit = m.pages.liveCount
        #expect(liveAfterSplit == 512)
        #expect(try m.gmemSetAttributes(gmem: 0, page: 5, count: 1, toPrivate: true) == .ok)
        let inode = Self.inode(m), vm = Self.vm(m)
        let merged = try #require(inode.filemap[0])
        #expect(merged.order == 9 && merged.uptodate && merged.refcount == 512)
        #expect(m.pages.liveCount == 1)
        // Leftover 4K leaves were retargeted to the merged folio.
        #expect(vm.spte.values.allSatisfy { $0.ref.folio === merged })
        // The converted page faults again, now at 2M: the 4K leaves are replaced (promotion).
        #expect(try m.guestAccess(vcpu: 0, gfn: Self.base + 5, write: nil, privateKey: nil) == .value(0))
        #expect(vm.spte.isEmpty && vm.hugeSpte[Self.base]?.level == 1)
        #expect(try m.guestAccess(vcpu: 0, gfn: Self.base + 6, write: nil, privateKey: nil) == .value(0x42))
        Self.expectClean(m)
    }

    @Test func mergeSkipsARangeWithExtraRefs() throws {
        let m = try Self.setup()
        #expect(try m.gmemSetAttributes(gmem: 0, page: 5, count: 1, toPrivate: false) == .ok)
        #expect(try m.gmemAllocate(gmem: 0, page: 0, count: 512) == .ok)
        #expect(m.mmRef(gmem: 0, page: 100) == .ok)        // a speculative ref on a private piece
        #expect(try m.gmemSetAttributes(gmem: 0, page: 5, count: 1, toPrivate: true) == .ok)
        #expect(Self.inode(m).filemap[0]!.order == 0)      // stays split (try_merge)
        #expect(m.mmUnref(gmem: 0, page: 100) == .ok)
        Self.expectClean(m)
    }

    @Test func folioSplitFailureChangesNothingButLeafSplit() throws {
        let m = try Self.setup()
        #expect(try m.guestAccess(vcpu: 0, gfn: Self.base + 3, write: 0x33, privateKey: nil) == .ok)
        let before = Self.inode(m).attrs
        m.inject.add(alloc: .folioSplit, times: 1)
        #expect(try m.gmemSetAttributes(gmem: 0, page: 3, count: 1, toPrivate: false) == .err(.ENOMEM, errorOffset: 3))
        let inode = Self.inode(m), vm = Self.vm(m)
        #expect(inode.attrs == before)
        #expect(inode.filemap[0]!.order == 9)              // no split happened
        #expect(vm.hugeSpte.isEmpty && vm.spte.count == 512)   // leaves split to 4K, none zapped
        #expect(vm.spte.values.allSatisfy { $0.ref.folio === inode.filemap[0]! })
        #expect(vm.inval.inProgress == 0)
        Self.expectClean(m)
    }

    @Test func leafSplitFailureKeepsThe2MLeaf() throws {
        let m = try Self.setup()
        #expect(try m.guestAccess(vcpu: 0, gfn: Self.base + 3, write: 0x33, privateKey: nil) == .ok)
        m.inject.add(alloc: .septSplit, times: 1)
        #expect(try m.gmemSetAttributes(gmem: 0, page: 3, count: 1, toPrivate: false) == .err(.ENOMEM, errorOffset: 3))
        #expect(Self.vm(m).hugeSpte[Self.base]?.level == 1)
        #expect(Self.inode(m).filemap[0]!.order == 9)
        #expect(Self.vm(m).inval.inProgress == 0 && Self.vm(m).inval.seq == 1)   // begin/end balanced
        Self.expectClean(m)
    }

    @Test func extraRefFailsTheSplitWithEFAULT() throws {
        let m = try Self.setup()
        #expect(try m.gmemAllocate(gmem: 0, page: 0, count: 1) == .ok)
        #expect(m.mmRef(gmem: 0, page: 7) == .ok)
        #expect(try m.gmemSetAttributes(gmem: 0, page: 3, count: 1, toPrivate: false) == .err(.EFAULT, errorOffset: 3))
        #expect(Self.inode(m).attrs.all(0, 512, private: true))
        #expect(m.mmUnref(gmem: 0, page: 7) == .ok)
        #expect(try m.gmemSetAttributes(gmem: 0, page: 3, count: 1, toPrivate: false) == .ok)
        Self.expectClean(m)
    }

    // MARK: punch and memory

    @Test func partialPunchSplitsCrossingLeafAndZeroes() throws {
        let m = try Self.setup()
        #expect(try m.guestAccess(vcpu: 0, gfn: Self.base + 5, write: 0x41, privateKey: nil) == .ok)
        #expect(try m.guestAccess(vcpu: 0, gfn: Self.base + 6, write: 0x42, privateKey: nil) == .ok)
        #expect(try m.gmemPunchHole(gmem: 0, page: 5, count: 1) == .ok)
        let vm = Self.vm(m)
        #expect(vm.hugeSpte.isEmpty && vm.spte.count == 511 && vm.spte[Self.base + 5] == nil)
        #expect(Self.inode(m).filemap[0]!.order == 9)      // the folio stays, only zeroed
        #expect(try m.guestAccess(vcpu: 0, gfn: Self.base + 5, write: nil, privateKey: nil) == .value(0))
        #expect(try m.guestAccess(vcpu: 0, gfn: Self.base + 6, write: nil, privateKey: nil) == .value(0x42))
        Self.expectClean(m)
    }

    @Test func payloadIsFreedWithTheLastPiece() throws {
        let m = try Self.setup()
        #expect(try m.gmemSetAttributes(gmem: 0, page: 5, count: 1, toPrivate: false) == .ok)
        #expect(try m.gmemAllocate(gmem: 0, page: 0, count: 512) == .ok)
        #expect(m.pages.liveCount == 512)
        let block = try #require(Self.inode(m).filemap[0]!.block)
        #expect(block.users == 512)
        #expect(try m.gmemPunchHole(gmem: 0, page: 0, count: 512) == .ok)
        #expect(m.pages.liveCount == 0 && block.users == 0)
        Self.expectClean(m)
    }

    @Test func oneGigFolioSplitsAndMerges() throws {
        let m = try Self.setup(pages: 262144, huge: .h1g)
        #expect(try m.guestAccess(vcpu: 0, gfn: Self.base + 5, write: 0x41, privateKey: nil) == .ok)
        let inode = Self.inode(m), vm = Self.vm(m)
        #expect(inode.filemap[0]!.order == 18)
        #expect(vm.hugeSpte[Self.base]?.level == Model.kvmMaxHugePageLevel)   // 2M leaves over 1G
        #expect(try m.gmemSetAttributes(gmem: 0, page: 5, count: 1, toPrivate: false) == .ok)
        #expect(m.pages.liveCount == 262144 && inode.filemap[262143]!.order == 0)
        #expect(vm.hugeSpte.isEmpty && vm.spte.count == 511)
        #expect(try m.gmemSetAttributes(gmem: 0, page: 5, count: 1, toPrivate: true) == .ok)
        #expect(m.pages.liveCount == 1 && inode.filemap[0]!.order == 18)
        #expect(m.pages.folios.count <= 4097)              // most freed pieces left the registry
        Self.expectClean(m)
    }

    @Test func sizesMustBeWholeHugePages() throws {
        let m = Model()
        #expect(m.vmCreate(vm: 0, type: .sw) == .ok)
        #expect(m.gmemCreate(gmem: 0, vm: 0, pages: 511, flags: [], huge: .h2m) == .err(.EINVAL))
        #expect(m.gmemCreate(gmem: 0, vm: 0, pages: 512 * 9, flags: [], huge: .h2m) == .skipped)   // model cap
        #expect(m.gmemCreate(gmem: 0, vm: 0, pages: 512, flags: [], huge: .h1g) == .err(.EINVAL))
        let old = Model(config: Config(profile: .ipcV8Fix))
        #expect(old.vmCreate(vm: 0, type: .sw) == .ok)
        #expect(old.gmemCreate(gmem: 0, vm: 0, pages: 512, flags: [], huge: .h2m) == .err(.EINVAL))
    }

    // MARK: the invariants bite

    @Test func k5FiresForALeafLargerThanItsFolio() throws {
        let m = try Self.setup(pages: 512, huge: .none)
        #expect(try m.guestAccess(vcpu: 0, gfn: Self.base, write: 1, privateKey: nil) == .ok)
        let vm = Self.vm(m)
        let removed = vm.spte.removeValue(forKey: Self.base)
        var s = try #require(removed)
        s.level = 1
        vm.hugeSpte[Self.base] = s
        m.checkInvariants(atOpEnd: true)
        #expect(m.drainFindings().map(\.signature).contains { $0.hasPrefix("invariant:K5") })
    }

    @Test func k7FiresForAHugeLeafOverMixedAttributes() throws {
        let m = try Self.setup()
        #expect(try m.guestAccess(vcpu: 0, gfn: Self.base, write: 1, privateKey: nil) == .ok)
        Self.inode(m).attrs.store(9, 10, private: false)   // behind KVM's back
        Checker.checkHugeLeaves(m, Self.vm(m), atOpEnd: true)
        #expect(m.drainFindings().map(\.signature).contains { $0.hasPrefix("invariant:K7") })
    }

    @Test func g18FiresForAHugeFolioBackingASharedIndex() throws {
        let m = try Self.setup()
        #expect(try m.gmemAllocate(gmem: 0, page: 0, count: 1) == .ok)
        Self.inode(m).attrs.store(9, 10, private: false)
        m.checkInvariants(atOpEnd: true)
        #expect(m.drainFindings().map(\.signature).contains { $0.hasPrefix("invariant:G18") })
    }

    @Test func splitBeforeZapReportsG19() throws {
        let m = try Self.setup(Config(plus: [.splitBeforeZap]))
        #expect(try m.guestAccess(vcpu: 0, gfn: Self.base + 3, write: 0x33, privateKey: nil) == .ok)
        #expect(try m.gmemSetAttributes(gmem: 0, page: 3, count: 1, toPrivate: false) == .ok)
        let sigs = m.drainFindings().map(\.signature)
        #expect(sigs.count == 1 && sigs[0].hasPrefix("invariant:G19"), "\(sigs)")
    }
}
