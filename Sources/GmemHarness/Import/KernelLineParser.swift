/// What one input line is.
enum LineResult {
    case event(RawEvent)
    /// Header, blank line, renderer chatter: nothing to do.
    case skip
    /// Worth telling the user but not an error (lost events).
    case note(String)
}

struct LineError: Error { let message: String }

/// Kernel renderers (research traces-and-selftests.md §2):
/// - ftrace `trace`/`trace_pipe`: `<comm %16s>-<pid %-7d|%-5d> [(TGID)] [<cpu %03d>] <flags 4|5> <secs>.<usecs>: <event>: <text>`
/// - trace-cmd report: `<comm %16s>-<pid %-5d> [<cpu %03d>] [latency flags with -l] <ts us|ns>: <event>:<pad to 20> <text>`
/// - perf script: `<comm %16s> <tid %7d>[/tid] [<cpu %03d>] <secs>.<usecs>: <sys:event right-aligned>: <text>`
/// `comm` may hold spaces and '/' ("CPU 0/KVM"), so parsing anchors on the `[cpu]` bracket.
enum KernelLineParser {
    enum Shape { case dashPid, spacePid }

    static func parse(_ raw: ArraySlice<UInt8>, format: TraceFormat) throws(LineError) -> LineResult {
        let line = Bytes.trim(raw)
        if line.isEmpty || line.first == UInt8(ascii: "#") { return .skip }
        // trace_pipe / trace after a ring-buffer overrun: "CPU:2 [LOST 123 EVENTS]".
        if Bytes.hasPrefix(line, "CPU:"), line.contains(UInt8(ascii: "[")), Bytes.tokens(line).contains(where: { Bytes.equals($0, "[LOST") }) {
            return .note("ring buffer lost events here: " + Bytes.show(line) + " (correlation across this point is approximate)")
        }
        if format == .traceCmd, isTraceCmdHeader(line) { return .skip }
        let shape: Shape = format == .perf ? .spacePid : .dashPid
        guard let (task, afterCPU) = prefix(line, shape) else {
            let want = shape == .dashPid ? "'COMM-PID [CPU]'" : "'COMM TID [CPU]'"
            throw LineError(message: "not a \(format.rawValue) event line: no \(want) prefix (wrong --format?): '\(Bytes.show(line))'")
        }
        var rest = afterCPU
        // Up to two tokens before the timestamp: flags ("d....", "...1") and nothing else.
        var flagsSeen = 0
        var ts: ArraySlice<UInt8>?
        while ts == nil {
            rest = Bytes.trim(rest)
            guard let sp = rest.firstIndex(where: Bytes.isSpace) else {
                throw LineError(message: "truncated event line: no timestamp/event after the CPU column: '\(Bytes.show(line))'")
            }
            let tok = rest[rest.startIndex..<sp]
            if tok.last == UInt8(ascii: ":") {
                ts = tok.dropLast()
            } else {
                flagsSeen += 1
                guard flagsSeen == 1, tok.count <= 6, shape == .dashPid else {
                    throw LineError(message: "unexpected column '\(Bytes.show(tok))' before the timestamp (wrong --format?)")
                }
            }
            rest = rest[sp...]
        }
        guard let ts, isTimestamp(ts) else {
            throw LineError(message: "bad timestamp '\(Bytes.show(ts ?? []))'")
        }
        rest = Bytes.trim(rest)
        // Event name: [\w:]+ ending in ':' (perf prints "sys:name:").
        var i = rest.startIndex
        while i < rest.endIndex && (Bytes.isWord(rest[i]) || rest[i] == UInt8(ascii: ":")) && !(rest[i] == UInt8(ascii: ":") && (i + 1 == rest.endIndex || Bytes.isSpace(rest[i + 1]))) { i += 1 }
        guard i < rest.endIndex, rest[i] == UInt8(ascii: ":"), i > rest.startIndex else {
            throw LineError(message: "truncated event line: no 'event:' after the timestamp: '\(Bytes.show(line))'")
        }
        var name = rest[rest.startIndex..<i]
        if let c = name.lastIndex(of: UInt8(ascii: ":")) { name = name[(c + 1)...] }   // strip kvm:/kvmmmu:
        guard !name.isEmpty else { throw LineError(message: "empty event name") }
        return .event(RawEvent(task: task, name: Bytes.text(name), info: rest[(i + 1)...]))
    }

    /// Finds `[ddd]` with a valid task column before it; returns (task, text after ']').
    static func prefix(_ line: ArraySlice<UInt8>, _ shape: Shape) -> (String, ArraySlice<UInt8>)? {
        var j = line.startIndex
        // comm is at most 16 bytes (TASK_COMM_LEN) plus pid/tid/tgid columns: the CPU bracket is
        // near the start, so only look there (bounded work on long lines).
        let head = line.prefix(96)
        while let open = head[j...].firstIndex(of: UInt8(ascii: "[")) {
            j = open + 1
            var k = open + 1
            while k < line.endIndex && Bytes.isDigit(line[k]) { k += 1 }
            guard k > open + 1, k < line.endIndex, line[k] == UInt8(ascii: "]"), k - open <= 5 else { continue }
            var before = Bytes.trim(line[line.startIndex..<open])
            if shape == .dashPid, before.last == UInt8(ascii: ")"), let lp = before.lastIndex(of: UInt8(ascii: "(")) {
                before = Bytes.trim(before[before.startIndex..<lp])     // "(TGID)" column
            }
            var p = before.endIndex
            while p > before.startIndex && (Bytes.isDigit(before[p - 1]) || (shape == .spacePid && before[p - 1] == UInt8(ascii: "/"))) { p -= 1 }
            guard p < before.endIndex, Bytes.isDigit(before[p]) else { continue }
            let pid = before[p..<before.endIndex]
            var comm: ArraySlice<UInt8>
            switch shape {
            case .dashPid:
                guard p > before.startIndex, before[p - 1] == UInt8(ascii: "-") else { continue }
                comm = before[before.startIndex..<(p - 1)]
            case .spacePid:
                guard p > before.startIndex, Bytes.isSpace(before[p - 1]) else { continue }
                comm = Bytes.trim(before[before.startIndex..<p])
            }
            comm = Bytes.trim(comm)
            guard !comm.isEmpty else { continue }
            let tid = pid.split(separator: UInt8(ascii: "/")).last ?? pid
            return (Bytes.text(comm) + "-" + Bytes.text(tid), line[(k + 1)...])
        }
        return nil
    }

    static func isTimestamp(_ t: ArraySlice<UInt8>) -> Bool {
        guard !t.isEmpty, t.count <= 32 else { return false }
        var dots = 0
        for c in t {
            if c == UInt8(ascii: ".") { dots += 1 } else if !Bytes.isDigit(c) { return false }
        }
        return dots <= 1 && Bytes.isDigit(t.first!) && Bytes.isDigit(t.last!)
    }

    /// trace-cmd report's preamble: "version = 6", "cpus=8", "CPU 3 is empty",
    /// "CPU0 data recorded at offset=0x…".
    static func isTraceCmdHeader(_ l: ArraySlice<UInt8>) -> Bool {
        if Bytes.hasPrefix(l, "version =") || Bytes.hasPrefix(l, "cpus=") { return true }
        let t = Bytes.tokens(l)
        if t.count == 4, Bytes.equals(t[0], "CPU"), Bytes.equals(t[2], "is"), Bytes.equals(t[3], "empty") { return true }
        if t.count >= 3, Bytes.hasPrefix(t[0], "CPU"), Bytes.equals(t[1], "data"), Bytes.equals(t[2], "recorded") { return true }
        return false
    }
}

/// /sys/kernel/tracing/trace and trace_pipe (same event lines; `trace` adds `#` headers).
enum FtraceLineParser {
    static func parse(_ line: ArraySlice<UInt8>) throws(LineError) -> LineResult { try KernelLineParser.parse(line, format: .ftrace) }
}

/// `trace-cmd report`: the kernel line shape after a `version =` / `cpus=` preamble.
enum TraceCmdLineParser {
    static func parse(_ line: ArraySlice<UInt8>) throws(LineError) -> LineResult { try KernelLineParser.parse(line, format: .traceCmd) }
}

/// `perf script`: `comm tid [cpu] ts: sys:event: text`.
enum PerfLineParser {
    static func parse(_ line: ArraySlice<UInt8>) throws(LineError) -> LineResult { try KernelLineParser.parse(line, format: .perf) }
}
