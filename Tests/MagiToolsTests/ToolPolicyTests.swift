import MagiTools
import Testing

/// Argument schemas, permissions, result trimming and the registry.
@Suite struct ToolPolicyTests {
    @Test func schemasCheckNestedValuesEnumsAndAlternatives() throws {
        let v = try ToolArgumentValidator(schema: #"""
            {"type": "object", "properties": {
              "unit": {"enum": ["m", "km"]},
              "tags": {"type": "array", "items": {"type": "string", "maxLength": 3}, "maxItems": 2},
              "n": {"anyOf": [{"type": "integer"}, {"type": "null"}]}}}
            """#)
        #expect(throws: Never.self) { try v.validate(#"{"unit": "km", "tags": ["a"], "n": null}"#) }
        #expect(throws: Never.self) { try v.validate("") }
        #expect(throws: ToolError.invalidArguments(#"arguments.unit must be one of "m", "km""#)) { try v.validate(#"{"unit": "mi"}"#) }
        #expect(throws: ToolError.invalidArguments("arguments.tags[1] takes at most 3 characters")) { try v.validate(#"{"tags": ["a", "abcd"]}"#) }
        #expect(throws: ToolError.invalidArguments("arguments.tags takes at most 2 items")) { try v.validate(#"{"tags": ["a", "b", "c"]}"#) }
        #expect(throws: ToolError.invalidArguments("arguments.n matches none of the allowed forms")) { try v.validate(#"{"n": "x"}"#) }
        #expect(throws: ToolError.invalidArguments("arguments should be object, not array")) { try v.validate("[]") }
    }

    @Test func pureToolsRunAndOthersNeedPermission() async {
        let pipe = ToolPermissions()
        #expect(await pipe.refusal(for: EchoTool(), arguments: "{}") == nil)
        #expect(await pipe.refusal(for: FailingTool(), arguments: "{}")
                == .refused("'fail' uses network and needs permission: pass --yes or --allow-tool fail"))
        #expect(await ToolPermissions(allowAll: true).refusal(for: FailingTool(), arguments: "{}") == nil)
        #expect(await ToolPermissions(allowList: ["fail"]).refusal(for: FailingTool(), arguments: "{}") == nil)
    }

    @Test func alwaysIsRememberedAndNoRefuses() async {
        let asked = Counter()
        let always = ToolPermissions(ask: { _, _ in asked.increment(); return .always })
        #expect(await always.refusal(for: FailingTool(), arguments: "{}") == nil)
        #expect(await always.refusal(for: FailingTool(), arguments: "{}") == nil)
        #expect(asked.value == 1)
        let no = ToolPermissions(ask: { _, _ in .no })
        #expect(await no.refusal(for: FailingTool(), arguments: "{}") == .refused("the user declined to run 'fail'"))
    }

    @Test func longResultsAreTrimmedWithANote() {
        // One token per word.
        let trimmer = ToolResultTrimmer(maxTokens: 20, countTokens: { $0.split(separator: " ").count })
        let short = "a b c"
        #expect(trimmer.trim(short) == short)
        let long = (1...100).map(String.init).joined(separator: " ")
        let trimmed = trimmer.trim(long)
        #expect(trimmed.hasSuffix("\n[result trimmed to 20 of 100 tokens]"))
        #expect(trimmed.split(separator: " ").count <= 20)
        #expect(trimmed.hasPrefix("1 2 3 "))
    }

    @Test func aRegistryRefusesADuplicateName() throws {
        var registry = ToolRegistry([EchoTool()])
        #expect(throws: ToolRegistryError.duplicateName("echo")) { try registry.add(EchoTool()) }
        #expect(registry.names == ["echo"] && registry["echo"] != nil && registry["x"] == nil)
    }
}

final class Counter: @unchecked Sendable {
    private(set) var value = 0
    func increment() { value += 1 }
}
