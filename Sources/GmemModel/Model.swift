/// Who holds a folio reference (gmem-semantics §1.7). Host-PTE refs are counted from page tables.
public enum RefHolder: Sendable {
    case filemap, caller, pte, gup, pin, transient, lru, tdx, anonOwner
}

/// The whole modelled machine: host kernel (mm, guest_memfd, KVM) plus the vendor layer.
/// One instance per input; `reset`-free by design (a new Model per run is cheap).
public final class Model {
    public let config: Config
    /// Behaviours in force (profile defaults ± scenario variants).
    public let v: VariantSet
    public var profile: Profile { config.profile }

    /// Lockdep's graph and held stacks: harness bookkeeping, under `harness` in threads mode.
    public internal(set) var lockdep = Lockdep()
    /// The logical thread running now (tN in scenarios). In threads mode every OS thread of the
    /// pool runs its own logical thread, so the id lives in thread-local storage.
    public var current: Int {
        get { threaded ? LogicalThread.current : _current }
        set { _current = newValue }
    }
    private var _current = 0
    /// Set by the concurrency layer: logical threads run on the pool's OS threads at once, over
    /// the real pthread locks (`ModelScheduler.threaded`); see `atomic`.
    public var threaded: Bool { sync.threaded }
    /// Threads mode: the kernel's atomics, RCU and internal spinlocks (see `ModelSync`), shared
    /// with every object the model creates.
    let sync = ModelSync()
    /// Threads mode: harness bookkeeping that is not kernel state (findings, lockdep's graph and
    /// held stacks, ModelLock holder records, injection counters). A leaf lock: nothing else is
    /// taken while it is held.
    let harness = HarnessMutex()
    /// Non-fatal findings raised since the executor last drained them (under `harness`).
    public internal(set) var findings: [Finding] = []
    /// Pending injected failures (under `harness` in threads mode: the take/add calls mutate).
    public var inject: Injections {
        _read { if threaded { harness.lock() }; defer { if threaded { harness.unlock() } }; yield _inject }
        set { harnessLocked { _inject = newValue } }
        _modify {
            if threaded { harness.lock() }
            defer { if threaded { harness.unlock() } }
            yield &_inject
        }
    }
    private var _inject = Injections()
    /// The page allocator (zone->lock; `sync` in threads mode).
    public internal(set) var pages: PageAllocator {
        _read { sync.lock(); defer { sync.unlock() }; yield _pages }
        set { sync.locked { _pages = newValue } }
        _modify {
            sync.lock()
            defer { sync.unlock() }
            yield &_pages
        }
    }
    private var _pages: PageAllocator
    /// The TDX module (TDs, PAMT, HKIDs). The module serialises SEAMCALLs with its own locks
    /// (TDR/TDCS, per-S-EPT-entry, PAMT): `sync` in threads mode, taken by `seamcall`.
    public internal(set) var tdx: TdxModule {
        _read { sync.lock(); defer { sync.unlock() }; yield _tdx }
        set { sync.locked { _tdx = newValue } }
        _modify {
            sync.lock()
            defer { sync.unlock() }
            yield &_tdx
        }
    }
    private var _tdx = TdxModule()

    public static let maxHandles = 8
    /// Handle tables (the fd table: RCU lookups, files_struct lock for install/close; `sync`).
    public internal(set) var vms: [VM?] {
        _read { sync.lock(); defer { sync.unlock() }; yield _vms }
        set { sync.locked { _vms = newValue } }
        _modify { sync.lock(); defer { sync.unlock() }; yield &_vms }
    }
    private var _vms: [VM?] = Array(repeating: nil, count: maxHandles)
    public internal(set) var vcpus: [VCPU?] {
        _read { sync.lock(); defer { sync.unlock() }; yield _vcpus }
        set { sync.locked { _vcpus = newValue } }
        _modify { sync.lock(); defer { sync.unlock() }; yield &_vcpus }
    }
    private var _vcpus: [VCPU?] = Array(repeating: nil, count: maxHandles)
    /// guest_memfd handles: the scenario's `gmem` id names one file (and its inode).
    public internal(set) var files: [GmemFile?] {
        _read { sync.lock(); defer { sync.unlock() }; yield _files }
        set { sync.locked { _files = newValue } }
        _modify { sync.lock(); defer { sync.unlock() }; yield &_files }
    }
    private var _files: [GmemFile?] = Array(repeating: nil, count: maxHandles)
    public internal(set) var inodes: [GmemInode] {
        _read { sync.lock(); defer { sync.unlock() }; yield _inodes }
        set { sync.locked { _inodes = newValue } }
        _modify { sync.lock(); defer { sync.unlock() }; yield &_inodes }
    }
    private var _inodes: [GmemInode] = []
    public internal(set) var procs: [Process?] {
        _read { sync.lock(); defer { sync.unlock() }; yield _procs }
        set { sync.locked { _procs = newValue } }
        _modify { sync.lock(); defer { sync.unlock() }; yield &_procs }
    }
    private var _procs: [Process?] = Array(repeating: nil, count: maxHandles)
    /// Long-term pins and transient refs held by userspace / background actors, by (gmem, page):
    /// the refs themselves are folio refcount atomics, these lists say who holds them (`sync`).
    var pinned: [(gmem: Int, page: Int, folio: Folio)] {
        _read { sync.lock(); defer { sync.unlock() }; yield _pinned }
        set { sync.locked { _pinned = newValue } }
        _modify { sync.lock(); defer { sync.unlock() }; yield &_pinned }
    }
    private var _pinned: [(gmem: Int, page: Int, folio: Folio)] = []
    var transient: [(gmem: Int, page: Int, folio: Folio)] {
        _read { sync.lock(); defer { sync.unlock() }; yield _transient }
        set { sync.locked { _transient = newValue } }
        _modify { sync.lock(); defer { sync.unlock() }; yield &_transient }
    }
    private var _transient: [(gmem: Int, page: Int, folio: Folio)] = []
    /// Bounded retry loops (RET_PF_RETRY, EAGAIN spins) give up after this many rounds.
    public var retryBound = 64

    /// Invariant checks at every scheduling point (true) or only after each op (false).
    public var checkEveryStep = true
    /// Called at every scheduling point (lock/unlock/yield) after the invariant check.
    public var onSchedPoint: ((Model) -> Void)?
    /// The concurrency layer (nil: one logical thread at a time, a held lock is a deadlock).
    public private(set) var scheduler: ModelScheduler?

    public func attach(_ s: ModelScheduler) {
        scheduler = s
        sync.threaded = s.threaded
        if threaded { checkEveryStep = false }   // the checker reads everything: only at quiescence
    }

    /// Context the checker needs about the syscall in flight, per logical thread (set by the
    /// paths themselves; several conversions may be in flight on different threads).
    public internal(set) var conversion: ConversionWindow? {
        get { conversions[current & 63] }
        set { conversions[current & 63] = newValue }
    }
    private let conversions: UnsafeMutablePointer<ConversionWindow?> = {
        let p = UnsafeMutablePointer<ConversionWindow?>.allocate(capacity: 64)
        p.initialize(repeating: nil, count: 64)
        return p
    }()

    public init(config: Config = Config()) {
        self.config = config
        self.v = config.effective
        _pages = PageAllocator(sync: sync)
        // Process 0 is the VMM; it always exists.
        _procs[0] = Process(id: 0, sync: sync)
    }

    deinit {
        // Break the file <-> memslot reference cycles, then free every payload still live.
        for f in files { f?.bindings.removeAll() }
        // Every memslot ever created: one a deletion unpublished before the run was cut short
        // (ModelAbort in synchronize_srcu) is in no VM's slots any more, but still allocated.
        for s in allSlots where !s.deleted {
            s.file = nil
            s.raw.deallocate()
        }
        pages.releaseAll()
        tdx.releaseAll()
        conversions.deinitialize(count: 64)
        conversions.deallocate()
    }

    /// Threads mode: the lock each OS-blocked logical thread waits for (under `harness`).
    var threadedWaits: [Int: (ModelLock, LockMode)] = [:]

    /// Every memslot created in this run, for `deinit` (harness bookkeeping, under `harness`).
    var allSlots: [Memslot] = []

    /// Run `body` under `sync` in threads mode (a kernel atomic / internal spinlock section:
    /// callers name which); directly otherwise.
    @inline(__always) func atomically<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        try sync.locked(body)
    }

    /// Run `body` under the harness bookkeeping mutex in threads mode.
    @inline(__always) func harnessLocked<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        if !threaded { return try body() }
        return try harness.withLock(body)
    }

    // MARK: findings

    /// Record a non-fatal finding (WARN, lockdep inversion, invariant).
    public func report(_ f: Finding) {
        if threaded { harness.lock() }
        defer { if threaded { harness.unlock() } }
        if findings.contains(where: { $0.kind == f.kind && $0.id == f.id }) { return }
        findings.append(f)
    }

    public func drainFindings() -> [Finding] {
        if threaded { harness.lock() }
        defer {
            findings.removeAll(keepingCapacity: true)
            if threaded { harness.unlock() }
        }
        return findings
    }

    /// WARN_ON_ONCE(cond): reports a `warn` finding, execution continues (as in the kernel).
    @discardableResult
    func warnOn(_ cond: Bool, _ site: String, _ msg: @autoclosure () -> String) -> Bool {
        if cond { report(.warn(site, msg())) }
        return cond
    }

    /// KVM_BUG_ON(cond, kvm): WARN + mark the VM bugged.
    @discardableResult
    func kvmBugOn(_ cond: Bool, _ vm: VM, _ site: String, _ msg: @autoclosure () -> String) -> Bool {
        if cond {
            report(.warn(site, "KVM_BUG_ON: " + msg()))
            vm.bugged = true
        }
        return cond
    }

    // MARK: locks (scheduling points)

    public func lock(_ l: ModelLock, _ mode: LockMode = .exclusive) throws(ModelAbort) {
        try lock(l, mode, schedule: true)
    }

    /// Lock an object nobody else can reach yet (__folio_set_locked() on a folio before
    /// filemap_add_folio()): lockdep sees it, but it is not a scheduling point and never waits.
    func lockFresh(_ l: ModelLock) throws(ModelAbort) {
        try lock(l, .exclusive, schedule: false)
    }

    private func lock(_ l: ModelLock, _ mode: LockMode, schedule: Bool) throws(ModelAbort) {
        if threaded { return try lockThreaded(l, mode, schedule: schedule) }
        if schedule { schedPoint(.lock(l, mode)) }
        let t = current
        let r = lockdep.validate(l, mode, thread: t)
        if let fatal = r.fatal { throw ModelAbort(fatal) }
        if let inv = r.inversion { report(inv) }
        var queued = false
        defer { if queued { l.waitingWriters -= 1 } }
        while !l.available(mode, by: t) {
            if mode == .exclusive && !queued && scheduler != nil {
                queued = true
                l.waitingWriters += 1
            }
            guard let s = scheduler else {
                // One logical thread at a time: nobody else can release it.
                let holder = l.writer >= 0 ? "t\(l.writer)" : l.readers.map { "t\($0)" }.joined(separator: ",")
                throw ModelAbort(Finding(kind: .deadlock, id: l.cls.name,
                                         message: "t\(t) waits for \(l.label) (\(mode)) held by \(holder); no other thread can run"))
            }
            // Not runnable until the lock is free; throws the deadlock when nobody can run.
            try s.waitFor(l, mode, self)
        }
        l.record(mode, by: t)
        l.acquireOS(mode)
        lockdep.push(l, mode, thread: t)
    }

    public func unlock(_ l: ModelLock) {
        if threaded { return unlockThreaded(l) }
        guard let mode = lockdep.pop(l, thread: current) else {
            report(.warn("lock_release", "t\(current) releases \(l.label) it does not hold"))
            return
        }
        l.forget(mode, by: current)
        l.releaseOS()
        schedPoint(.unlock(l))
    }

    /// An op cut short by a `ModelAbort` (a deadlock, a fatal lockdep report, a run torn down)
    /// leaves the locks its kernel path held: the kernel would have dropped them on its way
    /// out. Drop them here, newest first, on the thread that took them (the caller: the
    /// executor calls this where it catches the abort), so the pthread rwlock is unlocked by
    /// its owner, never destroyed while locked, and the ModelLock deinit frees it (before, an
    /// aborted run leaked the rwlock of every lock it held: LeakSanitizer in the fuzzers).
    public func abandonLocks(of t: Int) {
        while true {
            let h: Lockdep.Held? = threaded
                ? harness.withLock { lockdep.popLast(thread: t) }
                : lockdep.popLast(thread: t)
            guard let h else { return }
            if threaded {
                harness.withLock { h.lock.forget(h.mode, by: t) }
            } else {
                h.lock.forget(h.mode, by: t)
            }
            h.lock.releaseOS()
        }
    }

    /// Threads mode: lockdep under the atomic section, then the real (blocking) pthread lock.
    private func lockThreaded(_ l: ModelLock, _ mode: LockMode, schedule: Bool) throws(ModelAbort) {
        if schedule { scheduler?.schedPoint(self, .lock(l, mode)) }
        let t = current
        let r = harness.withLock { lockdep.validate(l, mode, thread: t) }
        if let fatal = r.fatal { throw ModelAbort(fatal) }
        if let inv = r.inversion { report(inv) }
        harness.withLock { threadedWaits[t] = (l, mode) }
        // SRCU (see ModelLock.available): a new read section lets a pending synchronize_srcu
        // in first; the pthread rwlock prefers readers and would starve it.
        if l.cls == .srcu {
            if mode == .exclusive {
                harness.withLock { l.waitingWriters += 1 }
            } else if !waitForSrcuWriters(l, t) {
                let f = harness.withLock { () -> Finding in
                    defer { threadedWaits[t] = nil }
                    return threadedDeadlock(from: t)
                }
                throw ModelAbort(f)
            }
        }
        defer { if l.cls == .srcu && mode == .exclusive { harness.withLock { l.waitingWriters -= 1 } } }
        if !l.acquireOS(mode, timeoutMs: ModelLock.threadedTimeoutMs) {
            let f = harness.withLock { () -> Finding in
                defer { threadedWaits[t] = nil }
                return threadedDeadlock(from: t)
            }
            throw ModelAbort(f)
        }
        harness.withLock {
            threadedWaits[t] = nil
            l.record(mode, by: t)
            lockdep.push(l, mode, thread: t)
        }
    }

    /// Threads mode, a new SRCU read section: wait (bounded) while a synchronize_srcu waits.
    private func waitForSrcuWriters(_ l: ModelLock, _ t: Int) -> Bool {
        var waited = 0
        while harness.withLock({ l.waitingWriters > 0 && !l.readers.contains(t) }) {
            if waited >= ModelLock.threadedTimeoutMs * 10 { return false }
            ModelLock.nap()
            waited += 1
        }
        return true
    }

    /// The wait-for chain of a timed-out wait, as the deterministic scheduler reports it (the
    /// signature names the lock classes of the cycle, so a deadlock has one signature in both
    /// modes). Under `harness`.
    private func threadedDeadlock(from start: Int) -> Finding {
        var parts: [String] = []
        var classes = Set<String>()
        var seen = Set<Int>()
        var t = start
        while !seen.contains(t), let (l, mode) = threadedWaits[t] {
            seen.insert(t)
            classes.insert(l.cls.name)
            let holders = l.writer >= 0 ? [l.writer] : l.readers
            parts.append("t\(t) waits for \(l.label) (\(mode == .shared ? "shared" : "exclusive")) held by \(holders.map { "t\($0)" }.joined(separator: ","))")
            guard let h = holders.first(where: { threadedWaits[$0] != nil }) else { break }
            t = h
        }
        let closed = t == start && seen.count > 1
        return Finding(kind: .deadlock, id: classes.sorted().joined(separator: "+"),
                       message: parts.joined(separator: "; ") + (closed ? ": wait-for cycle" : "") + " (threads mode, no progress in \(ModelLock.threadedTimeoutMs) ms)")
    }

    private func unlockThreaded(_ l: ModelLock) {
        let t = current
        let mode = harness.withLock { () -> LockMode? in
            guard let mode = lockdep.pop(l, thread: t) else { return nil }
            l.forget(mode, by: t)
            return mode
        }
        guard mode != nil else {
            report(.warn("lock_release", "t\(t) releases \(l.label) it does not hold"))
            return
        }
        l.releaseOS()
        scheduler?.schedPoint(self, .unlock(l))
    }

    /// A point where the kernel can be preempted without a lock change (cond_resched, etc.).
    public func yieldPoint(_ site: StaticString = "cond_resched") { schedPoint(.yield(site)) }

    /// A retry loop going round again (RET_PF_RETRY, an EAGAIN spin): the scheduler lets another
    /// runnable thread make progress first, as a fair kernel scheduler eventually would.
    public func spinPoint(_ site: StaticString) { schedPoint(.spin(site)) }

    @inline(__always) func schedPoint(_ p: SchedPoint) {
        if checkEveryStep { Checker.check(self, atOpEnd: false) }
        onSchedPoint?(self)
        scheduler?.schedPoint(self, p)
    }

    // MARK: folio references

    /// folio_get / folio_ref_add: an atomic in the kernel (`sync` in threads mode).
    func folioGet(_ f: Folio, _ who: RefHolder, _ n: Int = 1) {
        sync.lock()
        defer { sync.unlock() }
        f.refcount += n
        switch who {
        case .filemap: f.filemapRefs += n
        case .caller: f.callerRefs += n
        case .pte: break
        case .gup: f.gupRefs += n
        case .pin: f.pins += n
        case .transient: f.transientRefs += n
        case .lru: f.lruRefs += n
        case .tdx: f.tdxRefs += n
        case .anonOwner: f.anonOwnerRefs += n
        }
    }

    /// folio_put / folio_put_refs: the last put frees the folio.
    /// The refcount is an atomic (`sync` in threads mode); the free is the one put that hit zero.
    func folioPut(_ f: Folio, _ who: RefHolder, _ n: Int = 1) {
        sync.lock()
        defer { sync.unlock() }
        switch who {
        case .filemap: f.filemapRefs -= n
        case .caller: f.callerRefs -= n
        case .pte: break
        case .gup: f.gupRefs -= n
        case .pin: f.pins -= n
        case .transient: f.transientRefs -= n
        case .lru: f.lruRefs -= n
        case .tdx: f.tdxRefs -= n
        case .anonOwner: f.anonOwnerRefs -= n
        }
        f.refcount -= n
        if f.refcount == 0 {
            warnOn(f.inFilemap, "folio_put", "folio \(f.id) freed while still in the page cache")
            checkFreedFolioNotInSept(f)
            f.release()
            pages.noteFreed(f)
        } else if f.refcount < 0 {
            report(.invariant(.G5, "folio \(f.id) refcount went negative (\(f.refcount))"))
        }
    }

    /// Long-term pins count GUP_PIN_COUNTING_BIAS (1024) on small folios (include/linux/mm.h).
    static let gupPinBias = 1024

    /// filemap_add_folio(): the page cache holds folio_nr_pages refs.
    func filemapAdd(_ inode: GmemInode, _ f: Folio) {
        sync.lock()                                // xa_lock_irq(&mapping->i_pages)
        defer { sync.unlock() }
        folioGet(f, .filemap, f.nrPages)
        f.inFilemap = true
        for i in 0..<f.nrPages where f.index + i < inode.sizePages { inode.filemap[f.index + i] = f }
    }

    /// filemap_remove_folio() + filemap_free_folio(): a_ops->free_folio, then drop the refs.
    func filemapRemove(_ inode: GmemInode, _ f: Folio) {
        sync.lock()                                // xa_lock_irq(&mapping->i_pages)
        defer { sync.unlock() }
        for i in 0..<f.nrPages where f.index + i < inode.sizePages && inode.filemap[f.index + i] === f {
            inode.filemap[f.index + i] = nil
        }
        f.inFilemap = false
        // kvm_gmem_free_folio() -> kvm_arch_gmem_invalidate() (SNP only)
        for file in inode.files { file.vm.ops.gmemInvalidate(f); break }
        folioPut(f, .filemap, f.nrPages)
    }

    // MARK: handles

    func file(_ id: Int) -> GmemFile? { id >= 0 && id < Model.maxHandles ? files[id] : nil }
    func vm(_ id: Int) -> VM? { id >= 0 && id < Model.maxHandles ? vms[id] : nil }
    func vcpu(_ id: Int) -> VCPU? { id >= 0 && id < Model.maxHandles ? vcpus[id] : nil }
    func proc(_ id: Int) -> Process? { id >= 0 && id < Model.maxHandles ? procs[id] : nil }
}

/// What a KVM_SET_MEMORY_ATTRIBUTES(2) call in flight has promised (for G9/G11/K3 checks).
public struct ConversionWindow {
    public let inode: Int
    public let start: Int
    public let end: Int
    public let toPrivate: Bool
    /// Attributes of the inode before the call.
    public let before: AttrTree
    /// The inode's attribute-store count before the call: a conversion on another logical
    /// thread may store in between (then `before` no longer says what this call changed).
    public var storesBefore = 0
    /// Side effects seen so far.
    public var hostUnmaps = 0
    public var stage2Zaps = 0
    /// Zaps of mappings already of the target type (only meaningful with a mirrored TDP).
    public var targetTypeZaps = 0
}
