/// Finding kinds (SPEC §3.4); the kind is the first word of a signature.
public enum FindingKind: String, Sendable, CaseIterable {
    case invariant, warn, deadlock, lockdep, liveness, expect, asan, tsan
}

/// One finding. `id` is an invariant id (G/K/L…), a WARN site, a lock class pair, etc.
/// Signature = `kind:id:op` — stable across runs and builds (no addresses, no counters).
public struct Finding: Equatable, Sendable {
    public var kind: FindingKind
    public var id: String
    public var message: String
    /// Filled by the executor: the op kind and index where the finding fired.
    public var opName: String = ""
    public var opIndex: Int = -1
    /// Short model-state dump taken when it fired.
    public var stateDump: String = ""

    public init(kind: FindingKind, id: String, message: String) {
        self.kind = kind; self.id = id; self.message = message
    }

    public var signature: String { "\(kind.rawValue):\(id):\(opName)" }
}

/// Thrown out of a kernel path that cannot go on (a self-deadlock, a bounded retry that would
/// never finish). The executor turns it into a finding.
public struct ModelAbort: Error, Sendable {
    public var finding: Finding
    public init(_ f: Finding) { finding = f }
}
