/// KVM's mirror root (mmu->mirror_root_hpa): the software copy of the S-EPT that the TDP MMU
/// walks for private GPAs; hardware never walks it (tdx-semantics §2.1).
public struct MirrorRoot {
    /// Present leaves by gfn (4K; a 2M leaf would be keyed by its first gfn).
    public internal(set) var leaves: [Int: SPTE] = [:]
    /// Leaves in the FROZEN_SPTE state (set-to-present in flight).
    public internal(set) var frozen: Set<Int> = []
    /// Leaves already written non-present whose remove_external_spte() (BLOCK, TRACK + kick,
    /// REMOVE) has not returned yet: the S-EPT entry legitimately lags behind (T1).
    public internal(set) var removing: Set<Int> = []
    /// Present non-leaf SPTEs by SeptLevel.key, each with the sp->external_spt page handed to
    /// the TDX module by TDH.MEM.SEPT.ADD.
    public internal(set) var nonLeaf: [Int: TdxPage] = [:]
    /// Non-leaf SPTEs that went present -> non-present while the HKID was assigned (T7).
    public internal(set) var nonLeafZappedWithHkid = 0

    public init() {}
    public var isEmpty: Bool { leaves.isEmpty && nonLeaf.isEmpty && frozen.isEmpty }
}

/// struct kvm_tdx: KVM's TD state (arch/x86/kvm/vmx/tdx.h).
public final class KvmTdx {
    public enum State: String, Sendable {
        case uninitialized = "UNINITIALIZED", initialized = "INITIALIZED", runnable = "RUNNABLE"
    }
    /// Threads mode: `state`, `td`, `preFaultAllowed` and `waitForSeptZap` are read by vCPUs
    /// without the locks finalize / teardown / the zap hold (READ_ONCE + smp_rmb pairs, and
    /// 6.19's vCPU-mutex guard the model does not take): `sync`.
    public internal(set) var state: State {
        get { sync.lock(); defer { sync.unlock() }; return _state }
        set { sync.lock(); _state = newValue; sync.unlock() }
    }
    private var _state: State = .uninitialized
    /// The TDX module's TD (nil before KVM_TDX_INIT_VM).
    public internal(set) var td: TdxTD? {
        get { sync.lock(); defer { sync.unlock() }; return _td }
        set { sync.lock(); _td = newValue; sync.unlock() }
    }
    private var _td: TdxTD? = nil
    /// kvm->arch.pre_fault_allowed (set after RUNNABLE, smp_wmb()).
    public internal(set) var preFaultAllowed: Bool {
        get { sync.lock(); defer { sync.unlock() }; return _preFaultAllowed }
        set { sync.lock(); _preFaultAllowed = newValue; sync.unlock() }
    }
    private var _preFaultAllowed: Bool = false
    /// kvm_tdx->wait_for_sept_zap: vCPUs may not enter while a zap retries with them kicked.
    public internal(set) var waitForSeptZap: Bool {
        get { sync.lock(); defer { sync.unlock() }; return _waitForSeptZap }
        set { sync.lock(); _waitForSeptZap = newValue; sync.unlock() }
    }
    private var _waitForSeptZap: Bool = false
    /// <= 6.18: pages mirrored but not yet PAGE.ADDed (the premap design).
    public internal(set) var nrPremapped = 0
    /// 6.19+: kvm_tdx->page_add_src, the populate source for PAGE.ADD inside the mirror install.
    var pageAddSrc: UnsafeMutableRawPointer?

    let sync: ModelSync

    init(sync: ModelSync) { self.sync = sync }

    /// is_hkid_assigned()
    public var hkidAssigned: Bool { td?.hkid != nil }
}
