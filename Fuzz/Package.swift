// swift-tools-version:5.3
// The libFuzzer entrypoints (SPEC §2, §10). tools-version 5.3 on purpose: with ≥ 5.5 an
// executable target's entry point is renamed `<Target>_main` and the OSS-Fuzz link recipe
// (`-parse-as-library`, libFuzzer's own `main`) fails. Each target is a `.target` holding a
// `main.swift` with the `@_cdecl` entrypoints; the shared glue lives in GmemHarness.FuzzEntry.
import PackageDescription
import Foundation

// A path dependency's identity is its directory name, which differs between clones
// (CI, OSS-Fuzz's $SRC/<project>): derive it from where this manifest lives.
let rootIdentity = URL(fileURLWithPath: #file).deletingLastPathComponent()
    .deletingLastPathComponent().lastPathComponent.lowercased()

let fuzzTargets = ["FuzzConversion", "FuzzPopulate", "FuzzConcurrent", "FuzzScenarioText", "FuzzTraceImport", "FuzzEmpty"]

let package = Package(
    name: "GmemFuzzFuzzing",
    dependencies: [
        .package(path: ".."),
    ],
    targets: [
        // Declares LLVMFuzzerMutate (provided by libFuzzer at link time) for the custom mutator.
        .target(name: "LibFuzzerShim"),
    ] + fuzzTargets.map { name in
        .target(name: name, dependencies: [.product(name: "GmemHarness", package: rootIdentity), "LibFuzzerShim"])
    }
)
