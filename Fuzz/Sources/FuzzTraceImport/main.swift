// libFuzzer entrypoint: the trace importer (every renderer's parser, correlator, merger,
// printer) on arbitrary text. Never traps; imported scenarios must parse back to themselves.
import GmemHarness

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzEntry.testOneInput(.traceImport, data, size)
}
