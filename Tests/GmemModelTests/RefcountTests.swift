import Testing
@testable import GmemModel

/// Folio refcount accounting against the oracle table of research/gmem-semantics.md §1.7
/// ("Per-state expected refcount table for an order-0 folio present in the filemap"):
///
///   allocated, not mapped anywhere            1 (+1 while in an lru_add batch)
///   shared, mapped by N host PTEs             1 + N
///   shared, GUP'ed k times, pinned p times    1 + N + k + 1024·p
///   private, mapped in stage-2                1
///   during kvm_gmem_get_pfn / user fault      +1
///   after truncation, still referenced        refs − 1 (no longer in filemap)
///
/// Everything is driven through the public Model API; `@testable` is only used to look at
/// `model.pages` and folio fields. Every correct-profile sequence must stay free of findings.
@Suite struct RefcountTests {
    static let base = 0x100

    /// vm0 (sw) + vcpu0 + gmem0 (`pages`, `flags`) bound by slot0 at gfn 0x100.
    static func setup(_ config: Config = Config(), pages: Int = 4,
                      flags: GmemFlags = [.mmap, .initShared]) throws -> Model {
        let m = Model(config: config)
        #expect(m.vmCreate(vm: 0, type: .sw) == .ok)
        #expect(m.vcpuCreate(vm: 0, vcpu: 0) == .ok)
        #expect(m.gmemCreate(gmem: 0, vm: 0, pages: pages, flags: flags, huge: .none) == .ok)
        #expect(try m.slotCreate(vm: 0, slot: 0, gmem: 0, gfn: base, pages: pages, off: 0) == .ok)
        try expectClean(m)
        return m
    }

    /// No finding of any kind after the op-end invariant check.
    static func expectClean(_ m: Model, sourceLocation: SourceLocation = #_sourceLocation) throws {
        m.checkInvariants(atOpEnd: true)
        let fs = m.drainFindings()
        #expect(fs.isEmpty, "unexpected findings: \(fs.map { "\($0.kind.rawValue):\($0.id) \($0.message)" })",
                sourceLocation: sourceLocation)
    }

    static func folio(_ m: Model, _ page: Int, gmem: Int = 0) -> Folio? {
        m.inodes[m.files[gmem]!.inode.id].filemap[page]
    }

    // MARK: allocation

    @Test func allocatedFolioHasOnlyTheFilemapRef() throws {
        let m = try Self.setup()
        #expect(Self.folio(m, 0) == nil)
        #expect(try m.gmemAllocate(gmem: 0, page: 0, count: 4) == .ok)
        try Self.expectClean(m)
        #expect(m.pages.folios.count == 4)
        #expect(m.pages.liveCount == 4)
        for i in 0..<4 {
            let f = try #require(Self.folio(m, i))
            #expect(f.refcount == 1)
            #expect(f.filemapRefs == 1)
            #expect(f.callerRefs == 0)       // kvm_gmem_get_folio's ref was dropped
            #expect(f.inFilemap)
            #expect(!f.uptodate)             // fallocate does not zero (research §2.3)
            #expect(!f.lock.heldBy(0))       // and unlocked it
            #expect(f.index == i && f.order == 0)
        }
        // Allocating again finds the same folios: no new allocation, no extra ref.
        #expect(try m.gmemAllocate(gmem: 0, page: 0, count: 4) == .ok)
        #expect(m.pages.folios.count == 4)
        #expect((0..<4).allSatisfy { Self.folio(m, $0)?.refcount == 1 })
        try Self.expectClean(m)
    }

    @Test func lruBatchAddsOneTransientRef() throws {
        let m = try Self.setup()
        #expect(try m.gmemAllocate(gmem: 0, page: 1, count: 1) == .ok)
        #expect(m.mmLru(gmem: 0, page: 1) == .ok)
        let f = try #require(Self.folio(m, 1))
        #expect(f.refcount == 2)
        #expect(f.lruRefs == 1)
        try Self.expectClean(m)
        // No folio at page 0: nothing to put in a batch.
        #expect(m.mmLru(gmem: 0, page: 0) == .err(.ENOENT))
    }

    // MARK: host mappings

    @Test func sharedMappedByNProcessesIsOnePlusN() throws {
        let m = try Self.setup()
        for p in 0..<3 { #expect(try m.hostMmap(proc: p, gmem: 0) == .ok) }
        // mmap alone installs no PTE.
        #expect(Self.folio(m, 1) == nil)
        #expect(try m.hostAccess(proc: 0, gmem: 0, page: 1, write: 0x41) == .ok)
        let f = try #require(Self.folio(m, 1))
        #expect(f.refcount == 2)
        #expect(f.uptodate)                  // the user fault zeroed it first
        #expect(try m.hostAccess(proc: 1, gmem: 0, page: 1, write: nil) == .value(0x41))
        #expect(f.refcount == 3)
        #expect(try m.hostAccess(proc: 2, gmem: 0, page: 1, write: nil) == .value(0x41))
        #expect(f.refcount == 4)
        try Self.expectClean(m)
        // A second access through an existing PTE takes no ref.
        #expect(try m.hostAccess(proc: 2, gmem: 0, page: 1, write: 0x42) == .ok)
        #expect(f.refcount == 4)
        // Another page mapped by one process only.
        #expect(try m.hostAccess(proc: 1, gmem: 0, page: 3, write: nil) == .value(0x00))
        #expect(try #require(Self.folio(m, 3)).refcount == 2)
        #expect(f.refcount == 4)
        // munmap drops exactly that process's PTE refs.
        #expect(try m.hostMunmap(proc: 1, gmem: 0) == .ok)
        #expect(f.refcount == 3)
        #expect(try #require(Self.folio(m, 3)).refcount == 1)
        #expect(try m.hostMunmap(proc: 2, gmem: 0) == .ok)
        #expect(f.refcount == 2)
        try Self.expectClean(m)
    }

    @Test func forkDoesNotCopySharedFilePTEs() throws {
        let m = try Self.setup()
        #expect(try m.hostMmap(proc: 0, gmem: 0) == .ok)
        #expect(try m.hostAccess(proc: 0, gmem: 0, page: 0, write: 0x17) == .ok)
        let f = try #require(Self.folio(m, 0))
        #expect(f.refcount == 2)
        #expect(try m.hostFork(proc: 0, child: 1) == .ok)
        #expect(f.refcount == 2)             // copy_page_range skips shared file PTEs
        #expect(try m.hostAccess(proc: 1, gmem: 0, page: 0, write: nil) == .value(0x17))
        #expect(f.refcount == 3)             // the child refaulted
        try Self.expectClean(m)
    }

    @Test func privateIndexIsNeverHostMapped() throws {
        let m = try Self.setup(flags: [.mmap])   // all private
        #expect(try m.hostMmap(proc: 0, gmem: 0) == .ok)
        #expect(try m.hostAccess(proc: 0, gmem: 0, page: 0, write: nil) == .sigbus)
        #expect(try m.hostAccess(proc: 0, gmem: 0, page: 0, write: 1) == .sigbus)
        #expect(Self.folio(m, 0) == nil)        // the fault refused before allocating
        #expect(m.procs[0]!.ptes.isEmpty)
        // GUP of a private index faults -> SIGBUS -> the pin fails (research §2.7).
        #expect(try m.hostPin(gmem: 0, page: 0, proc: 0) == .err(.EFAULT))
        #expect(Self.folio(m, 0) == nil)
        try Self.expectClean(m)
    }

    // MARK: pins

    @Test func pinsCount1024Each() throws {
        let m = try Self.setup()
        #expect(try m.hostMmap(proc: 0, gmem: 0) == .ok)
        #expect(try m.hostMmap(proc: 1, gmem: 0) == .ok)
        #expect(try m.hostAccess(proc: 1, gmem: 0, page: 2, write: nil) == .value(0))
        let f = try #require(Self.folio(m, 2))
        #expect(f.refcount == 2)                                   // 1 + N (N = 1)
        // Pinning through proc 0, which has no PTE yet: GUP faults it in (+1 PTE) and pins.
        #expect(try m.hostPin(gmem: 0, page: 2, proc: 0) == .ok)
        #expect(f.refcount == 1 + 2 + 1024)                        // N = 2, p = 1
        #expect(f.pins == 1)
        try Self.expectClean(m)
        #expect(try m.hostPin(gmem: 0, page: 2, proc: 1) == .ok)
        #expect(f.refcount == 1 + 2 + 2 * 1024)                    // p = 2
        try Self.expectClean(m)
        #expect(m.hostUnpin(gmem: 0, page: 2) == .ok)
        #expect(f.refcount == 1 + 2 + 1024)
        #expect(m.hostUnpin(gmem: 0, page: 2) == .ok)
        #expect(f.refcount == 1 + 2)
        #expect(f.pins == 0)
        // Nothing left to unpin.
        #expect(m.hostUnpin(gmem: 0, page: 2) == .err(.EINVAL))
        #expect(f.refcount == 3)
        try Self.expectClean(m)
    }

    @Test func pinWithoutMappingIsEFAULT() throws {
        let m = try Self.setup()
        #expect(try m.hostPin(gmem: 0, page: 0, proc: 0) == .err(.EFAULT))   // no VMA
        #expect(Self.folio(m, 0) == nil)
        try Self.expectClean(m)
    }

    // MARK: stage-2

    @Test func privateStage2MappingHoldsNoRef() throws {
        let m = try Self.setup(flags: [.mmap])   // private
        #expect(try m.guestAccess(vcpu: 0, gfn: Self.base + 1, write: 0x5a, privateKey: nil) == .ok)
        let vm = try #require(m.vms[0])
        let s = try #require(vm.spte[Self.base + 1])
        #expect(s.isPrivate)
        let f = try #require(Self.folio(m, 1))
        #expect(s.ref.folio === f)
        #expect(f.refcount == 1)             // KVM holds no reference for the SPTE
        #expect(f.callerRefs == 0)           // the get_pfn ref was released after install
        #expect(try m.guestAccess(vcpu: 0, gfn: Self.base + 1, write: nil, privateKey: true) == .value(0x5a))
        #expect(f.refcount == 1)
        try Self.expectClean(m)
        // Converting to shared zaps the private SPTE and leaves the ref alone.
        #expect(try m.gmemSetAttributes(gmem: 0, page: 1, count: 1, toPrivate: false) == .ok)
        #expect(vm.spte[Self.base + 1] == nil)
        #expect(f.refcount == 1)
        #expect(f.inFilemap)
        try Self.expectClean(m)
        // In-place conversion preserves the bytes; the host can now map it: 1 + 1.
        #expect(try m.hostMmap(proc: 0, gmem: 0) == .ok)
        #expect(try m.hostAccess(proc: 0, gmem: 0, page: 1, write: nil) == .value(0x5a))
        #expect(f.refcount == 2)
        try Self.expectClean(m)
    }

    @Test func sharedStage2MappingHoldsNoRef() throws {
        let m = try Self.setup()             // shared, gmem-only slot
        #expect(try m.hostMmap(proc: 0, gmem: 0) == .ok)
        #expect(try m.hostAccess(proc: 0, gmem: 0, page: 0, write: 0x33) == .ok)
        let f = try #require(Self.folio(m, 0))
        #expect(f.refcount == 2)
        #expect(try m.guestAccess(vcpu: 0, gfn: Self.base, write: nil, privateKey: nil) == .value(0x33))
        let s = try #require(m.vms[0]!.spte[Self.base])
        #expect(!s.isPrivate && s.gmemBacked)
        #expect(f.refcount == 2)             // host PTE + filemap; the SPTE adds nothing
        try Self.expectClean(m)
    }

    @Test func getPfnHoldsOneRefWhileInFlight() throws {
        let m = try Self.setup(flags: [.mmap])
        var seen: [Int] = []
        m.onSchedPoint = { m in
            if let f = m.inodes[0].filemap[2] { seen.append(f.refcount) }
        }
        #expect(try m.guestAccess(vcpu: 0, gfn: Self.base + 2, write: nil, privateKey: nil) == .value(0))
        m.onSchedPoint = nil
        // Between kvm_gmem_get_pfn and kvm_release_faultin_page the fault holds +1 (taking
        // mmu_lock is a scheduling point inside that window).
        #expect(seen.max() == 2)
        #expect(try #require(Self.folio(m, 2)).refcount == 1)
        try Self.expectClean(m)
    }

    // MARK: truncation and freeing

    @Test func punchWithPinLeavesFolioAliveOutOfFilemap() throws {
        let m = try Self.setup()
        #expect(try m.hostMmap(proc: 0, gmem: 0) == .ok)
        #expect(try m.hostMmap(proc: 1, gmem: 0) == .ok)
        #expect(try m.hostAccess(proc: 0, gmem: 0, page: 1, write: 0x77) == .ok)
        #expect(try m.hostPin(gmem: 0, page: 1, proc: 1) == .ok)
        let f = try #require(Self.folio(m, 1))
        #expect(f.refcount == 1 + 2 + 1024)
        let freedBefore = m.pages.liveCount
        #expect(try m.gmemPunchHole(gmem: 0, page: 1, count: 1) == .ok)
        try Self.expectClean(m)
        // Out of the filemap, unmapped everywhere, still alive with the pin only:
        // (1 + 1024) − 1 per the table, the two PTE refs gone with their PTEs.
        #expect(Self.folio(m, 1) == nil)
        #expect(!f.inFilemap)
        #expect(!f.freed)
        #expect(f.refcount == 1024)
        #expect(f.filemapRefs == 0)
        #expect(m.procs[0]!.ptes.isEmpty && m.procs[1]!.ptes.isEmpty)
        #expect(m.pages.liveCount == freedBefore)
        // The pinned frame still holds the old data (DMA target), while a new fault gets a
        // fresh zeroed folio.
        #expect(f.frame(0).load(as: UInt8.self) == 0x77)
        #expect(try m.hostAccess(proc: 0, gmem: 0, page: 1, write: nil) == .value(0))
        let g = try #require(Self.folio(m, 1))
        #expect(g !== f)
        #expect(g.refcount == 2)
        try Self.expectClean(m)
        // The last unpin frees the old folio.
        #expect(m.hostUnpin(gmem: 0, page: 1) == .ok)
        #expect(f.freed)
        #expect(f.refcount == 0)
        #expect(m.pages.liveCount == freedBefore)   // one freed, one allocated since
        try Self.expectClean(m)
    }

    @Test func punchOfUnmappedPinnedFolioIsRefsMinusOne() throws {
        let m = try Self.setup()
        #expect(try m.hostMmap(proc: 0, gmem: 0) == .ok)
        #expect(try m.hostPin(gmem: 0, page: 0, proc: 0) == .ok)
        #expect(try m.hostMunmap(proc: 0, gmem: 0) == .ok)          // the pin survives munmap
        let f = try #require(Self.folio(m, 0))
        let before = f.refcount
        #expect(before == 1 + 1024)
        #expect(try m.gmemPunchHole(gmem: 0, page: 0, count: 4) == .ok)
        #expect(f.refcount == before - 1)
        #expect(!f.inFilemap && !f.freed)
        try Self.expectClean(m)
    }

    @Test func folioFreedExactlyWhenRefcountHitsZero() throws {
        let m = try Self.setup()
        #expect(try m.gmemAllocate(gmem: 0, page: 0, count: 2) == .ok)
        let f0 = try #require(Self.folio(m, 0))
        let f1 = try #require(Self.folio(m, 1))
        #expect(m.mmRef(gmem: 0, page: 0) == .ok)
        #expect(m.mmRef(gmem: 0, page: 0) == .ok)
        #expect(f0.refcount == 3)
        #expect(try m.gmemPunchHole(gmem: 0, page: 0, count: 2) == .ok)
        // f1 had only the filemap ref: freed at removal. f0 survives on its transient refs.
        #expect(f1.freed && f1.refcount == 0)
        #expect(!f0.freed && f0.refcount == 2 && !f0.inFilemap)
        #expect(m.pages.liveCount == 1)
        try Self.expectClean(m)
        #expect(m.mmUnref(gmem: 0, page: 0) == .ok)
        #expect(!f0.freed && f0.refcount == 1)
        #expect(m.mmUnref(gmem: 0, page: 0) == .ok)
        #expect(f0.freed && f0.refcount == 0)
        #expect(m.pages.liveCount == 0)
        #expect(m.mmUnref(gmem: 0, page: 0) == .err(.EINVAL))
        #expect(m.pages.folios.allSatisfy { $0.freed == ($0.refcount == 0) })
        try Self.expectClean(m)
    }

    @Test func closeEvictsAndFreesUnreferencedFolios() throws {
        let m = try Self.setup()
        #expect(try m.hostMmap(proc: 0, gmem: 0) == .ok)
        #expect(try m.hostAccess(proc: 0, gmem: 0, page: 0, write: 1) == .ok)
        #expect(try m.hostPin(gmem: 0, page: 3, proc: 0) == .ok)
        #expect(try m.gmemAllocate(gmem: 0, page: 1, count: 1) == .ok)
        let pinned = try #require(Self.folio(m, 3))
        #expect(try m.gmemClose(gmem: 0) == .ok)
        // The VMA still holds the file: nothing released or freed yet.
        #expect(m.pages.liveCount == 3)
        #expect(!m.files[0]!.released)
        try Self.expectClean(m)
        #expect(try m.hostMunmap(proc: 0, gmem: 0) == .ok)
        // Last file reference: release + eviction. Only the pinned folio lives on.
        #expect(m.files[0]!.released)
        #expect(m.inodes[0].evicted)
        #expect(m.pages.liveCount == 1)
        #expect(!pinned.freed && !pinned.inFilemap && pinned.refcount == 1024)
        #expect(m.pages.folios.filter { $0 !== pinned }.allSatisfy { $0.freed })
        try Self.expectClean(m)
        #expect(m.hostUnpin(gmem: 0, page: 3) == .ok)
        #expect(pinned.freed)
        #expect(m.pages.liveCount == 0)
        try Self.expectClean(m)
    }

    @Test func lastVMReferenceGoesWithTheLastGmemFile() throws {
        // The gmem file pins the VM (kvm_get_kvm in kvm_gmem_create): closing the VM fd first
        // destroys nothing; closing the gmem fd then releases the file, destroys the VM and
        // evicts the inode, freeing every folio.
        let m = try Self.setup(flags: [.mmap])
        #expect(try m.guestAccess(vcpu: 0, gfn: Self.base, write: 1, privateKey: nil) == .ok)
        #expect(try m.gmemAllocate(gmem: 0, page: 1, count: 3) == .ok)
        #expect(m.pages.liveCount == 4)
        #expect(try m.vmDestroy(vm: 0) == .ok)
        #expect(m.vms[0] != nil && !m.vms[0]!.destroyed)
        #expect(m.pages.liveCount == 4)
        try Self.expectClean(m)
        #expect(try m.gmemClose(gmem: 0) == .ok)
        #expect(m.vms[0] == nil)
        #expect(m.pages.liveCount == 0)
        #expect(m.pages.folios.allSatisfy { $0.freed && $0.refcount == 0 })
        try Self.expectClean(m)
    }

    @Test func sharedBackingPageIsFreedWithItsSlot() throws {
        // INIT_SHARED without MMAP: the slot is not gmem-only, so a shared guest access is
        // served from the slot's separate (anonymous) backing, not from guest_memfd.
        let m = try Self.setup(flags: [.initShared])
        #expect(try m.guestAccess(vcpu: 0, gfn: Self.base + 3, write: 0x61, privateKey: nil) == .ok)
        #expect(Self.folio(m, 3) == nil)                 // guest_memfd untouched
        let s = try #require(m.vms[0]!.spte[Self.base + 3])
        #expect(!s.isPrivate && !s.gmemBacked)
        let anon = s.ref.folio
        #expect(anon.inode == -1)
        #expect(anon.refcount == 1)                      // the owner's ref; the SPTE adds none
        try Self.expectClean(m)
        // Converting the gfn to private zaps the shared SPTE; the next access faults the
        // gmem page (zeroed, not the anonymous data).
        #expect(try m.gmemSetAttributes(gmem: 0, page: 3, count: 1, toPrivate: true) == .ok)
        #expect(m.vms[0]!.spte[Self.base + 3] == nil)
        #expect(try m.guestAccess(vcpu: 0, gfn: Self.base + 3, write: nil, privateKey: nil) == .value(0))
        #expect(try #require(Self.folio(m, 3)).refcount == 1)
        #expect(anon.refcount == 1 && !anon.freed)
        try Self.expectClean(m)
        #expect(try m.slotDelete(vm: 0, slot: 0) == .ok)
        #expect(anon.freed)
        #expect(m.vms[0]!.spte.isEmpty)
        #expect(try #require(Self.folio(m, 3)).refcount == 1)   // gmem memory outlives the slot
        try Self.expectClean(m)
    }

    // MARK: conversion and the safe-refcount check

    @Test func pinnedPageFailsToPrivateWithErrorOffset() throws {
        let m = try Self.setup()
        #expect(try m.hostMmap(proc: 0, gmem: 0) == .ok)
        for p in 0..<4 { #expect(try m.hostAccess(proc: 0, gmem: 0, page: p, write: UInt8(p)) == .ok) }
        #expect(try m.hostPin(gmem: 0, page: 2, proc: 0) == .ok)
        let f2 = try #require(Self.folio(m, 2))
        #expect(f2.refcount == 1 + 1 + 1024)
        let attrs = m.inodes[0].attrs
        #expect(try m.gmemSetAttributes(gmem: 0, page: 0, count: 4, toPrivate: true) == .err(.EAGAIN, errorOffset: 2))
        try Self.expectClean(m)
        // All-or-nothing: no attribute changed; the host PTEs were zapped (re-faultable).
        #expect(m.inodes[0].attrs == attrs)
        #expect(m.inodes[0].attrs.all(0, 4, private: false))
        #expect(m.procs[0]!.ptes.isEmpty)
        #expect(f2.refcount == 1 + 1024)
        #expect((0..<4).filter { $0 != 2 }.allSatisfy { Self.folio(m, $0)?.refcount == 1 })
        // A request that starts at the pinned page reports that page.
        #expect(try m.gmemSetAttributes(gmem: 0, page: 2, count: 2, toPrivate: true) == .err(.EAGAIN, errorOffset: 2))
        // Per-page: the other pages convert fine (research §2.7, selftest 39/46).
        #expect(try m.gmemSetAttributes(gmem: 0, page: 3, count: 1, toPrivate: true) == .ok)
        #expect(try m.gmemSetAttributes(gmem: 0, page: 0, count: 2, toPrivate: true) == .ok)
        try Self.expectClean(m)
        // to-shared never checks refs.
        #expect(try m.gmemSetAttributes(gmem: 0, page: 3, count: 1, toPrivate: false) == .ok)
        // After unpin the bulk conversion succeeds.
        #expect(m.hostUnpin(gmem: 0, page: 2) == .ok)
        #expect(f2.refcount == 1)
        #expect(try m.gmemSetAttributes(gmem: 0, page: 0, count: 4, toPrivate: true) == .ok)
        #expect(m.inodes[0].attrs.all(0, 4, private: true))
        #expect((0..<4).allSatisfy { Self.folio(m, $0)?.refcount == 1 })
        // Private now: the host gets SIGBUS and no PTE.
        #expect(try m.hostAccess(proc: 0, gmem: 0, page: 2, write: nil) == .sigbus)
        #expect(f2.refcount == 1)
        try Self.expectClean(m)
    }

    @Test func transientRefFailsToPrivateEvenAfterDrain() throws {
        let m = try Self.setup(Config(profile: .ipcV8Fix))
        #expect(try m.gmemAllocate(gmem: 0, page: 0, count: 4) == .ok)
        #expect(m.mmRef(gmem: 0, page: 3) == .ok)
        #expect(m.mmLru(gmem: 0, page: 3) == .ok)
        #expect(try m.gmemSetAttributes(gmem: 0, page: 1, count: 3, toPrivate: true) == .err(.EAGAIN, errorOffset: 3))
        // The drain ran (lru ref gone) but the transient ref keeps it unsafe; no liveness finding:
        // dropping the transient ref is enough to make a retry succeed.
        let f3 = try #require(Self.folio(m, 3))
        #expect(f3.lruRefs == 0)
        #expect(f3.refcount == 2)
        try Self.expectClean(m)
        #expect(m.mmUnref(gmem: 0, page: 3) == .ok)
        #expect(try m.gmemSetAttributes(gmem: 0, page: 1, count: 3, toPrivate: true) == .ok)
        #expect(f3.refcount == 1)
        try Self.expectClean(m)
    }

    @Test(arguments: [Profile.ipcV8Fix, .hpV3])
    func lruRefIsDrainedByToPrivateConversion(_ profile: Profile) throws {
        let m = try Self.setup(Config(profile: profile))
        #expect(try m.hostMmap(proc: 0, gmem: 0) == .ok)
        #expect(try m.hostAccess(proc: 0, gmem: 0, page: 1, write: 9) == .ok)
        #expect(m.mmLru(gmem: 0, page: 1) == .ok)
        #expect(try m.gmemAllocate(gmem: 0, page: 2, count: 1) == .ok)
        #expect(m.mmLru(gmem: 0, page: 2) == .ok)
        let f1 = try #require(Self.folio(m, 1))
        let f2 = try #require(Self.folio(m, 2))
        #expect(f1.refcount == 1 + 1 + 1)    // filemap + PTE + lru batch
        #expect(f2.refcount == 2)
        #expect(try m.gmemSetAttributes(gmem: 0, page: 0, count: 4, toPrivate: true) == .ok)
        // One lru_add_drain_all() flushed every batch; PTE zapped.
        #expect(f1.refcount == 1 && f1.lruRefs == 0)
        #expect(f2.refcount == 1 && f2.lruRefs == 0)
        #expect(m.inodes[0].attrs.all(0, 4, private: true))
        try Self.expectClean(m)
    }

    @Test func lruRefWithoutDrainIsEAGAINAndLivenessFinding() throws {
        let m = try Self.setup(Config(profile: .hpV3, plus: [.noLruDrain]))
        #expect(try m.gmemAllocate(gmem: 0, page: 0, count: 4) == .ok)
        #expect(m.mmLru(gmem: 0, page: 1) == .ok)
        #expect(try m.gmemSetAttributes(gmem: 0, page: 0, count: 4, toPrivate: true) == .err(.EAGAIN, errorOffset: 1))
        m.checkInvariants(atOpEnd: true)
        let fs = m.drainFindings()
        #expect(fs.count == 1)
        let f = try #require(fs.first)
        #expect(f.kind == .liveness)
        #expect(f.id == "G17")
        #expect(f.signature.hasPrefix("liveness:G17"))
        // Nothing drained the batch: the ref is still there and attributes are unchanged.
        #expect(try #require(Self.folio(m, 1)).lruRefs == 1)
        #expect(m.inodes[0].attrs.all(0, 4, private: false))
    }

    @Test func skipRefcountCheckLetsAPinnedPageGoPrivate() throws {
        // The buggy variant (gmem B4): the same sequence that is EAGAIN above succeeds and the
        // checker flags the long-term pin on a private page (G4).
        let m = try Self.setup(Config(plus: [.skipRefcountCheck]))
        #expect(try m.hostMmap(proc: 0, gmem: 0) == .ok)
        #expect(try m.hostPin(gmem: 0, page: 2, proc: 0) == .ok)
        #expect(try m.gmemSetAttributes(gmem: 0, page: 0, count: 4, toPrivate: true) == .ok)
        m.checkInvariants(atOpEnd: true)
        let fs = m.drainFindings()
        #expect(fs.contains { $0.kind == .invariant && $0.id == "G4" })
    }

    // MARK: memory failure

    @Test func memoryFailureUnmapsButDoesNotTruncate() throws {
        let m = try Self.setup()
        #expect(try m.hostMmap(proc: 0, gmem: 0) == .ok)
        #expect(try m.hostAccess(proc: 0, gmem: 0, page: 0, write: 1) == .ok)
        let f = try #require(Self.folio(m, 0))
        #expect(f.refcount == 2)
        #expect(try m.gmemMemoryFailure(gmem: 0, page: 0) == .ok)
        #expect(f.hwpoison && f.inFilemap && !f.freed)
        #expect(f.refcount == 1)             // host PTE gone, get_hwpoison_page ref dropped
        #expect(f.callerRefs == 0)
        // The only finding is the documented D8 lock-order report (FINDINGS.md F1: the host
        // fault took invalidate_lock -> folio lock, memory_failure takes folio lock ->
        // invalidate_lock); no invariant fires.
        m.checkInvariants(atOpEnd: true)
        let fs = m.drainFindings()
        #expect(fs.map { "\($0.kind.rawValue):\($0.id)" } == ["lockdep:folio_lock>invalidate_lock"])
        // The guest cannot fault it (-EHWPOISON -> memory fault exit), the host gets SIGBUS.
        #expect(try m.guestAccess(vcpu: 0, gfn: Self.base, write: nil, privateKey: nil) == .exit(.memoryFault))
        #expect(try m.hostAccess(proc: 0, gmem: 0, page: 0, write: nil) == .sigbus)
        #expect(f.refcount == 1)
        try Self.expectClean(m)
    }

    // MARK: the whole reference scenario

    @Test func referenceScenarioStaysConsistent() throws {
        // /tmp/s/a.gmf, step by step, with the refcount oracle after each step.
        let m = try Self.setup()
        let g = Self.base
        #expect(try m.hostMmap(proc: 0, gmem: 0) == .ok)
        #expect(try m.hostAccess(proc: 0, gmem: 0, page: 1, write: 0x41) == .ok)
        #expect(try m.guestAccess(vcpu: 0, gfn: g + 1, write: nil, privateKey: nil) == .value(0x41))
        let f1 = try #require(Self.folio(m, 1))
        #expect(f1.refcount == 2)
        try Self.expectClean(m)
        #expect(try m.gmemSetAttributes(gmem: 0, page: 1, count: 1, toPrivate: true) == .ok)
        #expect(f1.refcount == 1)
        #expect(m.vms[0]!.spte[g + 1] == nil)
        try Self.expectClean(m)
        #expect(try m.hostAccess(proc: 0, gmem: 0, page: 1, write: nil) == .sigbus)
        #expect(try m.guestAccess(vcpu: 0, gfn: g + 1, write: nil, privateKey: nil) == .value(0x41))
        #expect(try m.guestAccess(vcpu: 0, gfn: g + 1, write: 0x42, privateKey: nil) == .ok)
        #expect(f1.refcount == 1)
        try Self.expectClean(m)
        #expect(try m.gmemSetAttributes(gmem: 0, page: 1, count: 1, toPrivate: false) == .ok)
        #expect(try m.hostAccess(proc: 0, gmem: 0, page: 1, write: nil) == .value(0x42))
        #expect(f1.refcount == 2)
        #expect(try m.hostPin(gmem: 0, page: 2, proc: 0) == .ok)
        #expect(try m.gmemSetAttributes(gmem: 0, page: 0, count: 4, toPrivate: true) == .err(.EAGAIN, errorOffset: 2))
        try Self.expectClean(m)
        #expect(m.hostUnpin(gmem: 0, page: 2) == .ok)
        #expect(try m.gmemSetAttributes(gmem: 0, page: 0, count: 4, toPrivate: true) == .ok)
        try Self.expectClean(m)
        #expect(try m.gmemPunchHole(gmem: 0, page: 1, count: 1) == .ok)
        #expect(f1.freed)
        #expect(try m.guestAccess(vcpu: 0, gfn: g + 1, write: nil, privateKey: nil) == .value(0))
        #expect(try #require(Self.folio(m, 1)).refcount == 1)
        try Self.expectClean(m)
        #expect(try m.hostMunmap(proc: 0, gmem: 0) == .ok)
        #expect(try m.gmemClose(gmem: 0) == .ok)
        #expect(try m.slotDelete(vm: 0, slot: 0) == .ok)
        try Self.expectClean(m)
        #expect(m.pages.liveCount == 0)
        #expect(m.pages.folios.allSatisfy { $0.freed && $0.refcount == 0 })
    }
}
