/// The memslots of an imported scenario. A real VM has gigabytes of guest memory; the scenario
/// gets one guest_memfd + memslot per cluster of gfns the trace touches, so scenarios and seeds
/// stay small. Ops outside the window are dropped with a comment.
struct ImportWindow {
    struct Cluster { var start: UInt64; var end: UInt64; var pages: Int { Int(end - start) } }
    var clusters: [Cluster]

    static let align: UInt64 = 16
    static let joinGap: UInt64 = 64
    static let maxClusterPages: UInt64 = 4096
    static let maxClusters = 4
    /// Conversions larger than this do not widen the window (a VMM converts all RAM at boot).
    static let maxConversionForWindow: UInt64 = 512
    /// The .gmf parser accepts numbers up to 1<<40.
    static let modelLimit: UInt64 = 1 << 40

    init(_ actions: [ImportAction]) {
        var rs: [(UInt64, UInt64)] = []
        for a in actions {
            guard let r = a.range, r.start < r.end, r.start < ImportWindow.modelLimit - ImportWindow.maxClusterPages else { continue }
            switch a.kind {
            case .convert, .mapGpa, .hostUnmap:
                if r.end - r.start > ImportWindow.maxConversionForWindow { continue }
            default: break
            }
            rs.append((r.start & ~(ImportWindow.align - 1), min(r.end, r.start + ImportWindow.maxClusterPages)))
        }
        rs.sort { $0.0 < $1.0 }
        var cs: [Cluster] = []
        for (s, e) in rs {
            let e2 = (e + ImportWindow.align - 1) & ~(ImportWindow.align - 1)
            if let l = cs.last, s <= l.end + ImportWindow.joinGap { cs[cs.count - 1].end = max(l.end, e2) } else { cs.append(Cluster(start: s, end: e2)) }
        }
        while cs.count > ImportWindow.maxClusters {
            var best = 1
            for i in 1..<cs.count where cs[i].start - cs[i - 1].end < cs[best].start - cs[best - 1].end { best = i }
            cs[best - 1].end = cs[best].end
            cs.remove(at: best)
        }
        for i in cs.indices where cs[i].end - cs[i].start > ImportWindow.maxClusterPages {
            cs[i].end = cs[i].start + ImportWindow.maxClusterPages
        }
        clusters = cs.isEmpty ? [Cluster(start: 0, end: ImportWindow.align)] : cs
    }

    /// The parts of [start, start+count) inside the window: (cluster index, gfn, count).
    func clip(_ start: UInt64, _ count: UInt64) -> [(Int, UInt64, UInt64)] {
        let end = Correlator.sat(start, count)
        var out: [(Int, UInt64, UInt64)] = []
        for (i, c) in clusters.enumerated() where c.start < end && start < c.end {
            let lo = max(start, c.start), hi = min(end, c.end)
            out.append((i, lo, hi - lo))
        }
        return out
    }
}
