/// Per-inode attribute maple tree (IPC-v8 gmem_inode->attributes): ranges of equal value,
/// merged with equal neighbours. `nil` from `get` is a missing entry (research B3).
public struct AttrTree: Equatable {
    public struct Range: Equatable { public var start: Int; public var end: Int; public var isPrivate: Bool }
    public private(set) var ranges: [Range]
    public let size: Int

    init(size: Int, initPrivate: Bool) {
        self.size = size
        ranges = size > 0 ? [Range(start: 0, end: size, isPrivate: initPrivate)] : []
    }

    public func get(_ index: Int) -> Bool? {
        // Few ranges in practice; linear is fine and allocation-free.
        for r in ranges where index >= r.start && index < r.end { return r.isPrivate }
        return nil
    }

    /// True if every index in [start, end) has value `isPrivate`.
    public func all(_ start: Int, _ end: Int, private isPrivate: Bool) -> Bool {
        var i = start
        while i < end {
            guard let r = ranges.first(where: { i >= $0.start && i < $0.end }), r.isPrivate == isPrivate else { return false }
            i = r.end
        }
        return true
    }

    public func any(_ start: Int, _ end: Int, private isPrivate: Bool) -> Bool {
        if start >= end { return false }
        for r in ranges where r.start < end && r.end > start && r.isPrivate == isPrivate { return true }
        return false
    }

    /// mas_store_prealloc: cannot fail.
    mutating func store(_ start: Int, _ end: Int, private isPrivate: Bool) {
        guard start < end else { return }
        var out: [Range] = []
        out.reserveCapacity(ranges.count + 2)
        for r in ranges {
            if r.end <= start || r.start >= end { out.append(r); continue }
            if r.start < start { out.append(Range(start: r.start, end: start, isPrivate: r.isPrivate)) }
            if r.end > end { out.append(Range(start: end, end: r.end, isPrivate: r.isPrivate)) }
        }
        out.append(Range(start: start, end: end, isPrivate: isPrivate))
        out.sort { $0.start < $1.start }
        var merged: [Range] = []
        merged.reserveCapacity(out.count)
        for r in out {
            if var last = merged.last, last.end == r.start, last.isPrivate == r.isPrivate {
                last.end = r.end
                merged[merged.count - 1] = last
            } else {
                merged.append(r)
            }
        }
        ranges = merged
    }

    /// Structural check for invariant G1: contiguous cover of [0, size), neighbours differ.
    public func wellFormed() -> String? {
        var at = 0
        for (i, r) in ranges.enumerated() {
            if r.start != at { return "gap or overlap at index \(at) (range starts at \(r.start))" }
            if r.end <= r.start { return "empty range at \(r.start)" }
            if i > 0 && ranges[i - 1].isPrivate == r.isPrivate { return "unmerged equal neighbours at \(r.start)" }
            at = r.end
        }
        return at == size ? nil : "ranges end at \(at), size is \(size)"
    }
}
