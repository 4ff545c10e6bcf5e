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
    /// Install a private leaf (sw: plain SPTE; TDX: mirror + SEPT.ADD/PAGE.AUG).
    func setPrivateSpte(_ m: Model, _ vm: VM, gfn: Int, spte: SPTE) throws(ModelAbort) -> Errno?
    /// Remove a private leaf under write mmu_lock (sw: drop SPTE; TDX: BLOCK/TRACK/REMOVE).
    func removePrivateSpte(_ m: Model, _ vm: VM, gfn: Int, spte: SPTE) throws(ModelAbort)
}

/// KVM_X86_SW_PROTECTED_VM: private memory is just guest_memfd; one (direct) root.
public final class SwProtectedOps: VendorOps {
    public init() {}
    public var hasMirroredTDP: Bool { false }
    public func privateMaxMappingLevel(_ vm: VM, gfn: Int) -> Int { 2 }
    public func gmemPrepare(_ vm: VM, folio: Folio, gfn: Int) -> Errno? { nil }
    public func gmemInvalidate(_ folio: Folio) {}
    public func setPrivateSpte(_ m: Model, _ vm: VM, gfn: Int, spte: SPTE) throws(ModelAbort) -> Errno? {
        vm.setLeaf(gfn, spte)
        return nil
    }
    public func removePrivateSpte(_ m: Model, _ vm: VM, gfn: Int, spte: SPTE) throws(ModelAbort) {
        vm.clearLeaf(gfn, level: spte.level)
    }
}
