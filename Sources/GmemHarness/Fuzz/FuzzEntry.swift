#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GmemModel

/// The libFuzzer glue shared by every `Fuzz/Sources/<Target>/main.swift` (each main is a few
/// `@_cdecl` lines calling into here, like swift-protobuf's FuzzTesting).
///
/// Environment (read once):
/// - `GMEMFUZZ_PROFILE=NAME` pins the profile (else the input header chooses it);
/// - `GMEMFUZZ_VARIANT=+a,-b` adds variant switches on top of the header's;
/// - `GMEMFUZZ_EXPLORE=1` lets the mutator change the header (profile, variants);
/// - `GMEMFUZZ_OP_CHECKS=1` checks invariants after each op only (faster, coarser);
/// - `GMEMFUZZ_MODE=threads` runs FuzzConcurrent's logical threads on real threads (TSan
///   builds; experimental: see README "Concurrency"), else deterministic interleaving;
/// - `GMEMFUZZ_KNOWN=report` also stops on the known findings of FINDINGS.md (skipped by default);
/// - `GMEMFUZZ_STOP_ON=p1,p2` stops only on findings whose signature starts with one of the
///   prefixes (hunting one bug, `Fuzz/zoo.sh`): any other finding ends that input's run quietly.
public enum FuzzEntry {
    public struct Settings: Sendable {
        public var profile: Profile?
        public var plus = VariantSet()
        public var minus = VariantSet()
        public var explore = false
        public var checkEveryStep = true
        public var mode: ExecMode = .deterministic
        /// Signature prefixes that do not stop the job (KnownFindings unless GMEMFUZZ_KNOWN=report).
        public var ignore = KnownFindings.prefixes
        /// When not empty, only findings with one of these signature prefixes stop the job.
        public var stopOn: [String] = []
        public init() {}

        public func stops(_ f: Finding) -> Bool {
            stopOn.isEmpty || stopOn.contains { f.signature.hasPrefix($0) }
        }

        public var runOptions: Executor.Options {
            .init(checkEveryStep: checkEveryStep && mode == .deterministic, checkExpectations: false,
                  ignore: ignore, mode: mode)
        }

        public static func fromEnvironment() -> Settings {
            var s = Settings()
            if let p = env("GMEMFUZZ_PROFILE") { s.profile = Profile(rawValue: p) }
            if let vs = env("GMEMFUZZ_VARIANT") {
                for item in vs.split(separator: ",") {
                    let name = String(item.dropFirst())
                    guard let v = Variant(name: name) else { continue }
                    if item.first == "-" { s.minus.insert(v) } else { s.plus.insert(v) }
                }
            }
            s.explore = env("GMEMFUZZ_EXPLORE") == "1"
            s.checkEveryStep = env("GMEMFUZZ_OP_CHECKS") != "1"
            if env("GMEMFUZZ_KNOWN") == "report" { s.ignore = [] }
            if env("GMEMFUZZ_MODE") == "threads" { s.mode = .threads }
            if let p = env("GMEMFUZZ_STOP_ON") { s.stopOn = p.split(separator: ",").map(String.init) }
            return s
        }

        /// Whether a finding stops the job. In a run with an injected failure and no variant
        /// switched on, a `warn` (WARN / KVM_BUG_ON) is KVM's designed reaction to a result it
        /// treats as impossible, and a `liveness` finding is a retry loop facing injected
        /// contention that never ends (e.g. `inject seamcall=PAGE.ADD status=busy times=63`):
        /// neither is a finding unless GMEMFUZZ_KNOWN=report. Variants keep them (zoo bugs are
        /// warns under injection).
        public func stops(on f: Finding, _ r: RunReport, _ p: Program) -> Bool {
            if (f.kind == .warn || f.kind == .liveness) && r.injected && p.config.plus.rawValue == 0 && !ignore.isEmpty {
                return false
            }
            // Known findings with a condition (KnownFindings.onlyConcurrentWithoutVariants).
            if !ignore.isEmpty && KnownFindings.isKnown(f.signature, p) { return false }
            return true
        }

        /// The input's config with the job's pins applied.
        public func apply(to c: inout Config) {
            if let p = profile { c.profile = p }
            c.plus.rawValue = (c.plus.rawValue | plus.rawValue) & ~minus.rawValue
            c.minus.rawValue = (c.minus.rawValue | minus.rawValue) & ~plus.rawValue
        }
    }

    nonisolated(unsafe) public static var settings = Settings.fromEnvironment()

    static func env(_ name: String) -> String? {
        guard let p = getenv(name) else { return nil }
        return String(cString: p)
    }

    // MARK: LLVMFuzzerTestOneInput

    /// Runs one input; a finding prints its report and aborts so libFuzzer saves the input.
    public static func testOneInput(_ target: FuzzTarget, _ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
        let buf = UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size)
        switch target {
        case .conversion, .populate, .concurrent:
            var p = ByteCodec.decode(buf)
            settings.apply(to: &p.config)
            let r = Executor.run(p, options: settings.runOptions)
            if let f = r.unexpected.first, settings.stops(f), settings.stops(on: f, r, p) { die(finding: f, program: p, report: r) }
        case .scenarioText:
            scenarioTextRoundTrip(buf)
        case .traceImport:
            TraceImporter.fuzzOne(Array(buf))
        }
        return 0
    }

    /// FuzzScenarioText: the parser never traps, and whatever parses round-trips through the
    /// printer exactly (SPEC §4).
    static func scenarioTextRoundTrip(_ buf: UnsafeRawBufferPointer) {
        let text = String(decoding: buf, as: UTF8.self)
        guard let p = try? ScenarioParser.parse(text, file: "<fuzz>") else { return }
        let printed = ScenarioPrinter.print(p)
        guard let q = try? ScenarioParser.parse(printed, file: "<printed>") else {
            fail("printed scenario does not parse:\n\(printed)")
        }
        if q != p { fail("round trip changed the program:\n\(printed)\n---\n\(ScenarioPrinter.print(q))") }
        // And the byte codec accepts it: printing the decoded program parses back to it.
        let d = ByteCodec.clampedForCodec(p)
        guard let e = try? ScenarioParser.parse(ScenarioPrinter.print(d), file: "<decoded>"), e == d else {
            fail("decoded program does not print as a valid scenario:\n\(ScenarioPrinter.print(d))")
        }
    }

    /// Prints the finding first (signature, op log, model state), then the input as a scenario,
    /// so a crash log alone is triageable; then aborts.
    static func die(finding f: Finding, program p: Program, report r: RunReport) -> Never {
        var s = "==gmemfuzz== FINDING \(f.signature)\n"
        s += "==gmemfuzz== \(f.message)\n"
        s += "==gmemfuzz== op log:\n\(r.opLog())\n"
        s += "==gmemfuzz== model state:\n\(f.stateDump)\n"
        s += "==gmemfuzz== scenario:\n\(ScenarioPrinter.print(p))"
        s += "==gmemfuzz== end\n"
        writeStderr(s)
        abort()
    }

    static func fail(_ msg: String) -> Never {
        writeStderr("==gmemfuzz== FINDING harness:roundtrip:text\n\(msg)\n")
        abort()
    }

    /// write(2) directly: no Foundation, and no shared `stderr` FILE* (Swift 6 concurrency).
    public static func writeStderr(_ s: String) {
        var s = s
        s.withUTF8 { b in
            var off = 0
            while off < b.count {
                let n = write(2, b.baseAddress! + off, b.count - off)
                if n <= 0 { break }
                off += n
            }
        }
    }

    // MARK: LLVMFuzzerCustomMutator / LLVMFuzzerCustomCrossOver

    public typealias RawMutate = (UnsafeMutablePointer<UInt8>, Int, Int) -> Int

    /// Decodes, mutates the op list, re-encodes into `data` (≤ maxSize). Returns the new size.
    public static func customMutator(_ target: FuzzTarget, _ data: UnsafeMutablePointer<UInt8>, _ size: Int,
                                     _ maxSize: Int, _ seed: UInt32, raw: @escaping RawMutate) -> Int {
        guard target.isProgramTarget else { return raw(data, size, maxSize) }
        var rng = FuzzRNG(seed: UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 | 1)
        let p = ByteCodec.decode(UnsafeRawBufferPointer(start: data, count: size))
        var m = Mutator(target: target, exploreConfig: settings.explore)
        m.rawMutate = { bytes, max in
            let cap = Swift.max(max, bytes.count)
            var tmp = bytes + Array(repeating: 0, count: cap - bytes.count)
            let n = tmp.withUnsafeMutableBufferPointer { raw($0.baseAddress!, bytes.count, cap) }
            bytes = Array(tmp.prefix(n))
        }
        let out = ByteCodec.encode(m.mutate(p, maxSize: maxSize, &rng))
        return copyOut(out, data, maxSize)
    }

    public static func customCrossOver(_ target: FuzzTarget, _ d1: UnsafePointer<UInt8>, _ s1: Int,
                                       _ d2: UnsafePointer<UInt8>, _ s2: Int,
                                       _ out: UnsafeMutablePointer<UInt8>, _ maxOut: Int, _ seed: UInt32) -> Int {
        guard target.isProgramTarget else { return 0 }
        var rng = FuzzRNG(seed: UInt64(seed) | 1 << 40)
        let a = ByteCodec.decode(UnsafeRawBufferPointer(start: d1, count: s1))
        let b = ByteCodec.decode(UnsafeRawBufferPointer(start: d2, count: s2))
        let m = Mutator(target: target, exploreConfig: settings.explore)
        return copyOut(ByteCodec.encode(m.crossOver(a, b, maxSize: maxOut, &rng)), out, maxOut)
    }

    static func copyOut(_ bytes: [UInt8], _ dst: UnsafeMutablePointer<UInt8>, _ max: Int) -> Int {
        let n = min(bytes.count, max)
        bytes.withUnsafeBufferPointer { dst.update(from: $0.baseAddress!, count: n) }
        return n
    }
}
