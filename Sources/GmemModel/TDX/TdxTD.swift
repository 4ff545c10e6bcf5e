/// The TDX module's view of one TD: TDR/TDCS state, HKID, Secure EPT, epoch tracking and the
/// TDR lock (tdx-semantics §0, §1.2). Owned by `TdxModule`, keyed by the VM id.
public final class TdxTD {
    /// TDCS op-state as far as KVM can observe it.
    public enum OpState: String, Sendable {
        case initialized = "INITIALIZED"     // after TDH.MNG.INIT
        case runnable = "RUNNABLE"           // after TDH.MR.FINALIZE
        case teardown = "TEARDOWN"           // HKID freed (TDH.MNG.KEY.FREEID)
    }

    public let vm: Int
    public internal(set) var opState: OpState = .initialized
    public internal(set) var hkid: Int?
    /// Secure EPT entries by SeptLevel.key (FREE = absent).
    public internal(set) var sept: [Int: SeptEntry] = [:]
    /// TDCS epoch_tracking: td_epoch and, per vCPU in guest mode, the epoch it entered in.
    public internal(set) var epoch = 0
    public internal(set) var vcpuEpoch: [Int: Int] = [:]
    /// vCPUs sent a KVM_REQ_OUTSIDE_GUEST_MODE IPI that have not exited guest mode yet.
    public internal(set) var kickPending: Set<Int> = []
    public internal(set) var vcpuInit: Set<Int> = []
    /// MRTD: a running digest of MEM.PAGE.ADD (GPA) and MR.EXTEND (content) records.
    public internal(set) var mrtd: UInt64 = 0xcbf2_9ce4_8422_2325
    /// TDR child count: pages (REG + EPT) the TD owns.
    public internal(set) var childCount = 0
    var tdr: TdxPage?
    var tdcs: [TdxPage] = []
    var tdvpr: [Int: TdxPage] = [:]
    /// The TDR lock the module try-locks per SEAMCALL (shared / exclusive).
    var tdrShared = 0
    var tdrExclusive = false

    init(vm: Int) { self.vm = vm }

    func tdrTryLock(_ mode: LockMode) -> Bool {
        if tdrExclusive { return false }
        if mode == .exclusive {
            if tdrShared > 0 { return false }
            tdrExclusive = true
        } else {
            tdrShared += 1
        }
        return true
    }

    func tdrUnlock(_ mode: LockMode) {
        if mode == .exclusive { tdrExclusive = false } else { tdrShared -= 1 }
    }

    func measure(_ words: Int...) {
        for w in words {
            mrtd ^= UInt64(bitPattern: Int64(w))
            mrtd = mrtd &* 0x100_0000_01b3
        }
    }

    /// The S-EPT walk down to (but excluding) `level`: every entry above must be a present,
    /// unblocked non-leaf (a blocked non-leaf or a leaf stops the walk).
    func walk(_ gfn: Int, to level: Int) -> Bool {
        var l = SeptLevel.top
        while l > level {
            guard let e = sept[SeptLevel.key(l, gfn)], e.state == .nonLeaf else { return false }
            l -= 1
        }
        return true
    }

    /// is_tlb_and_iotlb_tracked(BEPOCH): a TRACK advanced the epoch past the block and no vCPU
    /// that entered in an epoch <= BEPOCH is still in guest mode.
    func tracked(_ bepoch: Int) -> Bool {
        epoch > bepoch && !vcpuEpoch.values.contains { $0 <= bepoch }
    }

    /// Leaf entries (any level) as (first gfn, entry).
    public var leaves: [(gfn: Int, entry: SeptEntry)] {
        sept.compactMap { k, e in e.state.isLeaf ? (SeptLevel.firstGfn(ofKey: k), e) : nil }.sorted { $0.gfn < $1.gfn }
    }

    public func leaf(_ gfn: Int) -> SeptEntry? {
        for l in 0...SeptLevel.m2 {
            if let e = sept[SeptLevel.key(l, gfn)], e.state.isLeaf { return e }
        }
        return nil
    }
}

/// The TDX module: every TD plus the PAMT and the HKID space.
public final class TdxModule {
    public internal(set) var tds: [Int: TdxTD] = [:]
    public internal(set) var pamt = Pamt()
    var nextHpa = 1 << 56          // above every guest frame number (Folio.pfn)
    var nextHkid = 1
    var hkidsInUse: Set<Int> = []
    /// Every module-owned page ever allocated (freed or leaked): released when the model goes.
    var pages: [TdxPage] = []
    /// HPAs of guest pages whose S-EPT removal failed (R0 keeps its pin, R2 takes one), with the
    /// folio holding that ref: kept here, not in struct kvm_tdx, because those refs outlive the
    /// VM (T5).
    public internal(set) var removeFailed: [Int: Folio] = [:]
    /// Recent SEAMCALLs (name, status) for the state dump.
    public internal(set) var log: [String] = []

    func allocPage(_ kind: PamtOwner) -> TdxPage {
        let p = TdxPage(hpa: nextHpa, kind: kind)
        nextHpa += 1
        pages.append(p)
        return p
    }

    func note(_ call: String, _ gfn: Int?, _ st: TdxStatus) {
        log.append("\(call)\(gfn.map { "@\($0)" } ?? "")=\(st)")
        if log.count > 12 { log.removeFirst(log.count - 12) }
    }

    func releaseAll() {
        for p in pages { p.free() }
        pages.removeAll()
    }
}
