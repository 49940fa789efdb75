import Foundation
import MagiJSON
import MagiSchema
import Testing

/// Seeded mutation fuzzing of the schema reader: mutants of real schemas (cut, repeated, nested far
/// past the limits, bytes flipped) are compiled and used to validate. Each is read or refused with a
/// one-line error; nothing crashes or hangs. `MAGI_FUZZ_SEED` changes the seed.
@Suite struct SchemaFuzzTests {
    static let seeds = [
        #"{"type":"object","properties":{"a":{"type":"integer","minimum":1},"b":{"type":"string","pattern":"^[a-z]{2,4}$"}},"required":["a"]}"#,
        ##"{"oneOf":[{"type":"string","format":"date"},{"type":"array","items":{"$ref":"#/$defs/n"},"maxItems":3}],"$defs":{"n":{"type":"number"}}}"##,
        #"{"anyOf":[{"enum":["x",1,null]},{"allOf":[{"minLength":2},{"type":"string"}]}],"additionalProperties":false}"#,
    ]
    static let tokens = ["{", "}", "[", "]", ",", ":", #""type""#, #""anyOf""#, #""oneOf""#, #""allOf""#, #""$ref""#, #""items""#,
                         #""properties""#, #""pattern""#, #""(a|b)*{3}""#, ##""#/$defs/n""##, "1e400", "-0", "true", #""""#, #"{"items":"#]
    static let values: [JSONValue] = [.null, .number("1"), .string("ab"), .array([.number("2")]), .object([(key: "a", value: .number("1"))])]

    /// A seeded xorshift generator.
    struct Random {
        var state: UInt64
        mutating func below(_ n: Int) -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return n <= 1 ? 0 : Int(state % UInt64(n))
        }
    }

    @Test func mutantsAreReadOrRefusedInOneLine() throws {
        let seed = ProcessInfo.processInfo.environment["MAGI_FUZZ_SEED"].flatMap { UInt64($0) } ?? 20
        var random = Random(state: seed | 1)
        for round in 0..<1_500 {
            var bytes = Array(Self.seeds[round % Self.seeds.count].utf8)
            for _ in 0...random.below(4) {
                let at = random.below(bytes.count + 1)
                switch random.below(5) {
                case 0 where !bytes.isEmpty: bytes[random.below(bytes.count)] = UInt8(truncatingIfNeeded: random.below(256))
                case 1: bytes.insert(contentsOf: Array(Self.tokens[random.below(Self.tokens.count)].utf8), at: at)
                case 2: bytes.removeSubrange(at..<min(bytes.count, at + random.below(24)))
                case 3 where random.below(6) == 0:
                    let token = Array(Self.tokens[random.below(Self.tokens.count)].utf8)
                    bytes.insert(contentsOf: Array(repeating: token, count: 300 + random.below(900)).joined(), at: at)
                default:
                    let slice = bytes[at..<min(bytes.count, at + 1 + random.below(16))]
                    bytes.insert(contentsOf: Array(repeating: slice, count: 1 + random.below(6)).joined(), at: at)
                }
            }
            let text = String(decoding: bytes.prefix(16_384), as: UTF8.self)
            do {
                _ = try JSONSchemaGrammar(schema: text)
            } catch let error as JSONSchemaError {
                #expect(!"\(error)".contains("\n"), "seed \(seed), round \(round): \(error)")
            }
            guard let validator = try? JSONSchemaValidator(schema: text) else { continue }
            if let unsupported = validator.unsupported { #expect(!"\(unsupported)".contains("\n")) }
            for value in Self.values { _ = validator.problem(with: value) }
        }
    }

    /// Branches that refer back to their own schema would double the work at every level: validation
    /// stops at its step budget and answers "cannot tell" instead of running for ages.
    @Test func selfReferringBranchesStayBounded() throws {
        let schema = ##"{"$defs":{"a":{"anyOf":[{"$ref":"#/$defs/a"},{"$ref":"#/$defs/a"}]}},"$ref":"#/$defs/a"}"##
        let validator = try JSONSchemaValidator(schema: schema)
        #expect(validator.accepts(.number("1")) == nil)
        #expect(validator.problem(with: .number("1")) == nil)
    }
}
