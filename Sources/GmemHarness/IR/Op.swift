import GmemModel

/// What a scenario line expects (`=> …`).
public enum Expectation: Equatable, Sendable {
    case ok
    case errno(Errno, offset: Int?)
    case sigbus
    case sigsegv
    case value(UInt8)
    case exit(VMExit)
    case finding(String)
    case skipped
    case count(Int)

    public var text: String {
        switch self {
        case .ok: "ok"
        case .errno(let e, let off): off.map { "\(e.name)@\($0)" } ?? e.name
        case .sigbus: "SIGBUS"
        case .sigsegv: "SIGSEGV"
        case .value(let v): "0x" + String(v, radix: 16, uppercase: false).leftPad(2)
        case .exit(let x): "exit:\(x.rawValue)"
        case .finding(let p): "finding:\(p)"
        case .skipped: "skipped"
        case .count(let n): "count:\(n)"
        }
    }

    /// Whether a result satisfies this expectation (findings are matched by the executor).
    public func matches(_ r: SysResult) -> Bool {
        switch (self, r) {
        case (.ok, .ok): true
        case (.errno(let e, let off), .err(let e2, let off2)): e == e2 && (off == nil || off == off2)
        case (.sigbus, .sigbus), (.sigsegv, .sigsegv), (.skipped, .skipped): true
        case (.value(let a), .value(let b)): a == b
        case (.exit(let a), .exit(let b)): a == b
        case (.count(let a), .count(let b)): a == b
        default: false
        }
    }
}

/// One operation of a program: an op kind, the logical thread it runs on, its arguments
/// (one Int per schema key; `Op.absent` for an optional key left out), an optional expectation.
public struct Op: Equatable, Sendable {
    public static let absent = Int.min
    public var kind: OpKind
    public var thread: Int
    public var args: [Int]
    public var expect: Expectation?

    public init(_ kind: OpKind, thread: Int = 0, args: [Int]? = nil, expect: Expectation? = nil) {
        self.kind = kind
        self.thread = thread
        self.args = args ?? Op.defaultArgs[Int(kind.rawValue)]
        self.expect = expect
    }

    /// Per-kind default argument vectors (copy-on-write shared: building an op allocates nothing
    /// until an argument changes).
    static let defaultArgs: [[Int]] = OpKind.allCases.map { k in k.schema.keys.map { $0.defaultValue ?? Op.absent } }

    /// Build an op from key/value pairs (tests, importer, reproducers).
    public init(_ kind: OpKind, _ pairs: KeyValuePairs<String, Int>, thread: Int = 0, expect: Expectation? = nil) {
        self.init(kind, thread: thread, expect: expect)
        for (k, v) in pairs {
            guard let i = kind.schema.slot(k) else { preconditionFailure("\(kind.name) has no key \(k)") }
            args[i] = v
        }
    }

    public subscript(_ key: String) -> Int {
        get { args[kind.schema.slot(key)!] }
        set { args[kind.schema.slot(key)!] = newValue }
    }

    /// The value of `key`, nil if absent.
    public func opt(_ key: String) -> Int? {
        guard let i = kind.schema.slot(key) else { return nil }
        return args[i] == Op.absent ? nil : args[i]
    }

    /// Handles this op names, for the minimizer's relatedness pass: (key, id).
    public var handles: [(String, Int)] {
        kind.schema.keys.enumerated().compactMap { i, k in
            k.type == .handle && args[i] != Op.absent ? (k.name, args[i]) : nil
        }
    }
}

/// A schedule for logical threads (used by the concurrency executor).
public enum Schedule: Equatable, Sendable {
    case steps([Int])
    case pct(seed: Int, depth: Int)
}

/// A whole input: profile + variants + ops (+ schedule).
public struct Program: Equatable, Sendable {
    public var config: Config
    public var ops: [Op]
    public var schedule: Schedule?
    public init(config: Config = Config(), ops: [Op] = [], schedule: Schedule? = nil) {
        self.config = config; self.ops = ops; self.schedule = schedule
    }
}

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
