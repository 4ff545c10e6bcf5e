import ArgumentParser
import Foundation
import GmemHarness
import GmemModel

@main
struct GmemFuzz: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gmemfuzz",
        abstract: "Fuzzing harness for guest_memfd / KVM / TDX conversion and populate sequences.",
        subcommands: [
            Run.self,
            Fmt.self,
            Encode.self,
            CorpusGroup.self,
            Fuzz.self,
            Bench.self,
            Minimize.self,
            Reproduce.self,
            TriageCommand.self,
            BenchMinimize.self,
            Profiles.self,
            Variants.self,
            Import.self,
        ])
}
