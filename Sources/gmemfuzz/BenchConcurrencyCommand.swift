import ArgumentParser
import Foundation
import GmemHarness
import GmemModel

/// Executions per second of the executor on fixed programs (SPEC §11 targets are measured by
/// benchmarks, never by timed tests).
struct BenchConcurrency: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "concurrency",
        abstract: "Measure executor exec/s (sequential fast path, deterministic and threads concurrency).")

    @Option(help: "Seconds per measurement") var seconds: Double = 2
    @Option(help: "Only this case: seq64, det2, det2-pct, threads2") var only: String?

    /// 64 ops on t0: create, map, fault, convert back and forth, punch, realloc.
    static func sequential64(threads: Bool) -> Program {
        var lines = ["gmemfuzz 1", "vm.create vm=0 type=sw", "vcpu.create vm=0 vcpu=0",
                     "gmem.create gmem=0 vm=0 pages=8 flags=mmap,init_shared",
                     "slot.create vm=0 slot=0 gmem=0 gfn=0x100 pages=8", "host.mmap proc=0 gmem=0"]
        var k = 0
        while lines.count < 65 {
            let p = k % 8, t = threads ? "t\(k % 2): " : ""
            let body = ["host.write gmem=0 page=\(p) value=0x\(String(k & 0xff, radix: 16))",
                        "guest.read vcpu=0 gfn=\(0x100 + p)",
                        "gmem.convert gmem=0 page=\(p) count=1 to=private",
                        "guest.write vcpu=0 gfn=\(0x100 + p) value=0x11",
                        "gmem.convert gmem=0 page=\(p) count=1 to=shared",
                        "gmem.punch gmem=0 page=\(p) count=1",
                        "gmem.alloc gmem=0 page=\(p) count=1"]
            for b in body where lines.count < 65 { lines.append(t + b) }
            k += 1
        }
        return try! ScenarioParser.parse(lines.joined(separator: "\n"), file: "bench")
    }

    func measure(_ name: String, _ p: Program, _ mode: ExecMode) {
        if let o = only, o != name { return }
        let opts = Executor.Options(checkEveryStep: true, checkExpectations: false, mode: mode)
        _ = Executor.run(p, options: opts)
        var n = 0
        let start = Date()
        while Date().timeIntervalSince(start) < seconds {
            for _ in 0..<20 { _ = Executor.run(p, options: opts) }
            n += 20
        }
        let dt = Date().timeIntervalSince(start)
        let r = Executor.run(p, options: opts)
        print("\(name): \(Int(Double(n) / dt)) exec/s (\(p.ops.count) ops, \(r.steps.count) steps, \(r.findings.count) findings)")
    }

    func run() throws {
        measure("seq64", Self.sequential64(threads: false), .deterministic)
        measure("det2", Self.sequential64(threads: true), .deterministic)
        var pct = Self.sequential64(threads: true)
        pct.schedule = .pct(seed: 7, depth: 3)
        measure("det2-pct", pct, .deterministic)
        // Threads mode only on request: the model does not yet guard every structure the kernel
        // guards with a spinlock or atomics (SPTE cmpxchg, xarray, refcounts), so racing
        // threads can corrupt Swift collections on programs like this one.
        if only == "threads2" { measure("threads2", Self.sequential64(threads: true), .threads) }
    }
}
