#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// TD and vCPU management SEAMCALLs KVM issues around the memory flows (not injectable:
/// `inject seamcall=` names only the calls tdx-semantics §6.3 lists).
extension Model {
    /// __tdx_td_init(): HKID, TDR, TDCS; TDH.MNG.CREATE, TDH.MNG.KEY.CONFIG, TDH.MNG.ADDCX,
    /// TDH.MNG.INIT -> op-state INITIALIZED (the root S-EPT page is part of the TDCS).
    func tdhMngInit(vm: Int) -> TdxTD {
        let td = TdxTD(vm: vm)
        let hkid = tdx.nextHkid
        tdx.nextHkid += 1
        tdx.hkidsInUse.insert(hkid)
        td.hkid = hkid
        let tdr = tdx.allocPage(.tdr)
        tdx.pamt.entries[tdr.hpa] = PamtEntry(owner: .tdr, td: vm)
        td.tdr = tdr
        for _ in 0..<2 {
            let p = tdx.allocPage(.tdcs)
            tdx.pamt.entries[p.hpa] = PamtEntry(owner: .tdcs, td: vm)
            td.tdcs.append(p)
        }
        td.childCount = 2
        tdx.tds[vm] = td
        tdx.note("MNG.INIT", nil, .success)
        return td
    }

    /// TDH.VP.CREATE + TDH.VP.ADDCX: the vCPU's TDVPR page.
    func tdhVpCreate(_ td: TdxTD, vcpu: Int) {
        let p = tdx.allocPage(.tdvpr)
        tdx.pamt.entries[p.hpa] = PamtEntry(owner: .tdvpr, td: td.vm)
        td.tdvpr[vcpu] = p
        td.childCount += 1
    }

    /// tdx_mmu_release_hkid(): TDH.VP.FLUSH per vCPU, TDH.MNG.VPFLUSHDONE,
    /// TDH.PHYMEM.CACHE.WB, TDH.MNG.KEY.FREEID -> TEARDOWN.
    func tdhReleaseHkid(_ td: TdxTD) {
        guard let hkid = td.hkid else { return }
        td.vcpuEpoch.removeAll()                    // TDH.VP.FLUSH: no vCPU is associated
        td.kickPending.removeAll()
        // TDH.PHYMEM.CACHE.WB writes back every dirty line tagged with the HKID. Lines of a page
        // the S-EPT still maps (its removal failed) land in memory at that HPA: if guest_memfd
        // freed the page meanwhile, this is the write into freed memory (an ASan use-after-free).
        for (_, e) in td.leaves { if let p = e.page { p.store(p.load()) } }
        tdx.hkidsInUse.remove(hkid)
        td.hkid = nil
        td.opState = .teardown
        tdx.note("MNG.KEY.FREEID", nil, .success)
    }
}

/// Guest-side TDCALLs and guest accesses through the Secure EPT (what hardware and the module
/// do while a vCPU runs; KVM only sees the EPT violations).
public enum TdGuestAccess {
    case mapped(FrameRef)
    /// EPT violation on a non-present (FREE or blocked) entry: exit to KVM.
    case eptViolation
    /// Access to a PENDING page: the "pending" EPT violation type (SEPT_VE_DISABLE).
    case pendingViolation
}

public enum TdAcceptResult {
    case accepted
    case alreadyAccepted
    case eptViolation
    case sizeMismatch
}

extension Model {
    /// A guest load/store to a private GPA, as the CPU walks the S-EPT.
    func tdGuestAccess(_ td: TdxTD, gfn: Int) -> TdGuestAccess {
        guard td.walk(gfn, to: SeptLevel.m2), let e = td.leaf(gfn) else { return .eptViolation }
        switch e.state {
        case .mapped: return .mapped(FrameRef(e.page!.folio, page: e.page!.page + (gfn & ((1 << (9 * e.level)) - 1))))
        case .pending: return .pendingViolation
        default: return .eptViolation
        }
    }

    /// TDG.MEM.PAGE.ACCEPT: PENDING -> MAPPED, and the module initializes the page (MOVDIR64B
    /// zeroes through the entry's HPA). Host level < accept level -> TDX_PAGE_SIZE_MISMATCH.
    func tdgMemPageAccept(_ td: TdxTD, gfn: Int, level: Int) -> TdAcceptResult {
        guard td.walk(gfn, to: SeptLevel.m2), let e = td.leaf(gfn) else { return .eptViolation }
        if e.level < level { return .sizeMismatch }
        let k = SeptLevel.key(e.level, gfn)
        switch e.state {
        case .pending:
            var n = e
            n.state = .mapped
            td.sept[k] = n
            if let p = e.page { memset(p.frame, 0, pagePayload << (9 * e.level)) }
            return .accepted
        case .mapped: return .alreadyAccepted
        default: return .eptViolation
        }
    }
}
