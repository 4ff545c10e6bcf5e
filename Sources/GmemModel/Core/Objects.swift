/// VM types (KVM_CREATE_VM type argument).
public enum VMType: String, Sendable, CaseIterable {
    case sw   // KVM_X86_SW_PROTECTED_VM
    case tdx  // KVM_X86_TDX_VM (issue 3)
}

/// guest_memfd creation flags (GUEST_MEMFD_FLAG_*).
public struct GmemFlags: OptionSet, Hashable, Sendable {
    public var rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public static let mmap = GmemFlags(rawValue: 1)          // GUEST_MEMFD_FLAG_MMAP
    public static let initShared = GmemFlags(rawValue: 2)    // GUEST_MEMFD_FLAG_INIT_SHARED
}

public enum HugeSize: Int, Sendable, CaseIterable {
    case none = 0, h2m, h1g
    public var name: String { ["none", "2m", "1g"][rawValue] }
    /// Folio order of the hugetlb pages (GUESTMEM_HUGETLB_FLAG_2MB / _1GB: log2 size 21 / 30).
    public var order: Int { [0, 9, 18][rawValue] }
}

/// Page-table levels as the model numbers them: 0 = 4K, 1 = 2M, 2 = 1G (PG_LEVEL_4K + level).
public enum PageLevel {
    /// KVM_PAGES_PER_HPAGE(level)
    @inline(__always) public static func pages(_ level: Int) -> Int { 1 << (9 * level) }
    /// kvm_max_level_for_order(): the largest level a folio of `order` can back.
    @inline(__always) public static func maxLevel(forOrder order: Int) -> Int { order >= 18 ? 2 : order >= 9 ? 1 : 0 }
}

/// KVM_FILTER_PRIVATE / KVM_FILTER_SHARED (enum kvm_gfn_range_filter).
public struct AttrFilter: OptionSet, Sendable {
    public var rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public static let privateOnly = AttrFilter(rawValue: 1)
    public static let sharedOnly = AttrFilter(rawValue: 2)
    public static let both: AttrFilter = [.privateOnly, .sharedOnly]
}

/// A stage-2 leaf (SPTE). `ref.frame` is the HPA; for TDX the mirror root keeps its own table.
public struct SPTE {
    public var isPrivate: Bool
    public var level: Int          // 0 = 4K, 1 = 2M, 2 = 1G
    public var ref: FrameRef
    /// The memslot it was faulted through, and whether the frame came from guest_memfd.
    public var slotID: Int
    public var gmemBacked: Bool
}

/// kvm->mmu_invalidate_{in_progress,seq,range_start,range_end}.
public struct InvalidationState {
    public var inProgress = 0
    public var seq = 0
    /// INVALID_GPA (-1) when no range has been added since the last end.
    public var rangeStart = -1
    public var rangeEnd = -1

    /// mmu_invalidate_retry_gfn()
    func retry(seq snap: Int, gfn: Int) -> Bool {
        if inProgress > 0 && rangeStart >= 0 && gfn >= rangeStart && gfn < rangeEnd { return true }
        return seq != snap
    }
}

public final class VCPU {
    public let id: Int
    public let vm: VM
    /// vcpu_tdx->state: VCPU_TD_STATE_INITIALIZED after KVM_TDX_INIT_VCPU.
    public internal(set) var tdxInitialized = false
    init(id: Int, vm: VM) { self.id = id; self.vm = vm }
}

/// struct kvm.
public final class VM {
    public let id: Int
    public let type: VMType
    public let slotsLock: ModelLock
    public let mmuLock: ModelLock
    /// kvm->srcu: faults read memslots under it; slot deletion waits for readers.
    public let srcu: ModelLock
    /// kvm->memslots: written under slots_lock, read by faults under SRCU (threads mode: a
    /// snapshot taken under `sync` stands for srcu_dereference; the copy is the old array).
    public internal(set) var slots: [Int: Memslot] {
        _read { sync.lock(); defer { sync.unlock() }; yield _slots }
        set { sync.locked { _slots = newValue } }
        _modify {
            sync.lock()
            defer { sync.unlock() }
            yield &_slots
        }
    }
    private var _slots: [Int: Memslot] = [:]
    /// Direct (shared, or all for non-TDX) root: gfn -> 4K leaf. Threads mode: `sync` stands for
    /// the SPTE atomics (tdp_mmu_set_spte_atomic cmpxchg under mmu_lock read, WRITE_ONCE under
    /// mmu_lock write) and the lockless hardware walk.
    public internal(set) var spte: [Int: SPTE] {
        _read { sync.lock(); defer { sync.unlock() }; yield _spte }
        set { sync.locked { _spte = newValue } }
        _modify {
            sync.lock()
            defer { sync.unlock() }
            yield &_spte
        }
    }
    private var _spte: [Int: SPTE] = [:]
    /// Huge leaves (level >= 1) of the same root, keyed by their first (level-aligned) gfn. Kept
    /// apart so 4K-only runs pay one isEmpty check for huge-page support. Same `sync` as `spte`.
    public internal(set) var hugeSpte: [Int: SPTE] {
        _read { sync.lock(); defer { sync.unlock() }; yield _hugeSpte }
        set { sync.locked { _hugeSpte = newValue } }
        _modify {
            sync.lock()
            defer { sync.unlock() }
            yield &_hugeSpte
        }
    }
    private var _hugeSpte: [Int: SPTE] = [:]
    /// Written under mmu_lock write; the fault path snapshots `seq` locklessly (smp_rmb pairs):
    /// `sync` stands for those barriers in threads mode.
    public internal(set) var inval: InvalidationState {
        _read { sync.lock(); defer { sync.unlock() }; yield _inval }
        set { sync.locked { _inval = newValue } }
        _modify {
            sync.lock()
            defer { sync.unlock() }
            yield &_inval
        }
    }
    private var _inval: InvalidationState = InvalidationState()
    /// Per-VM attributes (mainline kvm->mem_attr_array): gfns with PRIVATE set. An xarray: RCU
    /// readers, xa_lock writers (`sync` in threads mode).
    public internal(set) var privateGfns: Set<Int> {
        _read { sync.lock(); defer { sync.unlock() }; yield _privateGfns }
        set { sync.locked { _privateGfns = newValue } }
        _modify {
            sync.lock()
            defer { sync.unlock() }
            yield &_privateGfns
        }
    }
    private var _privateGfns: Set<Int> = []
    /// References: the VM fd plus one per guest_memfd file (kvm_get_kvm in kvm_gmem_create).
    public internal(set) var fdOpen: Bool {
        get { sync.lock(); defer { sync.unlock() }; return _fdOpen }
        set { sync.lock(); _fdOpen = newValue; sync.unlock() }
        _modify {
            sync.lock()
            defer { sync.unlock() }
            yield &_fdOpen
        }
    }
    private var _fdOpen: Bool = true
    public internal(set) var gmemRefs: Int {
        get { sync.lock(); defer { sync.unlock() }; return _gmemRefs }
        set { sync.lock(); _gmemRefs = newValue; sync.unlock() }
        _modify {
            sync.lock()
            defer { sync.unlock() }
            yield &_gmemRefs
        }
    }
    private var _gmemRefs: Int = 0
    /// VM and vCPU ioctls in flight: each holds its file (fdget), and a vCPU file holds a VM
    /// reference, so the VM outlives them.
    /// kvm_put_kvm() saw the last reference (refcount_dec_and_test): only under `sync`.
    var destroying = false
    public internal(set) var ioctlsInFlight: Int {
        get { sync.lock(); defer { sync.unlock() }; return _ioctlsInFlight }
        set { sync.lock(); _ioctlsInFlight = newValue; sync.unlock() }
        _modify {
            sync.lock()
            defer { sync.unlock() }
            yield &_ioctlsInFlight
        }
    }
    private var _ioctlsInFlight: Int = 0
    public internal(set) var destroyed: Bool {
        get { sync.lock(); defer { sync.unlock() }; return _destroyed }
        set { sync.lock(); _destroyed = newValue; sync.unlock() }
        _modify {
            sync.lock()
            defer { sync.unlock() }
            yield &_destroyed
        }
    }
    private var _destroyed: Bool = false
    /// KVM_BUG_ON / kvm_vm_bugged (kvm->vm_bugged/vm_dead: WRITE_ONCE/READ_ONCE; `sync`).
    public internal(set) var bugged: Bool {
        _read { sync.lock(); defer { sync.unlock() }; yield _bugged }
        set { sync.locked { _bugged = newValue } }
        _modify {
            sync.lock()
            defer { sync.unlock() }
            yield &_bugged
        }
    }
    private var _bugged: Bool = false
    /// kvm_vm_dead() without a WARN (e.g. a TD guest touching memory before accepting it).
    public internal(set) var dead: Bool {
        _read { sync.lock(); defer { sync.unlock() }; yield _dead }
        set { sync.locked { _dead = newValue } }
        _modify {
            sync.lock()
            defer { sync.unlock() }
            yield &_dead
        }
    }
    private var _dead: Bool = false
    /// The mirror root (TDX): private leaves and non-leaf SPTEs KVM mirrors into the S-EPT.
    /// Same SPTE atomics as `spte` (`sync` in threads mode).
    public internal(set) var mirror: MirrorRoot {
        _read { sync.lock(); defer { sync.unlock() }; yield _mirror }
        set { sync.locked { _mirror = newValue } }
        _modify {
            sync.lock()
            defer { sync.unlock() }
            yield &_mirror
        }
    }
    private var _mirror: MirrorRoot = MirrorRoot()
    /// struct kvm_tdx (nil for non-TDX VMs).
    public internal(set) var tdx: KvmTdx?
    public internal(set) var vcpus: [Int] = []
    public let ops: VendorOps

    let sync: ModelSync

    init(id: Int, type: VMType, ops: VendorOps, sync: ModelSync) {
        self.sync = sync
        self.id = id
        self.type = type
        self.ops = ops
        slotsLock = ModelLock(.slotsLock, "slots_lock(vm\(id))")
        mmuLock = ModelLock(.mmuLock, "mmu_lock(vm\(id))")
        srcu = ModelLock(.srcu, "srcu(vm\(id))")
    }

    /// kvm_arch_has_private_mem()
    public var hasPrivateMem: Bool { true }

    /// srcu_dereference(kvm->memslots) + the gfn lookup, as one `sync` section: a snapshot copied
    /// out of the accessor and iterated after it is not safe (the optimizer may borrow the
    /// storage instead of retaining it, and a concurrent slot deletion then mutates it in place).
    func slot(forGfn gfn: Int) -> Memslot? {
        sync.locked {
            for s in _slots.values where gfn >= s.baseGfn && gfn < s.baseGfn + s.npages { return s }
            return nil
        }
    }
}

/// struct kvm_memory_slot bound to a guest_memfd range.
public final class Memslot {
    public let id: Int
    public let vmID: Int
    public let baseGfn: Int
    public let npages: Int
    /// slot->gmem.file (nulled by kvm_gmem_release), slot->gmem.pgoff.
    public internal(set) var file: GmemFile? {
        get { sync.lock(); defer { sync.unlock() }; return _file }
        set { sync.lock(); _file = newValue; sync.unlock() }
        _modify {
            sync.lock()
            defer { sync.unlock() }
            yield &_file
        }
    }
    private var _file: GmemFile? = nil
    public let pgoff: Int
    /// KVM_MEMSLOT_GMEM_ONLY: shared faults are also served by guest_memfd.
    public let gmemOnly: Bool
    /// The separate shared backing (userspace_addr memory) for slots that are not gmem-only:
    /// anonymous pages faulted in on first shared access.
    public internal(set) var sharedBacking: [Int: Folio] {
        get { sync.lock(); defer { sync.unlock() }; return _sharedBacking }
        set { sync.lock(); _sharedBacking = newValue; sync.unlock() }
        _modify {
            sync.lock()
            defer { sync.unlock() }
            yield &_sharedBacking
        }
    }
    private var _sharedBacking: [Int: Folio] = [:]
    public internal(set) var deleted: Bool {
        get { sync.lock(); defer { sync.unlock() }; return _deleted }
        set { sync.lock(); _deleted = newValue; sync.unlock() }
        _modify {
            sync.lock()
            defer { sync.unlock() }
            yield &_deleted
        }
    }
    private var _deleted: Bool = false
    /// KVM_MEMSLOT_INVALID: deletion in progress (kvm_invalidate_memslot); faults retry.
    public internal(set) var invalid: Bool {
        get { sync.lock(); defer { sync.unlock() }; return _invalid }
        set { sync.lock(); _invalid = newValue; sync.unlock() }
        _modify {
            sync.lock()
            defer { sync.unlock() }
            yield &_invalid
        }
    }
    private var _invalid: Bool = false
    /// Stand-in for the kmalloc'ed struct: freed at deletion, written by kvm_gmem_release through
    /// any stale binding (gmem B13 becomes a real use-after-free).
    let raw: UnsafeMutableRawPointer

    /// Threads mode: the fields above are published by memslot-array swaps (SRCU) or cleared
    /// with WRITE_ONCE in the kernel: `sync`.
    let sync: ModelSync

    init(id: Int, vmID: Int, baseGfn: Int, npages: Int, file: GmemFile, pgoff: Int, gmemOnly: Bool) {
        self.sync = file.sync
        self.id = id
        self.vmID = vmID
        self.baseGfn = baseGfn
        self.npages = npages
        _file = file
        self.pgoff = pgoff
        self.gmemOnly = gmemOnly
        raw = .allocate(byteCount: 64, alignment: 8)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: 64)
    }

    /// kvm_gmem_get_index()
    @inline(__always) public func index(of gfn: Int) -> Int { gfn - baseGfn + pgoff }
    @inline(__always) public func gfn(of index: Int) -> Int { index - pgoff + baseGfn }
    public func contains(gfn: Int) -> Bool { gfn >= baseGfn && gfn < baseGfn + npages }
}

/// struct gmem_inode: the memory itself.
public final class GmemInode {
    public let id: Int
    public let sizePages: Int
    public let flags: GmemFlags
    public let huge: HugeSize
    /// 0 for 4K guest_memfd, 9 / 18 for hugetlb-backed (every allocation is a folio of this order).
    public let hugeOrder: Int
    /// The page cache (i_pages xarray): RCU lookups, xa_lock for insert/remove (`sync` in
    /// threads mode). Which folio sits there is serialised by invalidate_lock + folio lock.
    public internal(set) var filemap: [Folio?] {
        _read { sync.lock(); defer { sync.unlock() }; yield _filemap }
        set { sync.locked { _filemap = newValue } }
        _modify {
            sync.lock()
            defer { sync.unlock() }
            yield &_filemap
        }
    }
    private var _filemap: [Folio?] = []
    public internal(set) var attrs: AttrTree
    /// Conversions that stored attributes so far: an op that must not change attributes (G12)
    /// compares before/after only when no conversion on another thread stored in between.
    public internal(set) var attrStores = 0
    public let invalidateLock: ModelLock
    /// gmem_inode->files (list changes under the inode's own lock; `sync` in threads mode).
    public internal(set) var files: [GmemFile] {
        _read { sync.lock(); defer { sync.unlock() }; yield _files }
        set { sync.locked { _files = newValue } }
        _modify {
            sync.lock()
            defer { sync.unlock() }
            yield &_files
        }
    }
    private var _files: [GmemFile] = []
    /// Inode lifetime: last file reference (fd + VMAs) gone -> evicted, folios truncated.
    public internal(set) var evicted = false

    let sync: ModelSync

    init(id: Int, sizePages: Int, flags: GmemFlags, huge: HugeSize, sync: ModelSync) {
        self.sync = sync
        self.id = id
        self.sizePages = sizePages
        self.flags = flags
        self.huge = huge
        hugeOrder = huge.order
        _filemap = Array(repeating: nil, count: sizePages)
        attrs = AttrTree(size: sizePages, initPrivate: !flags.contains(.initShared))
        invalidateLock = ModelLock(.invalidateLock, "invalidate_lock(gmem\(id))")
    }
}

/// struct gmem_file: one VM's view (file->private_data).
public final class GmemFile {
    public let id: Int
    public unowned let inode: GmemInode
    /// The file pins KVM (kvm_get_kvm in kvm_gmem_create), so this reference is strong.
    public let vm: VM
    /// bindings xarray: index ranges -> memslot (xa_load under RCU in kvm_gmem_get_pfn, stores
    /// under invalidate_lock + xa_lock: `sync` in threads mode).
    public internal(set) var bindings: [(start: Int, end: Int, slot: Memslot)] {
        _read { sync.lock(); defer { sync.unlock() }; yield _bindings }
        set { sync.locked { _bindings = newValue } }
        _modify {
            sync.lock()
            defer { sync.unlock() }
            yield &_bindings
        }
    }
    private var _bindings: [(start: Int, end: Int, slot: Memslot)] = []
    /// fd (1 while open) + one per VMA mapping it (file->f_count: an atomic; `sync`).
    public internal(set) var fileRefs: Int {
        _read { sync.lock(); defer { sync.unlock() }; yield _fileRefs }
        set { sync.locked { _fileRefs = newValue } }
        _modify {
            sync.lock()
            defer { sync.unlock() }
            yield &_fileRefs
        }
    }
    private var _fileRefs: Int = 1
    public internal(set) var fdOpen: Bool {
        get { sync.lock(); defer { sync.unlock() }; return _fdOpen }
        set { sync.lock(); _fdOpen = newValue; sync.unlock() }
        _modify {
            sync.lock()
            defer { sync.unlock() }
            yield &_fdOpen
        }
    }
    private var _fdOpen: Bool = true
    /// f_count dropped to 0 but kvm_gmem_release has not run yet (get_file_active fails).
    public internal(set) var dying: Bool {
        get { sync.lock(); defer { sync.unlock() }; return _dying }
        set { sync.lock(); _dying = newValue; sync.unlock() }
        _modify {
            sync.lock()
            defer { sync.unlock() }
            yield &_dying
        }
    }
    private var _dying: Bool = false
    public internal(set) var released: Bool {
        get { sync.lock(); defer { sync.unlock() }; return _released }
        set { sync.lock(); _released = newValue; sync.unlock() }
        _modify {
            sync.lock()
            defer { sync.unlock() }
            yield &_released
        }
    }
    private var _released: Bool = false

    let sync: ModelSync

    init(id: Int, inode: GmemInode, vm: VM) {
        self.sync = inode.sync
        self.id = id
        self.inode = inode
        self.vm = vm
    }

    func binding(at index: Int) -> Memslot? {
        for b in bindings where index >= b.start && index < b.end { return b.slot }
        return nil
    }
}

/// A host process (mm_struct) with shared mappings of guest_memfd files.
public final class Process {
    public let id: Int
    public let mmapLock: ModelLock
    /// VMAs: gmem handle -> file (vma->vm_file holds a file reference). Changed under mmap_lock
    /// write; the model's access path looks them up without it (`sync` in threads mode).
    public internal(set) var vmas: [Int: GmemFile] {
        _read { sync.lock(); defer { sync.unlock() }; yield _vmas }
        set { sync.locked { _vmas = newValue } }
        _modify {
            sync.lock()
            defer { sync.unlock() }
            yield &_vmas
        }
    }
    private var _vmas: [Int: GmemFile] = [:]
    /// PTEs: key (inode << 24 | index) -> frame. The page-table lock (PTL) and the lockless
    /// hardware walk: `sync` in threads mode.
    public internal(set) var ptes: [Int: FrameRef] {
        _read { sync.lock(); defer { sync.unlock() }; yield _ptes }
        set { sync.locked { _ptes = newValue } }
        _modify {
            sync.lock()
            defer { sync.unlock() }
            yield &_ptes
        }
    }
    private var _ptes: [Int: FrameRef] = [:]

    let sync: ModelSync

    init(id: Int, sync: ModelSync) {
        self.sync = sync
        self.id = id
        mmapLock = ModelLock(.mmapLock, "mmap_lock(proc\(id))")
    }

    @inline(__always) static func key(_ inode: Int, _ index: Int) -> Int { inode << 24 | index }
}
