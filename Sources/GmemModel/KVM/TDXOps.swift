/// KVM_X86_TDX_VM: private GPAs are mapped through the mirror root, whose changes are
/// propagated to the TDX module's Secure EPT (arch/x86/kvm/vmx/tdx.c, mmu/tdp_mmu.c).
public final class TdxOps: VendorOps {
    public init() {}
    public var hasMirroredTDP: Bool { true }
    /// tdx_gmem_private_max_mapping_level(): PG_LEVEL_4K upstream (2M is the `huge` branch).
    public func privateMaxMappingLevel(_ vm: VM, gfn: Int) -> Int { SeptLevel.k4 }
    public func gmemPrepare(_ vm: VM, folio: Folio, gfn: Int) -> Errno? { nil }
    public func gmemInvalidate(_ folio: Folio) {}

    public func setPrivateSpte(_ m: Model, _ vm: VM, gfn: Int, spte: SPTE) throws(ModelAbort) -> Errno? {
        try m.tdxMirrorMap(vm, gfn: gfn, spte: spte)
    }

    public func removePrivateSpte(_ m: Model, _ vm: VM, gfn: Int, spte: SPTE) throws(ModelAbort) {
        try m.tdpMmuZapMirrorLeaf(vm, gfn: gfn, spte: spte)
    }

    public func vmPreDestroy(_ m: Model, _ vm: VM) throws(ModelAbort) { m.tdxMmuReleaseHkid(vm) }
    public func mmuUninit(_ m: Model, _ vm: VM) throws(ModelAbort) { m.tdxFreeMirrorPageTables(vm) }
    public func vmDestroy(_ m: Model, _ vm: VM) throws(ModelAbort) { m.tdxVmDestroy(vm) }
}

extension Model {
    /// TDX_BUG_ON(err, SEAMCALL, kvm): __TDX_BUG_ON() WARNs only while the VM is not bugged
    /// yet (`WARN_ON_ONCE(__ret && (!_kvm || !_kvm->vm_bugged))`), then kvm_vm_bugged().
    @discardableResult
    func tdxBugOn(_ st: TdxStatus, _ call: Seamcall, _ vm: VM, _ site: String, gfn: Int? = nil) -> Bool {
        if st.isSuccess { return false }
        if vm.bugged { return true }
        return kvmBugOn(true, vm, site, "\(call.rawValue)\(gfn.map { " gfn \($0)" } ?? "") failed: \(st)")
    }

    /// T8: the mmu_lock mode a mirror-root transition requires.
    func checkMmuHeld(_ vm: VM, _ mode: LockMode, _ what: String) {
        let t = current
        // The holder bookkeeping changes under `harness` in threads mode (Model.lockThreaded).
        let ok = harnessLocked { mode == .exclusive ? vm.mmuLock.writer == t : vm.mmuLock.readers.contains(t) }
        if !ok { report(.invariant(.T8, "vm\(vm.id) \(what) without mmu_lock held for \(mode == .exclusive ? "write" : "read")")) }
    }
}
