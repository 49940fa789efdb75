@testable import MagiTools
import Testing

/// The validator reads a schema as written (extra properties allowed unless `additionalProperties` is
/// false) and names the first mismatch, with its path, in one line.
@Suite struct ToolArgumentValidatorTests {
    func problem(_ schema: String, _ arguments: String) throws -> String? {
        do {
            try ToolArgumentValidator(schema: schema).validate(arguments)
            return nil
        } catch .invalidArguments(let message) {
            return message
        }
    }

    @Test func boundsAreCheckedWithThePath() throws {
        let schema = #"{"type": "object", "properties": {"n": {"type": "integer", "minimum": 1, "maximum": 20},"#
            + #" "x": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}}}"#
        #expect(try problem(schema, #"{"n": 1, "x": 0.5}"#) == nil)
        #expect(try problem(schema, #"{"n": 20}"#) == nil)
        #expect(try problem(schema, #"{"n": 0}"#) == "arguments.n must be at least 1")
        #expect(try problem(schema, #"{"n": 21}"#) == "arguments.n must be at most 20")
        #expect(try problem(schema, #"{"x": 0}"#) == "arguments.x must be more than 0")
        #expect(try problem(schema, #"{"x": 1}"#) == "arguments.x must be less than 1")
        #expect(try problem(schema, #"{"n": 2, "extra": true}"#) == nil)
    }

    @Test func formatsAreChecked() throws {
        let schema = #"{"type": "object", "properties": {"d": {"type": "string", "format": "date"}, "t": {"type": "string", "format": "time"},"#
            + #" "dt": {"type": "string", "format": "date-time"}, "id": {"type": "string", "format": "uuid"}, "e": {"type": "string", "format": "email"}}}"#
        let good = #"{"d": "2024-02-29", "t": "23:59:59.5+01:00", "dt": "2024-06-01T12:00:00Z", "id": "123e4567-e89b-12d3-a456-426614174000", "e": "anything"}"#
        #expect(try problem(schema, good) == nil)
        #expect(try problem(schema, #"{"d": "2023-02-29"}"#) == "arguments.d is not a date (such as 2024-02-29)")
        #expect(try problem(schema, #"{"d": "2024-4-01"}"#)?.hasPrefix("arguments.d is not a date") == true)
        #expect(try problem(schema, #"{"t": "24:00:00Z"}"#)?.hasPrefix("arguments.t is not a time") == true)
        #expect(try problem(schema, #"{"t": "12:00:00"}"#)?.hasPrefix("arguments.t is not a time") == true)
        #expect(try problem(schema, #"{"dt": "2024-06-01 12:00:00Z"}"#)?.hasPrefix("arguments.dt is not a date-time") == true)
        #expect(try problem(schema, #"{"id": "123e4567e89b12d3a456426614174000"}"#)?.hasPrefix("arguments.id is not a uuid") == true)
    }
}
