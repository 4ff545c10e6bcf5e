/// Appends bytes and LEB128 varints.
public struct ByteWriter {
    public private(set) var bytes: [UInt8] = []
    public init() { bytes.reserveCapacity(64) }
    @inline(__always) public mutating func byte(_ b: UInt8) { bytes.append(b) }
    public mutating func leb(_ v: UInt64) {
        var v = v
        repeat {
            let b = UInt8(v & 0x7f)
            v >>= 7
            bytes.append(v == 0 ? b : b | 0x80)
        } while v != 0
    }
}

/// Reads bytes totally: past the end every read returns 0.
public struct ByteReader {
    let buf: UnsafeRawBufferPointer
    public private(set) var pos = 0
    public init(_ buf: UnsafeRawBufferPointer) { self.buf = buf }
    @inline(__always) public var atEnd: Bool { pos >= buf.count }
    @inline(__always) public mutating func byte() -> UInt8 {
        guard pos < buf.count else { return 0 }
        defer { pos += 1 }
        return buf[pos]
    }
    /// LEB128, at most 10 bytes (a longer run of continuation bytes ends the value).
    public mutating func leb() -> UInt64 {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        while shift < 64 {
            let b = byte()
            v |= UInt64(b & 0x7f) << shift
            if b & 0x80 == 0 { break }
            shift += 7
        }
        return v
    }
}
