import Foundation
import MagiEngine

/// What an answer must look like, as `--format` and `/set format` name it: `json` (any JSON
/// value), `none`, a GBNF grammar file (`.gbnf`) or a JSON Schema file.
enum AnswerFormat {
    /// The grammar for `spec`; nil for `none`.
    ///
    /// - Throws: ``CLIError`` naming the file and what is wrong with it.
    static func grammar(for spec: String) throws -> Grammar? {
        switch spec {
        case "none": return nil
        case "json": return try grammar(forSchema: "{}", named: "json")
        case _ where spec.hasSuffix(".gbnf"): return try grammar(gbnfFile: spec)
        default: return try grammar(schemaFile: spec)
        }
    }

    /// The grammar in the GBNF file at `path`.
    static func grammar(gbnfFile path: String) throws -> Grammar {
        do { return try Grammar(gbnf: read(path)) } catch let error as CLIError { throw error } catch { throw CLIError("\(path): \(error)") }
    }

    /// The grammar of the JSON Schema in the file at `path`.
    static func grammar(schemaFile path: String) throws -> Grammar { try grammar(forSchema: read(path), named: path) }

    /// The grammar of the JSON Schema `schema`; `name` says where it came from in errors.
    static func grammar(forSchema schema: String, named name: String) throws -> Grammar {
        do { return try JSONSchemaGrammar(schema: schema).grammar() } catch { throw CLIError("\(name): \(error)") }
    }

    private static func read(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: (path as NSString).expandingTildeInPath) else {
            throw CLIError("cannot read \(path)")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
