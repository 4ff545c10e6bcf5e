/// A bad scenario / trace line: reported as `file:line:column: error: message`, exit code 2.
public struct ScenarioError: Error, Equatable, CustomStringConvertible, Sendable {
    public var file: String
    public var line: Int
    public var column: Int
    public var message: String
    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file; self.line = line; self.column = column; self.message = message
    }
    public var description: String { "\(file):\(line):\(column): error: \(message)" }
}
