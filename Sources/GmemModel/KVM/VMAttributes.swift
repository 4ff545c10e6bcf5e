/// KVM_SET_MEMORY_ATTRIBUTES on the VM fd (kvm_vm_ioctl_set_mem_attributes,
/// kvm_vm_set_mem_attributes; x86 kvm_arch_pre_set_memory_attributes).
extension Model {
    public func vmSetMemoryAttributes(vm id: Int, gfn: Int, count: Int, toPrivate: Bool) throws(ModelAbort) -> SysResult {
        guard let vm = vm(id), vm.fdOpen else { return .skipped }
        // IPC-v8: kvm_supported_vm_mem_attributes() returns 0 when in-place conversion is on.
        if profile.perGmemAttributes && toPrivate { return .err(.EINVAL) }
        if count <= 0 || gfn < 0 { return .err(.EINVAL) }
        if profile.perGmemAttributes { return .ok }   // attributes 0 on a range with none set
        let start = gfn, end = gfn + count
        try lock(vm.slotsLock)
        defer { unlock(vm.slotsLock) }
        // Nothing to do if the entire range has the desired attributes.
        if (start..<end).allSatisfy({ vm.privateGfns.contains($0) == toPrivate }) { return .ok }
        // xa_reserve() every gfn up front so the store cannot fail half way (B23).
        if inject.take(alloc: .maple) { return .err(.ENOMEM) }
        yieldPoint()
        // kvm_handle_gfn_range(pre_set_range): on_lock = kvm_mmu_invalidate_begin, for every
        // memslot overlapping the range: range_add + zap SPTEs of the old attribute.
        let overlapping = vm.slots.values.filter { $0.baseGfn < end && $0.baseGfn + $0.npages > start }
            .sorted { $0.baseGfn < $1.baseGfn }
        if !overlapping.isEmpty {
            try lock(vm.mmuLock)
            mmuInvalidateBegin(vm)
            for s in overlapping {
                let gs = max(start, s.baseGfn), ge = min(end, s.baseGfn + s.npages)
                try mmuUnmapGfnRange(vm, slot: s, start: gs, end: ge, filter: toPrivate ? .sharedOnly : .privateOnly)
            }
            unlock(vm.mmuLock)
        }
        for g in start..<end {
            if toPrivate { vm.privateGfns.insert(g) } else { vm.privateGfns.remove(g) }
        }
        yieldPoint()
        // kvm_handle_gfn_range(post_set_range): on_lock = kvm_mmu_invalidate_end.
        if !overlapping.isEmpty {
            try lock(vm.mmuLock)
            mmuInvalidateEnd(vm)
            unlock(vm.mmuLock)
        }
        return .ok
    }
}
