/// The tools offered to the model, by name, in the order they were added.
public struct ToolRegistry: Sendable {
    public private(set) var tools: [any Tool] = []

    public init() {}

    /// A registry of `tools`; a later tool of an already used name is left out.
    public init(_ tools: [any Tool]) {
        for tool in tools { try? add(tool) }
    }

    /// Adds `tool`.
    ///
    /// - Throws: ``ToolRegistryError/duplicateName(_:)`` when a tool of that name is already there.
    public mutating func add(_ tool: any Tool) throws(ToolRegistryError) {
        guard self[tool.name] == nil else { throw .duplicateName(tool.name) }
        tools.append(tool)
    }

    /// The tool called `name`, if any.
    public subscript(name: String) -> (any Tool)? { tools.first { $0.name == name } }

    /// The names of the tools, in order.
    public var names: [String] { tools.map(\.name) }

    public var isEmpty: Bool { tools.isEmpty }
}

/// Why a tool could not join a registry.
public enum ToolRegistryError: Error, Equatable, CustomStringConvertible {
    case duplicateName(String)

    public var description: String {
        switch self {
        case .duplicateName(let name): return "a tool named '\(name)' is already registered"
        }
    }
}
