/// A decoded trace event (kernel §1 or QEMU §3 of research/traces-and-selftests.md).
/// Numbers are kept as UInt64 as printed; the correlator turns them into gfns.
public enum EventPayload: Sendable, Equatable {
    // kvm: (include/trace/events/kvm.h, arch/x86/kvm/trace.h)
    case pageFault(vcpu: Int?, address: UInt64, errorCode: UInt64)
    case hypercall(nr: UInt64, a0: UInt64, a1: UInt64, a2: UInt64)
    case kvmExit(vcpu: Int?, reason: String)
    case kvmEntry(vcpu: Int?)
    /// `reason %s (%d)`: for a negative ioctl return the name is `error`/`restart` and the
    /// number is the positive errno.
    case userspaceExit(reason: String, code: Int)
    case setMemAttributes(start: UInt64, end: UInt64, attr: UInt64)
    case unmapHvaRange(start: UInt64, end: UInt64)
    // kvmmmu: (arch/x86/kvm/mmu/mmutrace.h)
    case spteRequested(gfn: UInt64, pfn: UInt64, level: Int)
    case setSpte(gfn: UInt64, spte: UInt64, level: Int)
    case spteChanged(asID: Int, gfn: UInt64, level: Int, old: UInt64, new: UInt64)
    case splitHugePage(gfn: UInt64, level: Int, errno: Int)
    // QEMU (accel/kvm, target/i386/kvm, system trace-events)
    case setUserMemory(slot: Int, flags: UInt64, gpa: UInt64, size: UInt64, ua: UInt64, gmemFd: Int?, gmemOffset: UInt64)
    case convertMemory(start: UInt64, size: UInt64, toPrivate: Bool)
    case memoryFault(start: UInt64, size: UInt64, flags: UInt64)
    case runExit(cpu: Int, reason: Int)
    case hcMapGpaRange(gpa: UInt64, size: UInt64, attributes: UInt64)
    case ramBlockStateChange(offset: UInt64, size: UInt64, from: String, to: String)
    case ramBlockDiscardShared(block: String, hva: UInt64, length: UInt64, ret: Int)
    case tdxHandleReset
    /// An event the importer does not model (kept as a comment, counted by name).
    case ignored
}

public struct TraceEvent: Sendable, Equatable {
    public var loc: TraceLocation
    public var isKernel: Bool
    /// comm-pid for kernel renderers, the QEMU thread id (or "qemu") for QEMU logs.
    public var task: String
    public var name: String
    public var payload: EventPayload
}

/// A line split into its renderer prefix and event text, before the event is decoded.
struct RawEvent {
    var task: String
    var name: String
    var info: ArraySlice<UInt8>
}
