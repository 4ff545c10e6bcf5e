/// Merges a kernel trace and a QEMU trace of one run (research traces-and-selftests.md §5.3
/// rule 3). The clocks differ, so the join uses ordering anchors, not timestamps: the k-th QEMU
/// `kvm_run_exit … reason R` pairs with the next kernel `kvm_userspace_exit` of the same exit
/// reason (and vCPU, when both sides name it). Every QEMU event goes right after the kernel exit
/// it follows, and takes that kernel task (the vCPU thread that handles the exit); QEMU events
/// before the first matched exit (memslot setup) go first.
enum TraceMerger {
    /// KVM_EXIT_MEMORY_FAULT (39) comes with KVM_RUN = -EFAULT, printed "reason error (14)".
    static let memoryFaultExit = 39

    static func kernelExitCode(_ p: EventPayload) -> Int? {
        guard case .userspaceExit(let reason, let code) = p else { return nil }
        if reason == "error" { return code == 14 ? memoryFaultExit : nil }
        if reason == "restart" { return nil }
        return code
    }

    static func merge(kernel: [TraceEvent], qemu: [TraceEvent]) -> (events: [TraceEvent], note: String) {
        // The vCPU each kernel task runs (from "vcpu N" in kvm_entry/kvm_exit/kvm_page_fault).
        var taskVcpu: [String: Int] = [:]
        var exitVcpu: [Int: Int] = [:]
        for (i, e) in kernel.enumerated() {
            switch e.payload {
            case .kvmEntry(let v?), .kvmExit(let v?, _), .pageFault(let v?, _, _): taskVcpu[e.task] = v
            default: break
            }
            if kernelExitCode(e.payload) != nil, let v = taskVcpu[e.task] { exitVcpu[i] = v }
        }
        var after: [Int: [TraceEvent]] = [:]
        var first: [TraceEvent] = []
        var at: Int? = nil
        var kpos = 0
        var anchors = 0, matched = 0
        var prevWasRunExit39 = false
        for var q in qemu {
            var code: Int?, cpu: Int?
            switch q.payload {
            case .runExit(let c, let r): code = r; cpu = c
            case .memoryFault: code = prevWasRunExit39 ? nil : memoryFaultExit
            default: break
            }
            if case .runExit(_, let r) = q.payload { prevWasRunExit39 = r == memoryFaultExit } else { prevWasRunExit39 = false }
            if let code {
                anchors += 1
                var k = kpos
                while k < kernel.count && k < kpos + 100_000 {
                    if kernelExitCode(kernel[k].payload) == code, cpu == nil || exitVcpu[k] == nil || exitVcpu[k] == cpu { break }
                    k += 1
                }
                if k < kernel.count, k < kpos + 100_000 { at = k; kpos = k + 1; matched += 1 }
            }
            if let a = at {
                q.task = kernel[a].task
                after[a, default: []].append(q)
            } else {
                first.append(q)
            }
        }
        var out = first
        out.reserveCapacity(kernel.count + qemu.count)
        for (i, e) in kernel.enumerated() {
            out.append(e)
            if let qs = after[i] { out += qs }
        }
        return (out, "merged by exit anchors: \(matched) of \(anchors) QEMU exits matched a kernel kvm_userspace_exit")
    }
}
