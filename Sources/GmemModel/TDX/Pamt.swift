/// PAMT: the TDX module's owner record per physical page (tdx-semantics §0). NDA = no entry.
public enum PamtOwner: String, Sendable {
    case reg = "REG"          // TD private page
    case ept = "EPT"          // S-EPT page
    case tdr = "TDR"
    case tdcs = "TDCS"
    case tdvpr = "TDVPR"
}

public struct PamtEntry {
    public var owner: PamtOwner
    /// The TD (vm id) owning the page.
    public var td: Int
}

public struct Pamt {
    public internal(set) var entries: [Int: PamtEntry] = [:]

    /// A guest page's HPA: the folio's frame number plus the page. Stable per run (folio ids are
    /// never reused, so a freed page's PAMT entry cannot collide with a later allocation) and
    /// across a hugetlb split or merge (the frames do not move).
    @inline(__always) public static func hpa(_ r: FrameRef) -> Int { r.folio.pfn + r.page }
    @inline(__always) public static func hpa(_ f: Folio, page: Int) -> Int { f.pfn + page }

    func isNDA(_ hpa: Int) -> Bool { entries[hpa] == nil }
}
