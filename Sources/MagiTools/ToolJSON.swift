@_exported import MagiJSON

extension JSONValue {
    /// Parses tool arguments, a plugin's answer or a provider's response.
    ///
    /// - Throws: ``ToolError/invalidArguments(_:)`` when `text` is not JSON.
    init(parsingToolJSON text: String) throws(ToolError) {
        do {
            try self.init(parsing: text)
        } catch {
            throw .invalidArguments("not valid JSON")
        }
    }
}
