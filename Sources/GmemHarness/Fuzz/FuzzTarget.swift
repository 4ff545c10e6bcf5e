import GmemModel

/// The libFuzzer entrypoints (one per `Fuzz/Sources/<name>`), and what each one generates.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case conversion = "FuzzConversion"
    case populate = "FuzzPopulate"
    case concurrent = "FuzzConcurrent"
    case scenarioText = "FuzzScenarioText"
    case traceImport = "FuzzTraceImport"

    public var name: String { rawValue }

    /// Targets whose inputs are op programs in the byte codec.
    public var isProgramTarget: Bool { self == .conversion || self == .populate || self == .concurrent }

    /// Op kinds the mutator inserts for this target (decoding accepts every op regardless).
    public var opKinds: [OpKind] {
        switch self {
        case .conversion:
            OpKind.allCases.filter { !Self.tdxOnly.contains($0) }
        case .populate, .concurrent:
            OpKind.allCases
        case .scenarioText, .traceImport:
            []
        }
    }

    /// `vm.create type=` the generator uses: sw VMs for conversion, TDX for populate, either
    /// for the concurrent target (nil).
    public var vmType: Int? { self == .populate ? 1 : self == .conversion ? 0 : nil }

    /// Whether the generator puts ops on several logical threads.
    public var threaded: Bool { self == .concurrent }

    static let tdxOnly: Set<OpKind> = [.tdxInitVM, .tdxFinalize, .tdxInitVcpu, .guestAccept, .tdxInitMemRegion, .vcpuRun]

    /// Which target a scenario seeds: TDX programs go to FuzzPopulate, threaded ones to
    /// FuzzConcurrent, the rest to FuzzConversion.
    public static func forProgram(_ p: Program) -> FuzzTarget {
        if p.schedule != nil || p.ops.contains(where: { $0.thread != 0 }) { return .concurrent }
        if p.ops.contains(where: { $0.kind == .vmCreate && $0["type"] == 1 || tdxOnly.contains($0.kind) }) {
            return .populate
        }
        return .conversion
    }
}
