import GmemModel

/// Threaded variants of sequential scenarios for FuzzConcurrent (`gmemfuzz corpus build`).
///
/// A scenario's ops after its setup (the last create/map/init op) belong to different actors
/// in the kernel: the VMM's ioctls (conversion, punch hole, slots), the guest on a vCPU
/// (faults, accept, MapGPA, prefault), host userspace and core-mm (accesses through the
/// mapping, pins, transient refs) and memory failure. Each actor gets its own logical thread
/// (t0, t1, t2, t3); when the tail has at least two, the seed is that program with a tape that
/// preempts one tail op in the middle (at a lock or yield point) for another actor's next op:
/// the first such interleaving that runs clean on the default profile. These seeds start the
/// fuzzer on the races SPEC §6 is about instead of waiting for the mutator to split threads.
extension Seeds {
    /// The logical thread for an op of a scenario's tail.
    static func actor(_ k: OpKind) -> Int {
        switch k {
        case .guestRead, .guestWrite, .guestAccept, .guestMapGpa, .vcpuPrefault: 1
        case .hostRead, .hostWrite, .hostPin, .hostUnpin, .mmRef, .mmUnref, .mmLru: 2
        case .gmemMemoryFailure: 3
        default: 0
        }
    }

    static let setupKinds: Set<OpKind> = [.vmCreate, .tdxInitVM, .tdxFinalize, .vcpuCreate, .tdxInitVcpu,
                                          .gmemCreate, .slotCreate, .hostMmap, .hostFork, .tdxInitMemRegion]

    /// The threaded seed of a sequential scenario, nil when the scenario is already threaded,
    /// has fewer than two actors after its setup, or no interleaving of it runs clean (then
    /// `.excluded` with the finding, for `corpus build` to show: on the default profile that
    /// is a model bug or a design issue to look at).
    public static func threadedSeed(for scenario: Program) -> Outcome? {
        guard case .seed(let t, _) = seed(for: scenario), t != .concurrent else { return nil }
        var p = scenario
        p.config.plus = []
        p.config.minus = []
        for i in p.ops.indices { p.ops[i].expect = nil }
        guard let lastSetup = p.ops.lastIndex(where: { setupKinds.contains($0.kind) }) else { return nil }
        let tail = (lastSetup + 1)..<p.ops.count
        for i in tail { p.ops[i].thread = actor(p.ops[i].kind) }
        // `value=` on a read is the value the sequential scenario expects; interleaved, the
        // read can see another write (not a finding, but `gmemfuzz run` would check it).
        for i in p.ops.indices where p.ops[i].kind == .hostRead || p.ops[i].kind == .guestRead {
            if let k = p.ops[i].kind.schema.slot("value") { p.ops[i].args[k] = Op.absent }
        }
        guard Set(tail.map { p.ops[$0].thread }).count >= 2 else { return nil }
        // The program-order run: where each tail op has a decision inside it (not at its start).
        let base = Executor.run(p, options: .init(checkExpectations: false))
        guard base.findings.isEmpty else { return .excluded("threaded: raises \(base.findings[0].signature) in program order") }
        let threads = Set(p.ops.map(\.thread))
        var firstFinding: String?
        for k in base.steps.indices.dropFirst() where tail.contains(base.stepOps[k]) && base.stepOps[k] == base.stepOps[k - 1] {
            let running = base.steps[k]
            // Another actor's next op runs here: the one that comes first in program order.
            guard let other = p.ops.indices.first(where: { i in
                p.ops[i].thread != running && i > base.stepOps[k] && threads.contains(p.ops[i].thread)
            }).map({ p.ops[$0].thread }) else { continue }
            var c = p
            c.schedule = .steps(Array(base.steps[..<k]) + [other])
            let bytes = ByteCodec.encode(c)
            let r = Executor.run(ByteCodec.decode(bytes), options: .init(checkEveryStep: true, checkExpectations: false))
            if r.findings.isEmpty { return .seed(.concurrent, bytes) }
            firstFinding = firstFinding ?? r.findings[0].signature
        }
        return firstFinding.map { .excluded("threaded: every interleaving tried raises (first: \($0))") }
    }
}
