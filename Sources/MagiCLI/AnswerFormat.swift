import Foundation
import MagiChat
import MagiEngine
import MagiSchema

/// What an answer must look like: the grammar the local engine masks tokens with, and the same
/// request in the words a server understands.
struct AnswerConstraint {
    let grammar: Grammar
    /// OpenAI's `response_format` (JSON and JSON Schema); nil for a GBNF grammar.
    let responseFormat: JSONValue?
    /// The GBNF text, for servers that take llama.cpp's `grammar` extension.
    let gbnf: String?
}

/// What an answer must look like, as `--format` and `/set format` name it: `json` (any JSON
/// value), `none`, a GBNF grammar file (`.gbnf`) or a JSON Schema file.
enum AnswerFormat {
    /// The constraint for `spec`; nil for `none`.
    ///
    /// - Throws: ``CLIError`` naming the file and what is wrong with it.
    static func constraint(for spec: String) throws -> AnswerConstraint? {
        switch spec {
        case "none": return nil
        case "json": return try constraint(forSchema: "{}", named: "json")
        case _ where spec.hasSuffix(".gbnf"): return try constraint(gbnfFile: spec)
        default: return try constraint(schemaFile: spec)
        }
    }

    /// The grammar in the GBNF file at `path`.
    static func constraint(gbnfFile path: String) throws -> AnswerConstraint {
        let text = try read(path)
        do { return AnswerConstraint(grammar: try Grammar(gbnf: text), responseFormat: nil, gbnf: text) } catch { throw CLIError("\(path): \(error)") }
    }

    /// The JSON Schema in the file at `path`.
    static func constraint(schemaFile path: String) throws -> AnswerConstraint { try constraint(forSchema: read(path), named: path) }

    /// `--json-schema`'s value: a schema as JSON text when it starts with `{` or is `true` / `false`
    /// (after leading spaces), else the path of a file holding one.
    static func constraint(schemaTextOrFile value: String) throws -> AnswerConstraint {
        let text = value.drop(while: \.isWhitespace)
        if text.hasPrefix("{") || text == "true" || text == "false" { return try constraint(forSchema: value, named: "--json-schema") }
        guard FileManager.default.isReadableFile(atPath: UserFolders().expandingTilde(value)) else {
            throw CLIError("--json-schema: '\(value.prefix(60))' is neither a JSON Schema (which starts with '{') nor a readable file")
        }
        return try constraint(schemaFile: value)
    }

    /// The JSON Schema `schema`; `name` says where it came from in errors.
    static func constraint(forSchema schema: String, named name: String) throws -> AnswerConstraint {
        do {
            let grammar = try Grammar(gbnf: JSONSchemaGrammar(schema: schema).gbnf)
            let value = try JSONValue(parsing: schema)
            // `json` is any JSON value; servers offer the nearest: a JSON object.
            let format: JSONValue = value == .object([]) ? .object(["type": .string("json_object")])
                : .object(["type": .string("json_schema"), "json_schema": .object(["name": .string("answer"), "schema": value, "strict": .bool(true)])])
            return AnswerConstraint(grammar: grammar, responseFormat: format, gbnf: nil)
        } catch {
            throw CLIError("\(name): \(error)")
        }
    }

    private static func read(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: UserFolders().expandingTilde(path)) else {
            throw CLIError("cannot read \(path)")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
