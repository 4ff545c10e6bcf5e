import Testing
import GmemModel

@Test func profilesHaveDistinctNames() {
    #expect(Set(Profile.allCases.map(\.rawValue)).count == Profile.allCases.count)
    #expect(Profile.default == .hpV3)
}
