/// The vendor hook layer, as KVM's kvm_x86_ops: what differs between a software-protected VM
/// and TDX (issue 3 adds TdxOps with the mirror root and S-EPT). Hooks are called at the same
/// points KVM calls them.
public protocol VendorOps: AnyObject {
    /// kvm_has_mirrored_tdp(): private mappings live in a separate mirror root, and the
    /// invalidation filter selects roots (kvm_gfn_range_filter_to_root_types).
    var hasMirroredTDP: Bool { get }
    /// kvm_x86_ops.private_max_mapping_level / gmem_max_mapping_level (0 = 4K).
    func privateMaxMappingLevel(_ vm: VM, gfn: Int) -> Int
    /// kvm_arch_gmem_prepare() (SNP RMP make-private; a no-op for sw VMs).
    func gmemPrepare(_ vm: VM, folio: Folio, gfn: Int) -> Errno?
    /// kvm_arch_gmem_invalidate() on to-shared conversion / folio free (SNP; no-op for sw).
    func gmemInvalidate(_ folio: Folio)
    /// Install a private leaf (sw: plain SPTE; TDX: mirror + SEPT.ADD/PAGE.AUG). Caller holds
    /// mmu_lock for read; any error means RET_PF_RETRY (tdx-semantics §2.3).
    func setPrivateSpte(_ m: Model, _ vm: VM, gfn: Int, spte: SPTE) throws(ModelAbort) -> Errno?
    /// Remove a private leaf under write mmu_lock (sw: drop SPTE; TDX: BLOCK/TRACK/REMOVE).
    func removePrivateSpte(_ m: Model, _ vm: VM, gfn: Int, spte: SPTE) throws(ModelAbort)
    /// kvm_arch_pre_destroy_vm() (TDX: vt_vm_pre_destroy -> tdx_mmu_release_hkid).
    func vmPreDestroy(_ m: Model, _ vm: VM) throws(ModelAbort)
    /// kvm_mmu_uninit_vm() after the leaves are gone: free the remaining page tables
    /// (TDX: mirror non-leaf SPTEs -> free_external_spt -> TDH.PHYMEM.PAGE.RECLAIM). Caller holds
    /// mmu_lock for write.
    func mmuUninit(_ m: Model, _ vm: VM) throws(ModelAbort)
    /// kvm_x86_ops.vm_destroy (TDX: tdx_vcpu_free + tdx_vm_destroy reclaim the control pages).
    func vmDestroy(_ m: Model, _ vm: VM) throws(ModelAbort)
}

extension VendorOps {
    public func vmPreDestroy(_ m: Model, _ vm: VM) throws(ModelAbort) {}
    public func mmuUninit(_ m: Model, _ vm: VM) throws(ModelAbort) {}
    public func vmDestroy(_ m: Model, _ vm: VM) throws(ModelAbort) {}
}

/// KVM_X86_SW_PROTECTED_VM: private memory is just guest_memfd; one (direct) root.
public final class SwProtectedOps: VendorOps {
    public init() {}
    public var hasMirroredTDP: Bool { false }
    public func privateMaxMappingLevel(_ vm: VM, gfn: Int) -> Int { 2 }
    public func gmemPrepare(_ vm: VM, folio: Folio, gfn: Int) -> Errno? { nil }
    public func gmemInvalidate(_ folio: Folio) {}
    public func setPrivateSpte(_ m: Model, _ vm: VM, gfn: Int, spte: SPTE) throws(ModelAbort) -> Errno? {
        if vm.leaf(covering: gfn) == nil { vm.setLeaf(gfn, spte) }
        return nil
    }
    public func removePrivateSpte(_ m: Model, _ vm: VM, gfn: Int, spte: SPTE) throws(ModelAbort) {
        vm.clearLeaf(gfn, level: spte.level)
    }
}
