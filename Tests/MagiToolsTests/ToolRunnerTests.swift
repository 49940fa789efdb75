import Foundation
import MagiTools
import Testing

/// Tools for the tests: one that echoes, one that sleeps, one that fails, one that ignores cancellation.
struct EchoTool: Tool {
    let name = "echo"
    let description = "Repeats its text."
    let parametersSchema = #"{"type": "object", "properties": {"text": {"type": "string"}, "times": {"type": "integer", "minimum": 1}}, "required": ["text"], "additionalProperties": false}"#
    func run(arguments: String) async throws -> String {
        try JSONValue(parsing: arguments)["text"]?.string ?? ""
    }
}

struct SleepTool: Tool {
    let name = "sleep"
    let description = "Sleeps."
    let parametersSchema = #"{"type": "object"}"#
    var timeout: Duration = .milliseconds(300)
    var honoursCancellation = true
    func run(arguments: String) async throws -> String {
        if honoursCancellation {
            try await Task.sleep(for: .seconds(30))
        } else {
            usleep(6_000_000)  // blocks, deaf to cancellation
        }
        return "woke up"
    }
}

struct FailingTool: Tool {
    let name = "fail"
    let description = "Always fails."
    let parametersSchema = "{}"
    let access: ToolAccess = .network
    func run(arguments: String) async throws -> String { throw ToolError.failed("no route to host") }
}

@Suite struct ToolRunnerTests {
    let runner = ToolRunner(registry: ToolRegistry([EchoTool(), SleepTool(), FailingTool()]))

    @Test func runsAValidCall() async {
        #expect(await runner.run("echo", arguments: #"{"text": "hi"}"#) == .success("hi"))
    }

    @Test func unknownToolsAreNamed() async {
        #expect(await runner.run("nope", arguments: "{}") == .failure(.unknownTool(name: "nope", known: ["echo", "sleep", "fail"])))
        #expect("\(ToolError.unknownTool(name: "nope", known: ["echo"]))" == "no tool named 'nope'; the tools are: echo")
    }

    @Test func badArgumentsNeverReachTheTool() async {
        #expect(await runner.run("echo", arguments: "{text") == .failure(.invalidArguments("not valid JSON")))
        #expect(await runner.run("echo", arguments: "{}") == .failure(.invalidArguments("arguments.text is required")))
        #expect(await runner.run("echo", arguments: #"{"text": 3}"#) == .failure(.invalidArguments("arguments.text should be string, not integer")))
        #expect(await runner.run("echo", arguments: #"{"text": "a", "times": 0}"#) == .failure(.invalidArguments("arguments.times must be at least 1")))
        #expect(await runner.run("echo", arguments: #"{"text": "a", "times": 1.5}"#) == .failure(.invalidArguments("arguments.times should be integer, not number")))
        #expect(await runner.run("echo", arguments: #"{"text": "a", "loud": true}"#)
                == .failure(.invalidArguments("arguments has an unexpected member 'loud'; allowed: text, times")))
    }

    @Test func aFailingToolReportsItsError() async {
        #expect(await runner.run("fail", arguments: "") == .failure(.failed("no route to host")))
    }

    @Test func aSlowToolTimesOut() async {
        let start = ContinuousClock.now
        #expect(await runner.run("sleep", arguments: "{}") == .failure(.timedOut(seconds: 0.3)))
        #expect(ContinuousClock.now - start < .seconds(20), "returned at its time limit, not after the tool's 30 s")
    }

    @Test func aToolIgnoringCancellationStillTimesOutOnTime() async {
        let start = ContinuousClock.now
        let result = await runner.run(SleepTool(timeout: .milliseconds(200), honoursCancellation: false), arguments: "{}")
        #expect(result == .failure(.timedOut(seconds: 0.2)))
        #expect(ContinuousClock.now - start < .seconds(5), "returned at its time limit, not after the tool's 6 s")
    }

    @Test func theStopCheckCancelsARunningTool() async {
        let start = ContinuousClock.now
        let deadline = start.advanced(by: .milliseconds(100))
        let result = await runner.run(SleepTool(timeout: .seconds(10)), arguments: "{}", shouldStop: { ContinuousClock.now >= deadline })
        #expect(result == .failure(.cancelled))
        #expect(ContinuousClock.now - start < .seconds(8), "stopped, not run for the tool's 10 s")
    }
}
