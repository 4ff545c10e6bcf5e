/// Primary-MMU invalidation of a range's host mapping (kvm_mmu_notifier_invalidate_range_start
/// / _end): zaps the shared roots only (KVM_FILTER_SHARED; mirror roots are never touched).
extension Model {
    public func kvmUnmap(vm id: Int, gfn: Int, count: Int) throws(ModelAbort) -> SysResult {
        guard let vm = vm(id) else { return .skipped }
        if count <= 0 || gfn < 0 { return .err(.EINVAL) }
        let start = gfn, end = gfn + count
        let slots = vm.slots.values.filter { $0.baseGfn < end && $0.baseGfn + $0.npages > start }.sorted { $0.id < $1.id }
        // invalidate_range_start: begin once, then unmap per overlapping slot.
        try lock(vm.mmuLock)
        mmuInvalidateBegin(vm)
        for s in slots {
            try mmuUnmapGfnRange(vm, slot: s, start: max(start, s.baseGfn), end: min(end, s.baseGfn + s.npages),
                                 filter: .sharedOnly, sharedRootsOnly: true)
        }
        if slots.isEmpty { mmuInvalidateRangeAdd(vm, start, end) }
        unlock(vm.mmuLock)
        yieldPoint()
        // invalidate_range_end
        try lock(vm.mmuLock)
        mmuInvalidateEnd(vm)
        unlock(vm.mmuLock)
        return .ok
    }
}
