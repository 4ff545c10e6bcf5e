// libFuzzer entrypoint: the .gmf parser and printer (never trap; parse(print(p)) == p).
import GmemHarness

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzEntry.testOneInput(.scenarioText, data, size)
}
