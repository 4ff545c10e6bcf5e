/// KVM_RUN as a background actor (issue 6): a vCPU whose guest computes without touching
/// memory stays in guest mode across scheduling points, so other logical threads (zaps,
/// conversions, populate) interleave with guest entry and exit. For a TD, guest mode is what
/// the TDX module's epoch tracking sees: TDH.VP.ENTER joins the current TD epoch and the vCPU
/// leaves it only on a TD exit (tdx-semantics §1.2 TRACK, §2.4; B10, B11).
extension Model {
    /// Upper bound on `slices` (keeps every input well under the per-run time budget).
    static let maxRunSlices = 64

    /// vcpu_run() -> vcpu_enter_guest() loop, `slices` guest entries at most. Each entry stays
    /// in guest mode for one scheduling point of this thread (others run meanwhile) and ends
    /// with a TD exit: the host timer, or a KVM_REQ_OUTSIDE_GUEST_MODE IPI (tdxKickAllVcpus)
    /// that already took the vCPU out of its epoch. Then vcpu_run() enters again.
    public func vcpuRun(vcpu vid: Int, slices: Int) throws(ModelAbort) -> SysResult {
        guard let vcpu = vcpu(vid) else { return .skipped }
        let vm = vcpu.vm
        let n = min(max(slices, 1), Model.maxRunSlices)
        guard let kt = vm.tdx else {
            // A sw VM's guest mode is invisible to the model's MMU: only the interleaving.
            if vm.bugged || vm.dead { return .err(.EIO) }
            for _ in 0..<n { spinPoint("guest mode") }
            return .ok
        }
        if let e = tdxVcpuPreRun(vcpu) { return .err(e) }
        let td = kt.td!
        for _ in 0..<n {
            // kvm_check_request(KVM_REQ_VM_DEAD) in vcpu_enter_guest(): KVM_RUN -EIO. (A vCPU
            // fd holds a VM reference, so `destroyed` cannot happen in the kernel while KVM_RUN
            // runs; the model's vm.destroy does not count vCPU fds, so stop here.)
            if vm.bugged || vm.dead || vm.destroyed { return .err(.EIO) }
            // tdx_vcpu_run(): while a zap blocks entry (wait_for_sept_zap) return
            // EXIT_FASTPATH_EXIT_HANDLED without TDH.VP.ENTER.
            // READ_ONCE(kvm_tdx->wait_for_sept_zap), then TDH.VP.ENTER (tdx_vcpu_enter_exit):
            // the vCPU counts in the current epoch's refcount (refcount[td_epoch & 1]).
            let entered = atomically { () -> Bool in
                if kt.waitForSeptZap { return false }
                td.vcpuEpoch[vcpu.id] = td.epoch
                return true
            }
            if !entered {
                spinPoint("tdx_vcpu_run wait_for_sept_zap")
                continue
            }
            spinPoint("guest mode")
            // TD exit: on a pending KVM_REQ_OUTSIDE_GUEST_MODE IPI (the ack the kicker waits
            // for), else on the host timer. The epoch refcount drops either way.
            atomically {
                td.vcpuEpoch[vcpu.id] = nil
                td.kickPending.remove(vcpu.id)
            }
        }
        return .ok
    }
}
