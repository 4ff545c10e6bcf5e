/// Which renderer produced a trace file (research traces-and-selftests.md §2, §3).
public enum TraceFormat: String, CaseIterable, Sendable {
    /// /sys/kernel/tracing/trace and trace_pipe (kernel trace_print_context()).
    case ftrace
    /// `trace-cmd report` (libtraceevent rendering, tracecmd/trace-read.c).
    case traceCmd = "trace-cmd"
    /// `perf script` tracepoint samples (tools/perf/builtin-script.c).
    case perf
    /// QEMU `-trace` log backend (scripts/tracetool/backend/log.py).
    case qemu

    /// Kernel renderers carry kvm:/kvmmmu: events; qemu carries VMM events.
    public var isKernel: Bool { self != .qemu }
}

/// VM type of the imported scenario.
public enum ImportPlatform: String, CaseIterable, Sendable {
    case sw
    case tdx
}

/// Where memory attributes live in the traced kernel (decides vm.set_attr vs gmem.convert).
public enum AttributeMode: String, CaseIterable, Sendable {
    /// Mainline KVM_SET_MEMORY_ATTRIBUTES on the VM fd (kvm_vm_set_mem_attributes fires).
    case perVM = "per-vm"
    /// In-place conversion series: KVM_SET_MEMORY_ATTRIBUTES2 on the gmem fd (no tracepoint).
    case inPlace = "in-place"
}

/// One input file and how to read it.
public struct TraceInput: Sendable {
    public var name: String
    public var format: TraceFormat
    public var bytes: [UInt8]
    public init(name: String, format: TraceFormat, bytes: [UInt8]) {
        self.name = name; self.format = format; self.bytes = bytes
    }
}

public struct ImportOptions: Sendable {
    /// nil = infer (tdx if any kvm_exit reason TDCALL or QEMU tdx_* event).
    public var platform: ImportPlatform?
    /// nil = infer (per-vm if any kvm_vm_set_mem_attributes line; QEMU-only traces: per-vm,
    /// as mainline QEMU uses KVM_SET_MEMORY_ATTRIBUTES; otherwise in-place).
    public var attributes: AttributeMode?
    /// Guest physical address width for the TDX shared bit (48 or 52); nil = infer.
    public var gpaw: Int?
    /// Merge all inputs (kernel + QEMU of one run) into one scenario.
    public var merge: Bool
    public init(platform: ImportPlatform? = nil, attributes: AttributeMode? = nil, gpaw: Int? = nil, merge: Bool = false) {
        self.platform = platform; self.attributes = attributes; self.gpaw = gpaw; self.merge = merge
    }
}

/// A problem with one input line: `file:line: message`.
public struct ImportDiagnostic: Sendable, Equatable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, note }
    public var file: String
    public var line: Int
    public var severity: Severity
    public var message: String
    public var description: String { "\(file):\(line): \(severity == .error ? "error: " : "note: ")\(message)" }
}

/// Where an event came from.
public struct TraceLocation: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var description: String { "\(file):\(line)" }
}
