/// SPTE value decoding (research traces-and-selftests.md §1.3, from arch/x86/kvm/mmu/spte.h).
enum SPTEValue {
    /// SHADOW_NONPRESENT_VALUE: bit 63 on ≈6.10+ (TDX #VE suppression), 0 before.
    static let nonPresentBit: UInt64 = 1 << 63

    /// FROZEN_SPTE = SHADOW_NONPRESENT_VALUE | 0x5a0 (a 2024 proposal uses 0x498): a transient
    /// lock value, never a model state.
    static func isFrozen(_ v: UInt64) -> Bool {
        let low = v & ~nonPresentBit
        return low == 0x5a0 || low == 0x498
    }

    static func isPresent(_ v: UInt64) -> Bool {
        v != 0 && v != nonPresentBit && !isFrozen(v)
    }

    /// Level 1 entries are leaves; higher levels only with bit 7 (large page).
    static func isLeaf(_ v: UInt64, level: Int) -> Bool { level == 1 || v & 0x80 != 0 }

    /// 4K pages covered by a leaf at `level` (1 = 4K, 2 = 2M, 3 = 1G).
    static func pages(level: Int) -> UInt64 { 1 << (9 * UInt64(max(0, min(level, 5) - 1))) }
}

/// Disjoint half-open ranges of gfns: the importer's picture of which gfns are private.
/// Work per operation is linear in the number of ranges, never in the number of gfns.
struct RangeSet: Sendable {
    private(set) var ranges: [(start: UInt64, end: UInt64)] = []
    /// Bound so a hostile trace cannot make every later line slower and slower.
    static let maxRanges = 4096

    func contains(_ x: UInt64) -> Bool { ranges.contains { $0.start <= x && x < $0.end } }

    mutating func set(_ start: UInt64, _ end: UInt64, _ on: Bool) {
        guard start < end else { return }
        var out: [(start: UInt64, end: UInt64)] = []
        for r in ranges {
            if r.end <= start || r.start >= end { out.append(r); continue }
            if r.start < start { out.append((r.start, start)) }
            if r.end > end { out.append((end, r.end)) }
        }
        if on { out.append((start, end)) }
        out.sort { $0.start < $1.start }
        var merged: [(start: UInt64, end: UInt64)] = []
        for r in out {
            if let l = merged.last, l.end >= r.start { merged[merged.count - 1].end = max(l.end, r.end) } else { merged.append(r) }
        }
        if merged.count <= RangeSet.maxRanges { ranges = merged }
    }
}
