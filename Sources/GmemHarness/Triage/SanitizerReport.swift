/// A parsed ASan / TSan / libFuzzer report from a crashed child's stderr.
///
///     ==123==ERROR: AddressSanitizer: heap-use-after-free on address 0x6020… at pc … bp … sp …
///     READ of size 1 at 0x602000000010 thread T0
///         #0 0x55d4c3a1 in $s9GmemModel0A0C11hostAccess… /src/Sources/GmemModel/Host/HostMM.swift:80:9
///     WARNING: ThreadSanitizer: data race (pid=4242)
///     ==77== ERROR: libFuzzer: deadly signal
///
/// The signature is `asan|tsan:<bug type>:<top model frame>`: the first stack frame that is not
/// the Swift runtime, libc, the sanitizer runtime or libFuzzer, demangled to `Module.Type.method`
/// when a demangler is available. Addresses, pids and thread ids are dropped.
public struct SanitizerReport: Equatable, Sendable {
    /// `asan` (AddressSanitizer and LeakSanitizer), `tsan`, or `crash` (a Swift trap or a signal
    /// libFuzzer caught without a sanitizer report).
    public var tool: String
    /// `heap-use-after-free`, `data-race`, `leak`, `deadly-signal`, …
    public var bugType: String
    /// Readable top model frame, or `?` if every frame was stripped / unsymbolized.
    public var topFrame: String
    /// The frames kept after stripping (top first), for the report.
    public var frames: [String]

    public var signature: String { "\(tool):\(bugType):\(topFrame)" }

    public static func parse(_ text: String, demangle: Demangler = .none) -> SanitizerReport? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let (start, tool, bug) = header(lines) else { return nil }
        // The first stack after the header is the access / the first racing access / the leak.
        var raw: [Substring] = []
        var i = start + 1
        while i < lines.count {
            let l = lines[i].trimmed
            if l.hasPrefix("#") {
                raw.append(Substring(l))
            } else if !raw.isEmpty {
                break
            }
            i += 1
        }
        let kept = raw.compactMap { frameFunction($0) }.filter { !isRuntimeFrame($0) }
            .map { readable($0, demangle) }.filter { !isRuntimeFrame($0) }
        return SanitizerReport(tool: tool, bugType: bug, topFrame: kept.first ?? "?", frames: kept)
    }

    /// Finds the report header: (line index, tool, bug type).
    static func header(_ lines: [Substring]) -> (Int, String, String)? {
        var deadly: (Int, String, String)?
        for (i, line) in lines.enumerated() {
            if let r = line.firstRange(of: "ERROR: AddressSanitizer: ") {
                return (i, "asan", bugType(line[r.upperBound...]))
            }
            if line.contains("ERROR: LeakSanitizer: detected memory leaks") {
                // The first "Direct leak" stack follows a few lines later; the frame scan skips
                // to it because it takes the first `#` lines after the header.
                return (i, "asan", "leak")
            }
            if let r = line.firstRange(of: "WARNING: ThreadSanitizer: ") {
                return (i, "tsan", bugType(line[r.upperBound...]))
            }
            if deadly == nil, let r = line.firstRange(of: "ERROR: libFuzzer: ") {
                deadly = (i, "crash", bugType(line[r.upperBound...]))
            }
        }
        return deadly
    }

    /// `heap-use-after-free on address 0x…` → `heap-use-after-free`; `attempting double-free on
    /// 0x…` → `double-free`; `SEGV on unknown address` → `SEGV`; `data race (pid=1)` →
    /// `data-race`; `lock-order-inversion (potential deadlock) (pid=1)` → `lock-order-inversion`.
    static func bugType(_ s: Substring) -> String {
        var words: [Substring] = []
        for w in s.split(separator: " ") {
            if w == "on" || w == "at" || w == "in" || w.hasPrefix("(") || w.hasPrefix("0x") { break }
            words.append(w)
        }
        if words.first == "attempting" { words.removeFirst() }
        let t = words.joined(separator: "-")
        return t.isEmpty ? "unknown" : String(t.map { $0 == ":" ? "-" : $0 })
    }

    /// The function of one stack line, nil when the frame has no symbol (only an address, never
    /// part of a signature). ASan: `#3 0x55d4 in FUNC /path/file.swift:12:3`; TSan:
    /// `#0 FUNC /path/file.swift:5:54 (bin+0xfc217) (BuildId: …)`; unsymbolized:
    /// `#5 0x55d4 (/bin/x+0x12)`. Demangled Swift names contain spaces and parentheses, so the
    /// function ends at the first location token (a path, `<null>`/`<compiler-generated>`, or a
    /// `(module+0xoff)`).
    static func frameFunction(_ line: Substring) -> String? {
        var tokens = line.split(separator: " ").dropFirst()  // "#N"
        if let t = tokens.first, t.hasPrefix("0x") {
            tokens = tokens.dropFirst()
            guard tokens.first == "in" else { return nil }
            tokens = tokens.dropFirst()
        }
        var fn: [Substring] = []
        for t in tokens {
            if t.hasPrefix("/") || t.hasPrefix("<") || t.hasPrefix("./") || (t.hasPrefix("(") && t.contains("+0x"))
                || t.hasPrefix("(BuildId") || t.contains(".swift:") || t.contains(".c:") || t.contains(".cpp:") {
                break
            }
            fn.append(t)
        }
        let f = fn.joined(separator: " ")
        return f.isEmpty ? nil : f
    }

    /// Frames that say nothing about which model path broke: the Swift runtime and stdlib,
    /// libc / libstdc++, the sanitizer runtimes, libFuzzer, the harness glue that every input
    /// goes through (executor dispatch, libFuzzer entry).
    static func isRuntimeFrame(_ f: String) -> Bool {
        let prefixes = [
            "swift_", "_swift_", "$ss", "$sS", "Swift.", "static Swift.", "generic specialization <", "merged ",
            "__asan", "__interceptor_", "___interceptor_", "__sanitizer", "__tsan", "__lsan", "__ubsan",
            "__interceptor", "__sanitizer_print_stack_trace", "__libc_", "__GI_", "_start", "main",
            "fuzzer::", "LLVMFuzzer", "abort", "raise", "gsignal", "pthread_", "start_thread", "clone",
            "malloc", "free", "calloc", "realloc", "memcpy", "memmove", "memset", "posix_memalign",
            "operator new", "operator delete", "std::", "$s11GmemHarness8ExecutorO", "GmemHarness.Executor.",
            "static GmemHarness.Executor.", "$s11GmemHarness9FuzzEntryO", "GmemHarness.FuzzEntry.",
            "static GmemHarness.FuzzEntry.", "testOneInput", "$s14FuzzConversion", "$s12FuzzPopulate",
            "$s14FuzzConcurrent",
        ]
        if f.hasPrefix("$s") && (f.hasPrefix("$ss") || f.hasPrefix("$sS")) { return true }
        return prefixes.contains { f.hasPrefix($0) } || f == "??" || f.hasPrefix("0x")
    }

    /// A readable function for a (possibly mangled) symbol: demangled, parameters and return
    /// type dropped (`GmemModel.Model.hostAccess`), closures named after their function.
    static func readable(_ f: String, _ d: Demangler) -> String {
        let isMangled = f.hasPrefix("$s") || f.hasPrefix("_$s") || f.hasPrefix("$S")
        guard let full = isMangled ? d.demangle(f) : f else { return f }
        return shortName(full)
    }

    /// `static GmemModel.Model.hostAccess(proc: Swift.Int) throws -> GmemModel.SysResult` →
    /// `GmemModel.Model.hostAccess`; `closure #1 (Swift.Int) -> () in GmemModel.Model.punch(…)` →
    /// `GmemModel.Model.punch.closure#1`.
    static func shortName(_ s: String) -> String {
        var s = Substring(s)
        for p in ["static ", "@objc ", "dispatch thunk of ", "protocol witness for ", "partial apply for "] {
            while s.hasPrefix(p) { s = s.dropFirst(p.count) }
        }
        var closure = ""
        if s.hasPrefix("closure #") || s.hasPrefix("implicit closure #") {
            let num = s.drop { $0 != "#" }.dropFirst().prefix { $0.isNumber }
            closure = ".closure#" + num
            if let r = topLevelIn(s) { s = s[r...] }
        }
        // Cut at the first parenthesis or generic bracket at depth 0 (parameters / generics).
        var end = s.endIndex
        for i in s.indices where s[i] == "(" || s[i] == "<" || s[i] == " " {
            end = i
            break
        }
        return String(s[..<end]) + closure
    }

    /// Index just after the first ` in ` outside parentheses.
    static func topLevelIn(_ s: Substring) -> Substring.Index? {
        var depth = 0
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            if c == "(" || c == "<" || c == "[" { depth += 1 }
            if c == ")" || c == ">" || c == "]" { depth = max(0, depth - 1) }
            if depth == 0, s[i...].hasPrefix(" in ") { return s.index(i, offsetBy: 4) }
            i = s.index(after: i)
        }
        return nil
    }
}
