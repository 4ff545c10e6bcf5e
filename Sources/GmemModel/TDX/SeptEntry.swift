/// A Secure-EPT entry inside the TDX module (tdx-semantics §0, §1.2 state machine).
public enum SeptState: String, Sendable {
    case pending = "PENDING"                 // AUGed, not accepted
    case mapped = "MAPPED"                   // ADDed or accepted
    case blocked = "BLOCKED"
    case pendingBlocked = "PENDING_BLOCKED"
    case nonLeaf = "NON_LEAF"
    case nonLeafBlocked = "NON_LEAF_BLOCKED"
    // FREE is the absence of an entry.

    var isLeaf: Bool { self != .nonLeaf && self != .nonLeafBlocked }
    var isBlocked: Bool { self == .blocked || self == .pendingBlocked || self == .nonLeafBlocked }
}

/// Page-table levels as KVM numbers them minus one: 0 = 4K leaf, 1 = 2M, 2 = 1G, 3 = 512G
/// (the PML4 entries live in the TD's root page, created by TDH.MNG.INIT).
public enum SeptLevel {
    public static let k4 = 0
    public static let m2 = 1
    public static let top = 3
    /// Key of the entry at `level` covering `gfn` (one entry covers 512^level 4K pages).
    @inline(__always) public static func key(_ level: Int, _ gfn: Int) -> Int { level << 56 | (gfn >> (9 * level)) }
    @inline(__always) public static func level(ofKey k: Int) -> Int { k >> 56 }
    @inline(__always) public static func firstGfn(ofKey k: Int) -> Int { (k & ((1 << 56) - 1)) << (9 * (k >> 56)) }
}

public struct SeptEntry {
    public var state: SeptState
    public let level: Int
    /// Leaf: the TD page (HPA + the raw frame pointer hardware would use). Non-leaf: nil.
    public var page: FrameRef?
    /// Non-leaf: the S-EPT page it points at.
    public var table: TdxPage?
    /// PAMT BEPOCH: the TD epoch when the entry was blocked.
    public var bepoch = -1

    /// HPA of the mapped TD page or of the child S-EPT page.
    public var hpa: Int { page.map { Pamt.hpa($0) } ?? table?.hpa ?? -1 }
}

/// A 4K page the TDX module owns outside guest memory: an S-EPT page, TDR, TDCS, TDVPR.
/// Real heap memory, freed on reclaim; a page whose reclaim failed stays allocated (leaked)
/// until the model goes away.
public final class TdxPage {
    public let hpa: Int
    public let kind: PamtOwner
    let mem: UnsafeMutableRawPointer
    public internal(set) var freed = false
    public internal(set) var leaked = false

    init(hpa: Int, kind: PamtOwner) {
        self.hpa = hpa
        self.kind = kind
        mem = .allocate(byteCount: pagePayload, alignment: 8)
        mem.initializeMemory(as: UInt8.self, repeating: 0, count: pagePayload)
    }

    func free() {
        guard !freed else { return }
        mem.deallocate()
        freed = true
    }
}
