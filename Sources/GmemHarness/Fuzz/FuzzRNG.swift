/// SplitMix64 (Steele, Lea, Flood 2014): deterministic, seedable, one multiply chain per draw.
/// The mutator and the built-in loop use it so a seed reproduces the same mutation sequence.
public struct FuzzRNG: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in 0..<n (n > 0).
    @inline(__always) public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
    /// True with probability 1/n.
    @inline(__always) public mutating func oneIn(_ n: Int) -> Bool { below(n) == 0 }
    public mutating func pick<T>(_ a: [T]) -> T { a[below(a.count)] }
}
