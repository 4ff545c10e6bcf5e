// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "GmemFuzz",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "GmemModel", targets: ["GmemModel"]),
        .library(name: "GmemHarness", targets: ["GmemHarness"]),
        .executable(name: "gmemfuzz", targets: ["gmemfuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // The kernel model: guest_memfd, KVM MMU, host mm, locks. No Foundation.
        // Exclusivity is enforced statically; the dynamic checks (swift_beginAccess on every
        // class property access) cost ~25% of an execution and the model's deliberate races are
        // TSan's job, so they are off here.
        .target(name: "GmemModel", swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])]),
        // Op IR, .gmf text format, executor, expectations, reports.
        .target(name: "GmemHarness", dependencies: ["GmemModel"]),
        .executableTarget(
            name: "gmemfuzz",
            dependencies: [
                "GmemHarness", "GmemModel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .testTarget(name: "GmemModelTests", dependencies: ["GmemModel", "GmemHarness"]),
        .testTarget(name: "GmemHarnessTests", dependencies: ["GmemHarness", "GmemModel"],
                    resources: [])
    ],
    swiftLanguageModes: [.v6]
)
