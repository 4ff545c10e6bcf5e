/// The page allocator plus a registry of every folio allocated in this run (for the checker).
/// Threads mode: every use is under `Model.sync` (zone->lock), see `Model.pages`.
public struct PageAllocator {
    let sync: ModelSync
    public private(set) var folios: [Folio] = []
    /// Folios not yet freed (what the checker walks; `folios` keeps freed ones for their ids).
    public private(set) var live: [Folio] = []
    public var liveCount: Int { live.count }

    init(sync: ModelSync) { self.sync = sync }

    mutating func alloc(order: Int, inode: Int, index: Int) -> Folio {
        register(Folio(id: nextID(), order: order, inode: inode, index: index, sync: sync))
    }

    /// A hugetlb folio of `order` (9 = 2M, 18 = 1G) from the guest_memfd hugetlb pool.
    mutating func allocHuge(order: Int, inode: Int, index: Int) -> Folio {
        let id = nextID()
        return register(Folio(id: id, order: order, inode: inode, index: index,
                              block: HugeBlock(nrPages: 1 << order, firstFolioID: id), offset: 0, sync: sync))
    }

    /// A folio over part of an existing hugetlb page (split pieces, or the merged folio).
    mutating func restructured(order: Int, inode: Int, index: Int, block: HugeBlock, offset: Int) -> Folio {
        register(Folio(id: nextID(), order: order, inode: inode, index: index, block: block, offset: offset, sync: sync))
    }

    private mutating func register(_ f: Folio) -> Folio {
        folios.append(f)
        f.liveSlot = live.count
        live.append(f)
        return f
    }

    /// Swap-remove from the live list; drop freed folios from the registry once they dominate it
    /// (a merged 1G folio leaves 262144 freed pieces behind).
    mutating func noteFreed(_ f: Folio) {
        let i = f.liveSlot
        guard i >= 0, i < live.count, live[i] === f else { return }
        let last = live.removeLast()
        if i < live.count {
            live[i] = last
            last.liveSlot = i
        }
        f.liveSlot = -1
        freedSinceCompact += 1
        if freedSinceCompact > 4096 && freedSinceCompact > live.count {
            folios.removeAll { $0.freed }
            freedSinceCompact = 0
        }
    }
    private var freedSinceCompact = 0
    private var allocated = 0
    private mutating func nextID() -> Int {
        defer { allocated += 1 }
        return allocated
    }

    /// Free every payload still live (end of run): the model leaks nothing across inputs.
    mutating func releaseAll() {
        for f in folios where !f.freed { f.release() }
        folios.removeAll()
        live.removeAll()
    }
}
