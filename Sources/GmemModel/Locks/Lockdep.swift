/// A lockdep-style validator (kernel/locking/lockdep.c in spirit): per-thread held-lock stacks,
/// a class-level acquisition-order graph, recursion and inversion reports. It never blocks.
public struct Lockdep {
    public struct Held: Sendable {
        public let lock: ModelLock
        public let mode: LockMode
    }

    /// held[t] = locks logical thread t holds, in acquisition order.
    public private(set) var held: [[Held]] = Array(repeating: [], count: 8)
    /// edges[a] bit b set: class b was acquired while class a was held.
    private var edges: [UInt32] = Array(repeating: 0, count: LockClass.allCases.count)
    /// Inversions already reported (a<<8|b) so one pair reports once.
    private var reported: Set<Int> = []

    public init() {}

    public mutating func reset() {
        for i in held.indices { held[i].removeAll(keepingCapacity: true) }
        for i in edges.indices { edges[i] = 0 }
        reported.removeAll()
    }

    public func heldCount(_ t: Int) -> Int { held[t].count }

    /// Validate an acquisition before it happens. Returns a fatal finding (self-deadlock) or a
    /// non-fatal one (order inversion); nil when clean.
    mutating func validate(_ lock: ModelLock, _ mode: LockMode, thread t: Int) -> (fatal: Finding?, inversion: Finding?) {
        ensure(t)
        if let h = held[t].first(where: { $0.lock === lock }) {
            let recursiveRead = h.mode == .shared && mode == .shared && lock.cls.readRecursive
            if !recursiveRead {
                return (Finding(kind: .deadlock, id: lock.cls.name,
                                message: "t\(t) re-acquires \(lock.label) (\(mode)) it already holds (\(h.mode)): self-deadlock"), nil)
            }
            return (nil, nil)
        }
        if mode == .shared && lock.cls.readNeverBlocks { return (nil, nil) }
        var inversion: Finding?
        let b = lock.cls.rawValue
        for h in held[t] {
            let a = h.lock.cls.rawValue
            if a == b { continue }            // same-class nesting (subclasses in the kernel)
            if edges[a] & (1 << b) != 0 { continue }
            if reaches(from: b, to: a) && inversion == nil && !reported.contains(a << 8 | b) {
                reported.insert(a << 8 | b)
                inversion = Finding(kind: .lockdep, id: "\(h.lock.cls.name)>\(lock.cls.name)",
                                    message: "t\(t) takes \(lock.label) while holding \(h.lock.label), but \(lock.cls.name) -> \(h.lock.cls.name) was seen before: possible circular locking dependency")
            }
            edges[a] |= 1 << b
        }
        return (nil, inversion)
    }

    mutating func push(_ lock: ModelLock, _ mode: LockMode, thread t: Int) {
        ensure(t)
        held[t].append(Held(lock: lock, mode: mode))
    }

    mutating func pop(_ lock: ModelLock, thread t: Int) -> LockMode? {
        guard let i = held[t].lastIndex(where: { $0.lock === lock }) else { return nil }
        return held[t].remove(at: i).mode
    }

    /// The newest lock `t` holds, removed from its stack (abandoning an aborted op's locks).
    mutating func popLast(thread t: Int) -> Held? {
        t < held.count ? held[t].popLast() : nil
    }

    private mutating func ensure(_ t: Int) {
        while held.count <= t { held.append([]) }
    }

    private func reaches(from: Int, to: Int) -> Bool {
        var seen: UInt32 = 1 << from
        var frontier: UInt32 = 1 << from
        while frontier != 0 {
            var next: UInt32 = 0
            var f = frontier
            while f != 0 {
                let i = f.trailingZeroBitCount
                f &= f - 1
                next |= edges[i]
            }
            if next & (1 << to) != 0 { return true }
            frontier = next & ~seen
            seen |= next
        }
        return false
    }

    public func orderEdges() -> [(LockClass, LockClass)] {
        var out: [(LockClass, LockClass)] = []
        for a in LockClass.allCases {
            for b in LockClass.allCases where edges[a.rawValue] & (1 << b.rawValue) != 0 { out.append((a, b)) }
        }
        return out
    }
}
