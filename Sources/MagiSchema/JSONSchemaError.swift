/// Why a JSON Schema could not be read. ``JSONSchemaGrammar`` refuses the schema with it rather than
/// ignore a keyword, so a schema is never enforced more loosely than it reads; ``JSONSchemaValidator``
/// names the same error as what it leaves unchecked.
public enum JSONSchemaError: Error, Equatable, CustomStringConvertible {
    /// The schema text is not valid JSON.
    case invalidJSON(offset: Int, message: String)
    /// A keyword this converter does not enforce; `path` is the JSON pointer of the schema using it.
    case unsupportedKeyword(String, path: String)
    /// A keyword whose value has the wrong shape or an unsupported value.
    case invalidValue(keyword: String, path: String, message: String)
    /// A `$ref` that does not point into `$defs` / `definitions` of the document, or names a missing entry.
    case unresolvedReference(String, path: String)
    /// Subschemas nest deeper than `limit` levels at `path` (the path shown cut to its last levels).
    case tooDeep(limit: Int, path: String)

    public var description: String {
        switch self {
        case .invalidJSON(let offset, let message):
            return "JSON schema is not valid JSON at byte \(offset): \(message)"
        case .unsupportedKeyword(let keyword, let path):
            return "JSON schema keyword '\(keyword)' at \(path.isEmpty ? "/" : path) is not supported"
        case .invalidValue(let keyword, let path, let message):
            return "JSON schema keyword '\(keyword)' at \(path.isEmpty ? "/" : path): \(message)"
        case .unresolvedReference(let ref, let path):
            return "JSON schema $ref '\(ref)' at \(path.isEmpty ? "/" : path) does not name an entry of $defs"
        case .tooDeep(let limit, let path):
            let shown = path.count > 200 ? "…" + path.suffix(200) : path
            return "JSON schema nests deeper than \(limit) levels at \(shown.isEmpty ? "/" : shown)"
        }
    }
}
