import Testing
@testable import GmemModel

/// KVM's TDX side driven through the public Model API, with the internal state inspected:
/// populate paths, refcount policies, failure propagation (tdx-semantics §1.3, §2.5, §3),
/// teardown order (§1.4).
@Suite struct TDXKvmTests {
    static let base = 0x100

    /// TD vm0 + initialized vcpu0 + gmem0 (`pages`) bound at gfn 0x100; per-VM attributes set
    /// private on ML profiles. Finalized if `finalize`.
    static func td(_ config: Config = Config(), pages: Int = 4, flags: GmemFlags = [.mmap], finalize: Bool = true) throws -> Model {
        let m = Model(config: config)
        #expect(m.vmCreate(vm: 0, type: .tdx) == .ok)
        #expect(try m.tdxInitVM(vm: 0) == .ok)
        #expect(m.vcpuCreate(vm: 0, vcpu: 0) == .ok)
        #expect(try m.tdxInitVcpu(vm: 0, vcpu: 0) == .ok)
        #expect(m.gmemCreate(gmem: 0, vm: 0, pages: pages, flags: config.profile.perGmemAttributes ? flags : [], huge: .none) == .ok)
        #expect(try m.slotCreate(vm: 0, slot: 0, gmem: 0, gfn: base, pages: pages, off: 0) == .ok)
        if !config.profile.perGmemAttributes {
            #expect(try m.vmSetMemoryAttributes(vm: 0, gfn: base, count: pages, toPrivate: true) == .ok)
        }
        if finalize { #expect(try m.tdxFinalize(vm: 0) == .ok) }
        return m
    }

    static func findings(_ m: Model) -> [String] {
        m.checkInvariants(atOpEnd: true)
        return m.drainFindings().map { "\($0.kind.rawValue):\($0.id): \($0.message)" }
    }

    @Test func premapPopulateWithR0PinsOnML616() throws {
        let m = try Self.td(Config(profile: .ml616), finalize: false)
        let vm = m.vms[0]!
        #expect(try m.tdxInitMemRegion(vcpu: 0, gfn: Self.base, count: 1, src: 1, proc: nil, value: 0x5a, measure: true) == .ok)
        #expect(vm.tdx!.nrPremapped == 0)
        let folio = m.inodes[0].filemap[0]!
        #expect(folio.tdxRefs == 1, "R0: one pin per mapped 4K page")
        #expect(vm.tdx!.td!.leaf(Self.base)?.state == .mapped)
        #expect(vm.mirror.leaves[Self.base] != nil)
        #expect(try m.tdxFinalize(vm: 0) == .ok)
        #expect(try m.gmemPunchHole(gmem: 0, page: 0, count: 1) == .ok)
        #expect(folio.freed, "REMOVE + WBINVD + clear, then tdx_unpin; truncation frees it")
        #expect(Self.findings(m).isEmpty)
    }

    @Test func r3HoldsNoRefsAndPopulateUsesMapPrivatePfn() throws {
        let m = try Self.td(Config(profile: .ml619), finalize: false)
        #expect(try m.tdxInitMemRegion(vcpu: 0, gfn: Self.base, count: 2, src: 1, proc: nil, value: 0x11, measure: false) == .ok)
        #expect(m.inodes[0].filemap[0]!.tdxRefs == 0)
        #expect(m.vms[0]!.tdx!.pageAddSrc == nil)
        #expect(Self.findings(m).isEmpty)
    }

    @Test func teardownReleasesHkidThenReclaimsEverything() throws {
        let m = try Self.td()
        #expect(try m.guestAccept(vcpu: 0, gfn: Self.base, level: 0) == .ok)
        #expect(try m.guestAccept(vcpu: 0, gfn: Self.base + 1, level: 0) == .ok)
        let td = m.vms[0]!.tdx!.td!
        #expect(try m.vmDestroy(vm: 0) == .ok)
        #expect(td.hkid != nil, "the guest_memfd file still pins the VM")
        #expect(try m.gmemClose(gmem: 0) == .ok)
        #expect(m.vms[0] == nil)
        #expect(td.hkid == nil && td.opState == .teardown)
        #expect(td.leaves.isEmpty)
        #expect(m.tdx.pages.allSatisfy { $0.freed && !$0.leaked }, "S-EPT, TDVPR, TDCS and TDR pages are reclaimed")
        #expect(!m.tdx.pamt.entries.values.contains { $0.td == 0 })
        #expect(Self.findings(m).isEmpty)
    }

    @Test func accessBeforeAcceptKillsTheVMWithoutAWarn() throws {
        let m = try Self.td()
        #expect(try m.guestAccess(vcpu: 0, gfn: Self.base, write: 0x33, privateKey: true) == .err(.EIO))
        let vm = m.vms[0]!
        #expect(vm.dead && !vm.bugged)
        #expect(vm.tdx!.td!.leaf(Self.base)?.state == .pending)
        #expect(try m.guestAccept(vcpu: 0, gfn: Self.base, level: 0) == .err(.EIO))
        #expect(Self.findings(m).isEmpty)
    }

    @Test func augFailureBugsTheVMAndRollsTheMirrorBack() throws {
        let m = try Self.td()
        m.inject.addSeamcall("PAGE.AUG", status: "state_incorrect", times: 1)
        #expect(try m.guestAccept(vcpu: 0, gfn: Self.base, level: 0) == .err(.EIO))
        let vm = m.vms[0]!
        #expect(vm.bugged)
        #expect(vm.mirror.leaves[Self.base] == nil && vm.mirror.frozen.isEmpty)
        #expect(m.drainFindings().map(\.id) == ["tdx_mem_page_aug"])
    }

    @Test func busyZapRetriesWithVcpusKickedAndClearsWaitForSeptZap() throws {
        let m = try Self.td()
        #expect(try m.guestAccept(vcpu: 0, gfn: Self.base, level: 0) == .ok)
        m.inject.addSeamcall("PAGE.REMOVE", status: "busy", times: 4)
        #expect(try m.gmemPunchHole(gmem: 0, page: 0, count: 1) == .ok)
        let kt = m.vms[0]!.tdx!
        #expect(!kt.waitForSeptZap)
        #expect(kt.td!.leaves.isEmpty)
        #expect(m.inject.seamcall["PAGE.REMOVE"] == nil, "the kick ended the vCPU contention")
        #expect(Self.findings(m).isEmpty)
    }

    @Test func removalFailureWithR3LetsGmemFreeAMappedPage() throws {
        let m = try Self.td()
        #expect(try m.guestAccept(vcpu: 0, gfn: Self.base, level: 0) == .ok)
        let folio = m.inodes[0].filemap[0]!
        m.inject.addSeamcall("PAGE.REMOVE", status: "error", times: 1)
        #expect(try m.gmemPunchHole(gmem: 0, page: 0, count: 1) == .ok)
        let f = m.drainFindings()
        #expect(f.map(\.id).contains("tdx_sept_remove_private_spte"))
        #expect(f.map(\.id).contains("T4"))
        #expect(folio.freed)
        let e = m.vms[0]!.tdx!.td!.leaf(Self.base)
        #expect(e?.state == .blocked && e?.page?.folio === folio, "the S-EPT still maps the freed page")
        #expect(m.vms[0]!.mirror.leaves.isEmpty, "the mirror was written first")
    }

    @Test func removalFailureWithR2LeaksInstead() throws {
        let m = try Self.td(Config(plus: [.tdxRefOnRemoveFailure]))
        #expect(try m.guestAccept(vcpu: 0, gfn: Self.base, level: 0) == .ok)
        let folio = m.inodes[0].filemap[0]!
        m.inject.addSeamcall("PAGE.REMOVE", status: "error", times: 1)
        #expect(try m.gmemPunchHole(gmem: 0, page: 0, count: 1) == .ok)
        #expect(m.drainFindings().map(\.id) == ["tdx_sept_remove_private_spte"])
        #expect(!folio.freed && folio.tdxRefs == 1 && !folio.inFilemap)
        #expect(Self.findings(m).isEmpty)
    }

    @Test func mrExtendFailureBugsOnlyFrom619() throws {
        for (profile, bugs) in [(Profile.ml616, false), (.ml70, true)] {
            let m = try Self.td(Config(profile: profile), finalize: false)
            m.inject.addSeamcall("MR.EXTEND", status: "error", times: 1)
            #expect(try m.tdxInitMemRegion(vcpu: 0, gfn: Self.base, count: 1, src: 1, proc: nil, value: 1, measure: true) == .err(.EIO))
            #expect(m.vms[0]!.bugged == bugs, "\(profile.rawValue)")
            #expect(m.drainFindings().map(\.id) == (bugs ? ["tdx_gmem_post_populate"] : []))
            // 6.16: the page stays in the TD image, unmeasured
            #expect(m.vms[0]!.tdx!.td!.leaf(Self.base)?.state == .mapped)
        }
    }

    @Test func leafRemovalAfterHkidReleaseIsAKvmBug() throws {
        let m = try Self.td()
        #expect(try m.guestAccept(vcpu: 0, gfn: Self.base, level: 0) == .ok)
        m.tdxMmuReleaseHkid(m.vms[0]!)
        #expect(try m.slotDelete(vm: 0, slot: 0) == .ok)
        #expect(m.drainFindings().map(\.id).contains("tdx_sept_remove_private_spte"))
    }

    @Test func populateViaFaultSelfDeadlocksWhenGetPfnTakesTheLock() throws {
        let m = try Self.td(Config(plus: [.tdxPopulateViaFault]), finalize: false)
        do {
            _ = try m.tdxInitMemRegion(vcpu: 0, gfn: Self.base, count: 1, src: 1, proc: nil, value: 1, measure: false)
            Issue.record("expected a self-deadlock")
        } catch {
            #expect(error.finding.kind == .deadlock && error.finding.id == "invalidate_lock")
        }
    }

    @Test func sharedGpaGoesThroughTheDirectRoot() throws {
        let m = try Self.td(pages: 2, flags: [.mmap, .initShared])
        #expect(try m.guestAccess(vcpu: 0, gfn: Self.base, write: 0x42, privateKey: false) == .ok)
        let vm = m.vms[0]!
        #expect(vm.spte[Self.base]?.isPrivate == false)
        #expect(vm.mirror.leaves.isEmpty && vm.tdx!.td!.leaves.isEmpty)
        #expect(try m.guestAccess(vcpu: 0, gfn: Self.base, write: nil, privateKey: true) == .exit(.memoryFault))
        #expect(Self.findings(m).isEmpty)
    }
}
