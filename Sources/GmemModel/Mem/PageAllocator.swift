/// The page allocator plus a registry of every folio allocated in this run (for the checker).
public struct PageAllocator {
    public private(set) var folios: [Folio] = []
    /// Folios not yet freed (what the checker walks; `folios` keeps freed ones for their ids).
    public private(set) var live: [Folio] = []
    public var liveCount: Int { live.count }

    init() {}

    mutating func alloc(order: Int, inode: Int, index: Int) -> Folio {
        let f = Folio(id: folios.count, order: order, inode: inode, index: index)
        folios.append(f)
        f.liveSlot = live.count
        live.append(f)
        return f
    }

    /// Swap-remove from the live list.
    mutating func noteFreed(_ f: Folio) {
        let i = f.liveSlot
        guard i >= 0, i < live.count, live[i] === f else { return }
        let last = live.removeLast()
        if i < live.count {
            live[i] = last
            last.liveSlot = i
        }
        f.liveSlot = -1
    }

    /// Free every payload still live (end of run): the model leaks nothing across inputs.
    mutating func releaseAll() {
        for f in folios where !f.freed { f.release() }
        folios.removeAll()
        live.removeAll()
    }
}
