import Foundation
import Testing

/// A constrained answer cut by its token budget is never reported as success: near the end of the
/// budget the constraint steers to the shortest way to close the structure, and what still cannot close
/// exits with status 3 (the CLI) or says `finish_reason: "length"` (the server). Each output is judged by
/// references independent of magi (jsonschema, and lark for the grammar) in `Fixtures/cut_output/check.py`.
@Suite(.serialized) struct CutOutputTests {
    static let schema = #"{"type":"object","properties":{"items":{"type":"array","items":{"type":"string"}}},"required":["items"]}"#
    static let budgets = Array(1...40)
    /// The grammar's runs, fewer: every budget closes a sum of numbers.
    static let grammarBudgets = Array(stride(from: 1, through: 40, by: 4))

    struct Run: Encodable {
        var kind: String
        var budget: Int
        var status: Int32
        var stdout: String
    }

    struct Verdict: Decodable {
        var problems: [String]
        var valid: Int
        var cut: Int
    }

    @Test(.enabled(if: ServeTests.hasClient)) func everyBudgetGivesAValidAnswerOrExitStatus3() throws {
        let grammar = FileManager.default.temporaryDirectory.appendingPathComponent("magi-cut-\(getpid()).gbnf")
        try "root ::= term (\"+\" term)*\nterm ::= [0-9]+\n".write(to: grammar, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: grammar) }
        var runs: [Run] = []
        for budget in Self.budgets {
            let json = try CommandLineTests().magi(["--json-schema", Self.schema, "-p", "List 50 fruits", "-n", String(budget), "--temp", "0"])
            runs.append(Run(kind: "schema", budget: budget, status: json.status, stdout: json.stdout))
            if json.status == 3 {
                #expect(json.stderr.split(separator: "\n").count == 1 && json.stderr.contains("cut by the limit of \(budget) tokens"), "\(json.stderr)")
            }
        }
        for budget in Self.grammarBudgets {
            let sum = try CommandLineTests().magi(["--grammar-file", grammar.path, "-p", "Write a long sum of numbers", "-n", String(budget)])
            runs.append(Run(kind: "grammar", budget: budget, status: sum.status, stdout: sum.stdout))
        }
        // The shortest answer, {"items":[]}, takes a few tokens: every budget above 16 closes it.
        for run in runs where run.kind == "grammar" || run.budget >= 16 {
            #expect(run.status == 0, "\(run.kind) -n \(run.budget): exit \(run.status)")
        }
        let server = try ServeProcess(arguments: ["-c", "1024"])
        defer { server.stop() }
        let verdict = try judge(runs, server: "http://127.0.0.1:\(server.port)")
        #expect(verdict.problems.isEmpty, "\(verdict.problems.joined(separator: "\n"))")
        #expect(verdict.valid >= 2 * (Self.budgets.count + Self.grammarBudgets.count) - 2 * 16, "valid \(verdict.valid), cut \(verdict.cut)")
    }

    private func judge(_ runs: [Run], server: String) throws -> Verdict {
        let encodedRuns = String(decoding: try JSONEncoder().encode(runs), as: UTF8.self)
        let job = #"{"schema": \#(Self.schema), "runs": \#(encodedRuns), "server": "\#(server)", "budgets": \#(Self.budgets), "grammar_budgets": \#(Self.grammarBudgets)}"#
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/cut_output/check.py").path
        let run = try TestProcess.run(ToolCommandLineTests.venvPython, [script], input: Data(job.utf8), deadline: .seconds(600))
        #expect(run.status == 0, "\(run.stderr)")
        return try JSONDecoder().decode(Verdict.self, from: Data(run.stdout.utf8))
    }
}
