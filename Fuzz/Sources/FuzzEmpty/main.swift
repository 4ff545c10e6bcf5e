// The benchmark baseline: an empty target built exactly like the others (SPEC §10/§11).
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    0
}
