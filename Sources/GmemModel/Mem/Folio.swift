#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Bytes of real payload per 4K page (SPEC §3.1: a small payload per page is enough).
public let pagePayload = 64
/// What a never-zeroed page holds: stands in for stale host data ("uninitialized host memory").
public let uninitByte: UInt8 = 0xE7

/// A folio: a power-of-two run of physical pages with a refcount (include/linux/mm.h).
/// `mem` is real heap memory freed when the folio is freed; mappings keep raw pointers into it,
/// so an access through a mapping that outlived its folio is an ASan use-after-free.
public final class Folio {
    public let id: Int
    public let order: Int
    /// Owning guest_memfd inode id, or -1 for anonymous memory (a slot's separate shared backing,
    /// a populate source page).
    public let inode: Int
    /// First page index in the inode's filemap.
    public var index: Int
    public let mem: UnsafeMutableRawPointer
    /// Frame number of page 0 (the model's PFN): stable across a split or merge, because
    /// restructuring a hugetlb page changes folio metadata, not which frames the TDX module owns.
    public let pfn: Int
    /// The hugetlb page this folio's memory belongs to (huge folios and the order-0 folios a
    /// split made of them), or nil for a 4K page from the buddy allocator.
    let block: HugeBlock?
    /// The folio lock, created on first use: a split 1G folio makes 262144 folios, most of which
    /// are never locked. Threads mode: created under `sync` (two faults may lock it first at once).
    public var lock: ModelLock {
        sync.lock()
        defer { sync.unlock() }
        if let l = _lock { return l }
        let l = ModelLock(.folioLock, "folio_lock(\(inode < 0 ? "anon" : "gmem\(inode)"):\(index))")
        _lock = l
        return l
    }
    private var _lock: ModelLock?
    let sync: ModelSync

    /// folio_ref_count(): changed only by folioGet/folioPut.
    public internal(set) var refcount: Int = 0
    /// Holders by kind, for the refcount oracle (gmem §1.7). PTE refs are counted from page tables.
    public internal(set) var filemapRefs = 0
    public internal(set) var callerRefs = 0
    public internal(set) var gupRefs = 0
    public internal(set) var pins = 0
    public internal(set) var transientRefs = 0
    public internal(set) var lruRefs = 0
    public internal(set) var tdxRefs = 0
    public internal(set) var anonOwnerRefs = 0

    public internal(set) var inFilemap: Bool {
        get { sync.lock(); defer { sync.unlock() }; return _inFilemap }
        set { sync.lock(); _inFilemap = newValue; sync.unlock() }
        _modify {
            sync.lock()
            defer { sync.unlock() }
            yield &_inFilemap
        }
    }
    private var _inFilemap: Bool = false
    public internal(set) var uptodate: Bool {
        get { sync.lock(); defer { sync.unlock() }; return _uptodate }
        set { sync.lock(); _uptodate = newValue; sync.unlock() }
        _modify {
            sync.lock()
            defer { sync.unlock() }
            yield &_uptodate
        }
    }
    private var _uptodate: Bool = false
    public internal(set) var hwpoison: Bool {
        get { sync.lock(); defer { sync.unlock() }; return _hwpoison }
        set { sync.lock(); _hwpoison = newValue; sync.unlock() }
        _modify {
            sync.lock()
            defer { sync.unlock() }
            yield &_hwpoison
        }
    }
    private var _hwpoison: Bool = false
    public internal(set) var freed = false
    /// Position in PageAllocator.live (-1 once freed).
    var liveSlot = -1
    /// Checker scratch: host PTEs counted in the current check (reset after each use).
    var scratchPTEs = 0

    public var nrPages: Int { 1 << order }

    init(id: Int, order: Int, inode: Int, index: Int, sync: ModelSync) {
        self.sync = sync
        self.id = id
        self.order = order
        self.inode = inode
        self.index = index
        let bytes = pagePayload << order
        mem = malloc(bytes)!
        memset(mem, Int32(uninitByte), bytes)
        block = nil
        pfn = id << Folio.pfnShift
    }

    /// Frame numbers of distinct allocations never overlap: a 1G page has 2^18 frames.
    static let pfnShift = 18

    /// A folio over `1 << order` pages of a hugetlb page starting at page `offset` of `block`:
    /// the huge folio itself, or one of the pieces a split (or merge) restructures it into. The
    /// frames stay where they are: restructuring changes folio metadata, not physical memory.
    init(id: Int, order: Int, inode: Int, index: Int, block: HugeBlock, offset: Int, sync: ModelSync) {
        self.sync = sync
        self.id = id
        self.order = order
        self.inode = inode
        self.index = index
        self.block = block
        mem = block.base + offset * pagePayload
        pfn = block.pfnBase + offset
        block.users += 1
    }

    /// The frame pointer ("HPA") of page `i` of this folio.
    @inline(__always) public func frame(_ i: Int) -> UnsafeMutableRawPointer { mem + i * pagePayload }

    /// Zero every page (clear_highpage) and mark uptodate.
    func zeroAndMarkUptodate() {
        memset(mem, 0, pagePayload << order)
        uptodate = true
    }

    func release() {
        freed = true
        // free_unref_folio(): back to the allocator. `mem` stays as a dangling pointer on purpose.
        guard let block else { free(mem); return }
        // A hugetlb page goes back to the pool only when no folio of it is left.
        block.users -= 1
        if block.users == 0 { block.release() }
    }

    /// Zero pages [from, to) of this folio (folio_zero_range), without changing uptodate.
    func zeroPages(_ from: Int, _ to: Int) {
        memset(mem + from * pagePayload, 0, (to - from) * pagePayload)
    }
}

/// One hugetlb page (2M or 1G) from the guest_memfd hugetlb pool: a single real allocation that
/// every folio carved out of it points into. A 1G page is 262144 * 64 bytes = 16 MiB of payload.
final class HugeBlock {
    let base: UnsafeMutableRawPointer
    let nrPages: Int
    /// Frame number of the first page (from the id of the folio first allocated over it).
    let pfnBase: Int
    /// Folios (huge or split pieces) still using the memory.
    var users = 0

    init(nrPages: Int, firstFolioID: Int) {
        self.nrPages = nrPages
        pfnBase = firstFolioID << Folio.pfnShift
        base = malloc(nrPages * pagePayload)!
        memset(base, Int32(uninitByte), nrPages * pagePayload)
    }

    func release() { free(base) }
}

/// Where a host PTE or SPTE points: the folio (for bookkeeping) and the raw frame pointer
/// (what hardware would hold). Accesses go through `frame`, never through `folio`.
public struct FrameRef {
    public let folio: Folio
    public let page: Int
    public let frame: UnsafeMutableRawPointer
    init(_ folio: Folio, page: Int) {
        self.folio = folio
        self.page = page
        self.frame = folio.frame(page)
    }

    /// Read/write the first byte of the page through the stored frame pointer.
    @inline(__always) func load() -> UInt8 { frame.load(as: UInt8.self) }
    @inline(__always) func store(_ v: UInt8) { frame.storeBytes(of: v, as: UInt8.self) }
}
