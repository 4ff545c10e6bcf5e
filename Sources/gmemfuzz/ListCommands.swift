import ArgumentParser
import Foundation
import GmemHarness
import GmemModel

struct Profiles: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List profiles.")
    func run() {
        for p in Profile.allCases {
            print("\(p.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)) \(p == .default ? "(default) " : "")\(p.summary)")
        }
    }
}

struct Variants: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List variants.")
    func run() {
        for v in Variant.allCases {
            let on = Profile.allCases.filter { $0.defaultVariants.has(v) }.map(\.rawValue)
            print("\(v.name.padding(toLength: 40, withPad: " ", startingAt: 0)) \(v.summary)\(on.isEmpty ? "" : " [on in: \(on.joined(separator: ", "))]")")
        }
    }
}
