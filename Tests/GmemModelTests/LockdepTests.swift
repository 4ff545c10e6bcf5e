import Testing
@testable import GmemModel

/// The lockdep-style validator behind `Model.lock/unlock` (SPEC §3.1: "A self-deadlock
/// (re-taking a held lock) is reported, never hangs"; §6: in deterministic mode a thread blocked
/// on a held lock is not runnable, no runnable thread = deadlock finding).
///
/// Every test releases what it took: the model locks are real pthread rwlocks, so a bug that
/// grants a lock twice would hang the test run instead of passing.
@Suite struct LockdepTests {
    /// Run `body`, which must abort; return the finding it aborted with.
    static func abort(_ body: () throws(ModelAbort) -> Void,
                      sourceLocation: SourceLocation = #_sourceLocation) -> Finding? {
        do {
            try body()
            Issue.record("expected a ModelAbort", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error.finding
        }
    }

    static func model() -> Model {
        let m = Model()
        m.checkEveryStep = false
        return m
    }

    // MARK: recursion

    @Test(arguments: [LockClass.slotsLock, .invalidateLock, .mmuLock, .folioLock, .mmapLock, .tdrLock])
    func reTakingAnExclusiveLockIsASelfDeadlock(_ cls: LockClass) throws {
        let m = Self.model()
        let l = ModelLock(cls, "\(cls.name)(test)")
        try m.lock(l)
        let f = try #require(Self.abort { () throws(ModelAbort) in try m.lock(l) })
        #expect(f.kind == .deadlock)
        #expect(f.id == cls.name)
        #expect(f.message.contains("\(cls.name)(test)"))
        // The failed attempt changed nothing: still held once, exclusively, by t0.
        #expect(l.writer == 0)
        #expect(l.readers.isEmpty)
        #expect(m.lockdep.heldCount(0) == 1)
        // Shared on top of own exclusive is a self-deadlock too (even for rwlock_t).
        let g = try #require(Self.abort { () throws(ModelAbort) in try m.lock(l, .shared) })
        #expect(g.kind == .deadlock)
        m.unlock(l)
        #expect(l.isFree)
        #expect(m.lockdep.heldCount(0) == 0)
        #expect(m.drainFindings().isEmpty)
    }

    @Test(arguments: [LockClass.invalidateLock, .mmapLock])
    func recursiveReadOfRwSemaphoreIsReported(_ cls: LockClass) throws {
        let m = Self.model()
        let l = ModelLock(cls, "\(cls.name)(gmem0)")
        try m.lock(l, .shared)
        let f = try #require(Self.abort { () throws(ModelAbort) in try m.lock(l, .shared) })
        #expect(f.kind == .deadlock)
        #expect(f.id == cls.name)
        #expect(l.readers == [0])
        m.unlock(l)
        #expect(l.isFree)
    }

    @Test func recursiveReadOfMmuLockIsAllowed() throws {
        let m = Self.model()
        let l = ModelLock(.mmuLock, "mmu_lock(vm0)")
        try m.lock(l, .shared)
        try m.lock(l, .shared)
        #expect(l.readers == [0, 0])
        #expect(m.lockdep.heldCount(0) == 2)
        #expect(m.drainFindings().isEmpty)
        m.unlock(l)
        #expect(l.readers == [0])
        m.unlock(l)
        #expect(l.isFree)
        #expect(m.drainFindings().isEmpty)
        // Read then write on the same rwlock is still a self-deadlock.
        try m.lock(l, .shared)
        let f = try #require(Self.abort { () throws(ModelAbort) in try m.lock(l) })
        #expect(f.kind == .deadlock && f.id == "mmu_lock")
        m.unlock(l)
        #expect(l.isFree)
    }

    @Test func distinctInstancesOfOneClassDoNotConflict() throws {
        let m = Self.model()
        let a = ModelLock(.folioLock, "folio_lock(gmem0:0)")
        let b = ModelLock(.folioLock, "folio_lock(gmem0:1)")
        try m.lock(a)
        try m.lock(b)
        #expect(a.writer == 0 && b.writer == 0)
        m.unlock(b)
        m.unlock(a)
        #expect(a.isFree && b.isFree)
        #expect(m.drainFindings().isEmpty)
    }

    // MARK: order inversions

    @Test func abThenBaReportsExactlyOneInversion() throws {
        let m = Self.model()
        let a = ModelLock(.slotsLock, "slots_lock(vm0)")
        let b = ModelLock(.invalidateLock, "invalidate_lock(gmem0)")
        // Sequence 1: A -> B.
        try m.lock(a)
        try m.lock(b)
        m.unlock(b)
        m.unlock(a)
        #expect(m.drainFindings().isEmpty)
        #expect(m.lockdep.orderEdges().contains { $0 == (.slotsLock, .invalidateLock) })
        // Sequence 2: B -> A. Reported, not fatal: the lock is granted.
        try m.lock(b)
        try m.lock(a)
        #expect(a.writer == 0 && b.writer == 0)
        m.unlock(a)
        m.unlock(b)
        // Repeating the inverted order does not report again.
        try m.lock(b, .shared)
        try m.lock(a)
        m.unlock(a)
        m.unlock(b)
        let fs = m.drainFindings()
        #expect(fs.count == 1)
        let f = try #require(fs.first)
        #expect(f.kind == .lockdep)
        // Named held>acquired at the time of the inverted acquisition.
        #expect(f.id == "invalidate_lock>slots_lock")
        #expect(f.message.contains("slots_lock(vm0)") && f.message.contains("invalidate_lock(gmem0)"))
        #expect(a.isFree && b.isFree)
    }

    @Test func consistentOrderIsNeverReported() throws {
        let m = Self.model()
        let sl = ModelLock(.slotsLock, "slots_lock(vm0)")
        let il = ModelLock(.invalidateLock, "invalidate_lock(gmem0)")
        let ml = ModelLock(.mmuLock, "mmu_lock(vm0)")
        let fl = ModelLock(.folioLock, "folio_lock(gmem0:0)")
        for round in 0..<5 {
            // Subsets of SL -> IL -> FL -> ML in kernel order, interleaved with gaps.
            try m.lock(sl)
            try m.lock(il, round.isMultiple(of: 2) ? .exclusive : .shared)
            if round > 1 { try m.lock(fl) }
            try m.lock(ml, .shared)
            m.unlock(ml)
            if round > 1 { m.unlock(fl) }
            m.unlock(il)
            m.unlock(sl)
            try m.lock(il)
            try m.lock(ml)
            m.unlock(ml)
            m.unlock(il)
        }
        #expect(m.drainFindings().isEmpty)
        for l in [sl, il, ml, fl] { #expect(l.isFree) }
    }

    @Test func transitiveCycleIsReported() throws {
        let m = Self.model()
        let a = ModelLock(.slotsLock, "A")
        let b = ModelLock(.invalidateLock, "B")
        let c = ModelLock(.mmuLock, "C")
        try m.lock(a); try m.lock(b); m.unlock(b); m.unlock(a)     // A -> B
        try m.lock(b); try m.lock(c); m.unlock(c); m.unlock(b)     // B -> C
        #expect(m.drainFindings().isEmpty)
        try m.lock(c); try m.lock(a); m.unlock(a); m.unlock(c)     // C -> A closes the cycle
        let fs = m.drainFindings()
        #expect(fs.map(\.id) == ["mmu_lock>slots_lock"])
        #expect(fs.first?.kind == .lockdep)
    }

    @Test func inversionAcrossThreadsIsReported() throws {
        // The order graph is per class, not per thread (D2: populate IL -> MM vs fault MM -> IL).
        let m = Self.model()
        let il = ModelLock(.invalidateLock, "invalidate_lock(gmem0)")
        let mm = ModelLock(.mmapLock, "mmap_lock(proc0)")
        m.current = 0
        try m.lock(il)
        try m.lock(mm, .shared)
        m.unlock(mm)
        m.unlock(il)
        m.current = 1
        try m.lock(mm, .shared)
        try m.lock(il, .shared)
        m.unlock(il)
        m.unlock(mm)
        let fs = m.drainFindings()
        #expect(fs.count == 1)
        #expect(fs.first?.kind == .lockdep)
        #expect(fs.first?.id == "mmap_lock>invalidate_lock")
        #expect(fs.first?.message.contains("t1") == true)
    }

    // MARK: misuse and blocking

    @Test func unlockOfALockNotHeldWarns() throws {
        let m = Self.model()
        let l = ModelLock(.slotsLock, "slots_lock(vm0)")
        m.unlock(l)
        var fs = m.drainFindings()
        #expect(fs.count == 1)
        #expect(fs.first?.kind == .warn)
        #expect(fs.first?.id == "lock_release")
        #expect(l.isFree)
        // Releasing another thread's lock is the same mistake; the holder keeps it.
        m.current = 1
        try m.lock(l)
        m.current = 0
        m.unlock(l)
        fs = m.drainFindings()
        #expect(fs.map(\.kind) == [.warn])
        #expect(l.writer == 1)
        m.current = 1
        m.unlock(l)
        #expect(l.isFree)
        #expect(m.drainFindings().isEmpty)
    }

    @Test func lockHeldByAnotherThreadIsADeadlockNotABlock() throws {
        let m = Self.model()
        let l = ModelLock(.invalidateLock, "invalidate_lock(gmem0)")
        m.current = 1
        try m.lock(l)
        m.current = 0
        let f = try #require(Self.abort { () throws(ModelAbort) in try m.lock(l) })
        #expect(f.kind == .deadlock)
        #expect(f.id == "invalidate_lock")
        #expect(f.message.contains("t0") && f.message.contains("t1"))
        let g = try #require(Self.abort { () throws(ModelAbort) in try m.lock(l, .shared) })
        #expect(g.kind == .deadlock)
        // t0 got nothing.
        #expect(l.writer == 1 && l.readers.isEmpty)
        #expect(m.lockdep.heldCount(0) == 0)
        m.current = 1
        m.unlock(l)
        #expect(l.isFree)
        // Readers on different threads share an rw_semaphore.
        try m.lock(l, .shared)
        m.current = 0
        try m.lock(l, .shared)
        #expect(l.readers.sorted() == [0, 1])
        // ... and a writer waits for them: deadlock in deterministic single-thread mode.
        m.current = 2
        let h = try #require(Self.abort { () throws(ModelAbort) in try m.lock(l) })
        #expect(h.kind == .deadlock)
        m.current = 0; m.unlock(l)
        m.current = 1; m.unlock(l)
        #expect(l.isFree)
        #expect(m.drainFindings().isEmpty)
    }

    @Test func lockHeldAtOpEndIsL1() throws {
        let m = Self.model()
        let l = ModelLock(.mmapLock, "mmap_lock(proc0)")
        try m.lock(l, .shared)
        m.checkInvariants(atOpEnd: true)
        let fs = m.drainFindings()
        #expect(fs.map(\.id) == ["L1"])
        #expect(fs.first?.message.contains("mmap_lock(proc0)") == true)
        m.unlock(l)
        m.checkInvariants(atOpEnd: true)
        #expect(m.drainFindings().isEmpty)
    }

    @Test func realModelPathsReportNoLockFindings() throws {
        // A conversion, a punch, a guest fault and a host fault under the default profile take
        // the model's locks in a consistent order and release all of them.
        let m = Model()
        #expect(m.vmCreate(vm: 0, type: .sw) == .ok)
        #expect(m.vcpuCreate(vm: 0, vcpu: 0) == .ok)
        #expect(m.gmemCreate(gmem: 0, vm: 0, pages: 4, flags: [.mmap, .initShared], huge: .none) == .ok)
        #expect(try m.slotCreate(vm: 0, slot: 0, gmem: 0, gfn: 0, pages: 4, off: 0) == .ok)
        #expect(try m.hostMmap(proc: 0, gmem: 0) == .ok)
        #expect(try m.hostAccess(proc: 0, gmem: 0, page: 0, write: 1) == .ok)
        #expect(try m.guestAccess(vcpu: 0, gfn: 0, write: nil, privateKey: nil) == .value(1))
        #expect(try m.gmemSetAttributes(gmem: 0, page: 0, count: 2, toPrivate: true) == .ok)
        #expect(try m.guestAccess(vcpu: 0, gfn: 1, write: 2, privateKey: nil) == .ok)
        #expect(try m.gmemPunchHole(gmem: 0, page: 0, count: 4) == .ok)
        #expect(try m.slotDelete(vm: 0, slot: 0) == .ok)
        m.checkInvariants(atOpEnd: true)
        #expect(m.drainFindings().isEmpty)
        #expect(m.lockdep.heldCount(0) == 0)
        // The learned graph follows the kernel's orders (research §4.2).
        let edges = m.lockdep.orderEdges()
        #expect(edges.contains { $0 == (.invalidateLock, .mmuLock) })
        #expect(edges.contains { $0 == (.invalidateLock, .folioLock) })
        #expect(edges.contains { $0 == (.mmapLock, .invalidateLock) })
        #expect(!edges.contains { $0 == (.mmuLock, .invalidateLock) })
    }

    // MARK: aborted ops

    /// An op cut short by a ModelAbort (here the self-deadlock) still holds what its path
    /// took; `abandonLocks` drops all of it, newest first, so no rwlock is left locked when the
    /// run's model goes away (ModelLock.deinit leaks a locked one: the FuzzConcurrent
    /// LeakSanitizer report on the known D8 deadlock, Fuzz/FailCases/FuzzConcurrent/
    /// leak_aborted_run_locks). Re-taking the locks afterwards proves the OS locks are free.
    @Test func abandonLocksFreesAnAbortedOpsLocks() throws {
        let m = Self.model()
        let il = ModelLock(.invalidateLock, "invalidate_lock(test)")
        let folio = ModelLock(.folioLock, "folio_lock(test)")
        let mmu = ModelLock(.mmuLock, "mmu_lock(test)")
        try m.lock(il, .shared)
        try m.lock(folio)
        try m.lock(mmu, .shared)
        #expect(Self.abort { () throws(ModelAbort) in try m.lock(folio) }?.kind == .deadlock)
        m.abandonLocks(of: m.current)
        #expect(il.isFree && folio.isFree && mmu.isFree)
        #expect(m.lockdep.heldCount(m.current) == 0)
        // Another thread's holds are not touched.
        m.current = 1
        try m.lock(mmu, .shared)
        m.abandonLocks(of: 0)
        #expect(mmu.readers == [1])
        m.abandonLocks(of: 1)
        m.current = 0
        for l in [il, folio, mmu] {
            try m.lock(l)
            m.unlock(l)
        }
        #expect(m.drainFindings().isEmpty)
    }
}
