/// The page allocator plus a registry of every folio allocated in this run (for the checker).
public struct PageAllocator {
    public private(set) var folios: [Folio] = []
    public private(set) var liveCount = 0

    init() {}

    mutating func alloc(order: Int, inode: Int, index: Int) -> Folio {
        let f = Folio(id: nextID(), order: order, inode: inode, index: index)
        folios.append(f)
        liveCount += 1
        return f
    }

    /// A hugetlb folio of `order` (9 = 2M, 18 = 1G) from the guest_memfd hugetlb pool.
    mutating func allocHuge(order: Int, inode: Int, index: Int) -> Folio {
        let f = Folio(id: nextID(), order: order, inode: inode, index: index,
                      block: HugeBlock(nrPages: 1 << order), offset: 0)
        folios.append(f)
        liveCount += 1
        return f
    }

    /// A folio over part of an existing hugetlb page (split pieces, or the merged folio).
    mutating func restructured(order: Int, inode: Int, index: Int, block: HugeBlock, offset: Int) -> Folio {
        let f = Folio(id: nextID(), order: order, inode: inode, index: index, block: block, offset: offset)
        folios.append(f)
        liveCount += 1
        return f
    }

    mutating func noteFreed() {
        liveCount -= 1
        freedSinceCompact += 1
        // Drop freed folios from the registry once they dominate it (a merged 1G folio leaves
        // 262144 freed pieces behind); the checker walks this list at every scheduling point.
        if freedSinceCompact > 4096 && freedSinceCompact > liveCount {
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
        liveCount = 0
    }
}
