import Foundation
import MagiJSON

/// Checks JSON values against a JSON Schema, reading it as ``JSONSchemaGrammar`` does: the same
/// keywords, `oneOf` as exactly one branch and `anyOf` as at least one, `pattern` as the grammar reads it
/// (see ``JSONSchemaPattern``), numbers and equality by value.
///
/// Unlike the grammar, it follows the schema as written: properties not declared are allowed unless
/// `additionalProperties` says otherwise; `allOf`, overlapping `oneOf` branches and a schema for extra
/// properties beside declared ones are checked, though a grammar cannot generate them; `format`s
/// (`date`, `time`, `date-time`, `uuid`) are checked as RFC 3339 and RFC 4122 write them, other formats
/// are annotations. A keyword it cannot read is named in ``unsupported`` — the same refusal the grammar
/// gives — and left unchecked, so a value is never refused for a keyword nobody checked.
public struct JSONSchemaValidator: Sendable {
    /// The schema document (`$ref`s resolve into its `$defs` / `definitions`).
    public let schema: JSONValue
    /// The first keyword (or keyword value) this reading cannot check, as the grammar compiler refuses it;
    /// nil when every keyword is read.
    public let unsupported: JSONSchemaError?
    private let patterns = PatternCache()

    /// A validator for `schema`.
    public init(schema: JSONValue) {
        self.schema = schema
        do {
            try SchemaKeywords.check(schema, path: "")
            unsupported = nil
        } catch let error as JSONSchemaError {
            unsupported = error
        } catch {
            unsupported = .invalidValue(keyword: "schema", path: "", message: "\(error)")
        }
    }

    /// A validator for a schema already read (the grammar compiler's).
    init(unchecked schema: JSONValue) {
        self.schema = schema
        unsupported = nil
    }

    /// A validator for the schema in `schemaText`.
    ///
    /// - Throws: ``JSONSchemaError/invalidJSON(offset:message:)`` when the text is not JSON.
    public init(schema schemaText: String) throws(JSONSchemaError) {
        do {
            self.init(schema: try JSONValue(parsing: schemaText))
        } catch let error as JSONParseError {
            throw .invalidJSON(offset: error.offset, message: error.reason)
        } catch {
            throw .invalidJSON(offset: 0, message: "\(error)")
        }
    }

    /// The first way `value` fails the schema, in one line starting with `path` (`arguments.tags[1]
    /// takes at most 3 characters`); nil when it conforms or when only unchecked keywords could tell.
    public func problem(with value: JSONValue, at path: String = "value") -> String? {
        if case .invalid(let message) = verdict(value, schema, path: path, depth: 0, budget: Budget()) { return message }
        return nil
    }

    /// Whether `value` conforms: true or false when certain, nil when an unchecked keyword or numbers
    /// too close to compare exactly leave it open.
    public func accepts(_ value: JSONValue) -> Bool? { verdict(value, schema, path: "value", depth: 0, budget: Budget()).accepts }

    /// Whether `value` conforms to `subschema`, a part of this document.
    func accepts(_ value: JSONValue, _ subschema: JSONValue) -> Bool? {
        verdict(value, subschema, path: "value", depth: 0, budget: Budget()).accepts
    }

    /// How many subschemas one validation may visit: branches that refer back to their schema
    /// (`anyOf: [{$ref: self}, {$ref: self}]`) would otherwise multiply the work at every level.
    static let maximumSteps = 100_000

    private final class Budget {
        var remaining = JSONSchemaValidator.maximumSteps
    }

    enum Verdict {
        case valid, invalid(String), unknown

        var accepts: Bool? {
            switch self {
            case .valid: return true
            case .invalid: return false
            case .unknown: return nil
            }
        }
    }

    /// The schema `ref` names in `$defs` / `definitions`, if any.
    func resolve(_ ref: String) -> JSONValue? {
        for prefix in ["#/$defs/", "#/definitions/"] where ref.hasPrefix(prefix) {
            return schema[String(prefix.dropFirst(2).dropLast())]?[String(ref.dropFirst(prefix.count))]
        }
        return nil
    }

    private func verdict(_ value: JSONValue, _ schema: JSONValue, path: String, depth: Int, budget: Budget) -> Verdict {
        if case .bool(let allowed) = schema { return allowed ? .valid : .invalid("\(path) is not allowed here") }
        budget.remaining -= 1
        guard case .object = schema, depth < JSONSchemaGrammar.maximumNesting, budget.remaining >= 0 else { return .unknown }
        var open = false
        /// The message of a failed check; notes an open one.
        func failure(_ verdict: Verdict) -> String? {
            switch verdict {
            case .valid: return nil
            case .unknown: open = true; return nil
            case .invalid(let message): return message
            }
        }
        for check in [general, typed] {
            if let message = failure(check(value, schema, path, depth, budget)) { return .invalid(message) }
        }
        return open ? .unknown : .valid
    }

    /// The keywords that apply to every value: `$ref`, the combinations, `type`, `const`, `enum`, and
    /// keywords nobody reads (open).
    private func general(_ value: JSONValue, _ schema: JSONValue, _ path: String, _ depth: Int, _ budget: Budget) -> Verdict {
        var open = false
        for (key, keyword) in schema.members ?? [] {
            switch key {
            case "$ref":
                guard case .string(let ref) = keyword, let target = resolve(ref) else { open = true; continue }
                let result = verdict(value, target, path: path, depth: depth + 1, budget: budget)
                if case .invalid = result { return result }
                if case .unknown = result { open = true }
            case "anyOf", "oneOf", "allOf":
                guard case .array(let list) = keyword, !list.isEmpty else { open = true; continue }
                let results = list.map { verdict(value, $0, path: path, depth: depth + 1, budget: budget) }
                let matching = results.indices.filter { if case .valid = results[$0] { return true } else { return false } }
                let unknown = results.contains { if case .unknown = $0 { return true } else { return false } }
                switch key {
                case "allOf":
                    if let failed = results.first(where: { $0.accepts == false }) { return failed }
                    if unknown { open = true }
                case "anyOf":
                    if !matching.isEmpty { continue }
                    if unknown { open = true } else { return .invalid("\(path) matches none of the allowed forms") }
                default:
                    if matching.count > 1 {
                        return .invalid("\(path) matches more than one of the allowed forms (\(matching[0]) and \(matching[1])), and must match exactly one")
                    }
                    if unknown { open = true } else if matching.isEmpty { return .invalid("\(path) matches none of the allowed forms") }
                }
            case "type":
                guard let names = try? SchemaKeywords.typeNames(keyword, path: "") else { open = true; continue }
                if !names.contains(where: { SchemaKeywords.hasType(value, $0) }) {
                    let written = keyword.array?.compactMap(\.string) ?? keyword.string.map { [$0] } ?? names
                    let actual = SchemaKeywords.hasType(value, "integer") ? "integer" : value.typeName
                    return .invalid("\(path) should be \(written.joined(separator: " or ")), not \(actual)")
                }
            case "const":
                switch SchemaKeywords.equal(value, keyword) {
                case true?: continue
                case false?: return .invalid("\(path) must be \(keyword.shortText)")
                case nil: open = true
                }
            case "enum":
                guard case .array(let allowed) = keyword else { open = true; continue }
                let each = allowed.map { SchemaKeywords.equal(value, $0) }
                if each.contains(true) { continue }
                if each.contains(nil) { open = true; continue }
                return .invalid("\(path) must be one of " + allowed.map(\.shortText).joined(separator: ", "))
            default:
                if !SchemaKeywords.handled.contains(key) && !SchemaKeywords.annotations.contains(key) { open = true }
            }
        }
        return open ? .unknown : .valid
    }

    /// The keywords of the value's own type.
    private func typed(_ value: JSONValue, _ schema: JSONValue, _ path: String, _ depth: Int, _ budget: Budget) -> Verdict {
        var open = false
        func count(_ keyword: String) -> Int? {
            guard schema[keyword] != nil else { return nil }
            guard let n = try? SchemaKeywords.count(keyword, schema, path: "") else { open = true; return nil }
            return n
        }
        func sub(_ member: JSONValue, _ subschema: JSONValue, _ at: String) -> String? {
            switch verdict(member, subschema, path: at, depth: depth + 1, budget: budget) {
            case .valid: return nil
            case .unknown: open = true; return nil
            case .invalid(let message): return message
            }
        }
        switch value {
        case .object(let members):
            guard let required = try? SchemaKeywords.required(schema, path: ""),
                  let declared = try? SchemaKeywords.properties(schema, path: "") else { return .unknown }
            for name in required where value[name] == nil { return .invalid("\(path).\(name) is required") }
            let additional = schema["additionalProperties"]
            for (name, member) in members {
                if let subschema = declared.first(where: { $0.key == name })?.value {
                    if let message = sub(member, subschema, "\(path).\(name)") { return .invalid(message) }
                } else if additional == .bool(false) {
                    return .invalid("\(path) has an unexpected member '\(name)'; allowed: " + declared.map(\.key).joined(separator: ", "))
                } else if let additional, let message = sub(member, additional, "\(path).\(name)") {
                    return .invalid(message)
                }
            }
        case .array(let items):
            if let n = count("minItems"), items.count < n { return .invalid("\(path) needs at least \(n) items") }
            if let n = count("maxItems"), items.count > n { return .invalid("\(path) takes at most \(n) items") }
            if let itemSchema = schema["items"] {
                if case .array = itemSchema { return .unknown } // tuple form: not read
                for (i, item) in items.enumerated() {
                    if let message = sub(item, itemSchema, "\(path)[\(i)]") { return .invalid(message) }
                }
            }
        case .string(let s):
            let length = s.unicodeScalars.count
            if let n = count("minLength"), length < n { return .invalid("\(path) needs at least \(n) characters") }
            if let n = count("maxLength"), length > n { return .invalid("\(path) takes at most \(n) characters") }
            if let pattern = schema["pattern"] {
                if case .string(let text) = pattern, let matcher = patterns.matcher(text) {
                    if !matcher.matches(s) { return .invalid("\(path) does not match the pattern \(pattern.compactText)") }
                } else {
                    open = true
                }
            }
            if let format = schema["format"] {
                switch format.string.flatMap({ JSONSchemaFormat.check(s, format: $0) }) {
                case false?: return .invalid("\(path) is not a \(format.string!) (\(JSONSchemaFormat.example(format.string!)))")
                case true?, nil: break // an unknown format is an annotation
                }
            }
        case .number(let n):
            let bounds: [(String, (Int) -> Bool, String)] = [("minimum", { $0 >= 0 }, "at least"), ("maximum", { $0 <= 0 }, "at most"),
                                                             ("exclusiveMinimum", { $0 > 0 }, "more than"),
                                                             ("exclusiveMaximum", { $0 < 0 }, "less than")]
            for (keyword, holds, words) in bounds {
                guard let bound = schema[keyword] else { continue }
                guard case .number(let b) = bound, let order = SchemaKeywords.compare(n, b) else { open = true; continue }
                if !holds(order) { return .invalid("\(path) must be \(words) \(b)") }
            }
        case .null, .bool:
            break
        }
        return open ? .unknown : .valid
    }
}

/// Pattern automata, built once per pattern text and shared by the copies of a validator.
// Sendable by hand: `matchers` is guarded by `lock`.
private final class PatternCache: @unchecked Sendable {
    private let lock = NSLock()
    private var matchers: [String: PatternMatcher?] = [:]

    func matcher(_ pattern: String) -> PatternMatcher? {
        lock.lock()
        defer { lock.unlock() }
        if let known = matchers[pattern] { return known }
        let matcher = (try? JSONSchemaPattern(pattern, path: ""))?.matcher()
        matchers[pattern] = matcher
        return matcher
    }
}

private extension JSONValue {
    /// The value in a message: scalars as written, containers abridged.
    var shortText: String {
        switch self {
        case .null, .bool, .number: return compactText
        case .string(let s): return JSONValue.quoted(s)
        case .array: return "[…]"
        case .object: return "{…}"
        }
    }
}
