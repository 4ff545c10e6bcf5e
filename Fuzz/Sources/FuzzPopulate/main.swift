// libFuzzer entrypoint for FuzzTarget.populate (see GmemHarness/Fuzz/FuzzEntry.swift).
import GmemHarness
import LibFuzzerShim

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzEntry.testOneInput(.populate, data, size)
}

@_cdecl("LLVMFuzzerCustomMutator")
public func customMutator(_ data: UnsafeMutablePointer<UInt8>, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int {
    FuzzEntry.customMutator(.populate, data, size, maxSize, seed) { LLVMFuzzerMutate($0, $1, $2) }
}

@_cdecl("LLVMFuzzerCustomCrossOver")
public func customCrossOver(_ d1: UnsafePointer<UInt8>, _ s1: Int, _ d2: UnsafePointer<UInt8>, _ s2: Int,
                            _ out: UnsafeMutablePointer<UInt8>, _ maxOut: Int, _ seed: UInt32) -> Int {
    FuzzEntry.customCrossOver(.populate, d1, s1, d2, s2, out, maxOut, seed)
}
