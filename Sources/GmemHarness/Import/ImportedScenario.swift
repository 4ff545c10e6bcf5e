/// A scenario produced by the trace importer: the program and the importer's inferences as
/// comments. Printed by `ScenarioPrinter.print(_: ImportedScenario)`.
public struct ImportedScenario: Sendable, Equatable {
    public var program: Program
    /// Comment lines after the `gmemfuzz 1` header.
    public var header: [String]
    /// Comment lines before op i (key ops.count: after the last op).
    public var opComments: [Int: [String]]
    public init(program: Program, header: [String] = [], opComments: [Int: [String]] = [:]) {
        self.program = program; self.header = header; self.opComments = opComments
    }
}
