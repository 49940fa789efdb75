import MagiEngine
import MagiSchema

extension JSONSchemaGrammar {
    /// The schema's grammar compiled by the engine (MagiSchema writes GBNF text; MagiEngine compiles it).
    func grammar() throws -> Grammar { try Grammar(gbnf: gbnf) }
}
