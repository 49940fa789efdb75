import Foundation
import MagiAgent
import MagiChat
import MagiEngine
import MagiRender
import MagiTools

/// How the model's reasoning is shown (`/set think`, `think` in the config, `--show-thinking`).
enum ThinkDisplay: String, CaseIterable, Sendable {
    /// On a terminal: dimmed while it streams, then folded to one line ("thought for 12 s, 840
    /// tokens") that `/think show` expands. Left out on a pipe.
    case hidden
    /// Dimmed and kept; on a pipe, written to standard error so the answer stays clean.
    case shown
    /// Not shown at all.
    case off
}

/// Where one turn's events go.
///
/// For people: the answer rendered as Markdown on a terminal (as written on a pipe), reasoning
/// as ``ThinkDisplay`` says, tool calls and results as a dimmed transcript on standard error.
/// For programs (`--json`): one JSON object per line on standard output — see ``JSONEvents``.
// Sendable by hand: the tool loop calls ``handle(_:)`` from one task at a time, in order, and ``finish(summary:backend:interrupted:)`` after the last.
final class TurnOutput: @unchecked Sendable {
    let think: ThinkDisplay
    let json: Bool
    /// The folded line mentions `/think show` (in the REPL, where it can be typed).
    let mentionsThinkShow: Bool
    private let answer = AnswerDisplay()
    private let style = TerminalStyle.standardOutput
    /// The tool transcript goes to standard error, styled as that allows.
    private let transcriptStyle = TerminalStyle.standardError
    private let terminal = isatty(STDOUT_FILENO) == 1
    /// The reasoning streaming now: when it began, its pieces, and the screen rows it took.
    private var reasoningStart: Date?
    private var reasoningPieces = 0
    private var reasoningRows = 0
    private var reasoningColumn = 0

    init(think: ThinkDisplay, json: Bool, mentionsThinkShow: Bool = false) {
        self.think = think
        self.json = json
        self.mentionsThinkShow = mentionsThinkShow
    }

    /// Shows one event of the turn.
    func handle(_ event: AgentEvent) {
        if json { return JSONEvents.emit(event) }
        switch event {
        case let .stream(.text(piece)):
            endReasoning()
            answer.text(piece)
        case let .stream(.reasoning(piece)):
            reasoning(piece)
        case .stream(.toolCall):
            break
        case let .stream(.malformedToolCall(error)):
            StandardError.write("magi: \(error)\n")
        case .toolCall, .toolResult, .notice:
            endReasoning()
            answer.finish()
            ToolTranscript.write(event, style: transcriptStyle)
        }
    }

    /// Ends the turn's output: the answer's last block drawn, its line ended, and in `--json` mode
    /// the usage and end events.
    func finish(summary: GenerationSummary?, backend: any ChatBackend, interrupted: Bool) {
        if json {
            if let summary { JSONEvents.emitUsage(summary, backend: backend) }
            let reason = interrupted ? StopReason.cancelled : summary?.reason ?? .endOfGeneration
            JSONEvents.emit(.object([("type", .string("end")), ("reason", .string(reason.rawValue))]))
            return
        }
        endReasoning()
        answer.finish()
    }

    private func reasoning(_ piece: String) {
        if reasoningStart == nil {
            answer.finish()
            reasoningStart = Date()
        }
        reasoningPieces += 1
        guard think != .off else { return }
        if !terminal {
            if think == .shown { StandardError.write(piece) }
            return
        }
        StandardOutput.writeFormatted(style.dim(piece))
        track(style.plain(piece))
    }

    /// Counts the screen rows the reasoning's text takes, wrapping at the terminal's width.
    private func track(_ piece: String) {
        let width = TerminalSize.columns(fileDescriptor: STDOUT_FILENO, environment: [:]) ?? 80
        for character in piece {
            if character == "\n" {
                reasoningRows += 1
                reasoningColumn = 0
                continue
            }
            let cells = DisplayWidth.of(String(character))
            if reasoningColumn + cells > width {
                reasoningRows += 1
                reasoningColumn = 0
            }
            reasoningColumn += cells
        }
    }

    /// The reasoning is over: on a terminal, `hidden` folds it to one line, `shown` ends its line.
    private func endReasoning() {
        guard let start = reasoningStart else { return }
        reasoningStart = nil
        defer { reasoningPieces = 0; reasoningRows = 0; reasoningColumn = 0 }
        guard terminal, think != .off else { return }
        let seconds = Int(Date().timeIntervalSince(start).rounded())
        let fold = style.dim("thought for \(seconds) s, \(reasoningPieces) tokens" + (mentionsThinkShow ? " — /think show shows it" : "")) + "\n\n"
        let screenRows = TerminalSize.rows(fileDescriptor: STDOUT_FILENO) ?? 24
        switch think {
        case .hidden where reasoningRows < screenRows - 1:
            // Back to the reasoning's first row, cleared to the end of the screen.
            let up = reasoningRows > 0 ? "\u{1B}[\(reasoningRows)A" : ""
            StandardOutput.writeFormatted("\r" + up + "\u{1B}[J" + fold)
        case .hidden:
            StandardOutput.writeFormatted("\n" + fold)
        default:
            StandardOutput.writeFormatted("\n\n")
        }
    }
}

/// `--json`: one JSON object per line on standard output, for programs that drive magi.
///
/// `{"type": "reasoning", "text"}`, `{"type": "answer", "text"}` (pieces as they stream),
/// `{"type": "tool_call", "name", "arguments"}`, `{"type": "tool_result", "name", "result" or "error"}`,
/// `{"type": "notice", "text"}`, `{"type": "usage", …}`, `{"type": "output", "text"}` (what a
/// slash command prints), `{"type": "error", "message"}` and, after every turn,
/// `{"type": "end", "reason": "endOfGeneration" | "maxTokens" | "contextFull" | "cancelled"}`.
enum JSONEvents {
    static func emit(_ event: AgentEvent) {
        switch event {
        case let .stream(.text(piece)): emit(.object([("type", .string("answer")), ("text", .string(piece))]))
        case let .stream(.reasoning(piece)): emit(.object([("type", .string("reasoning")), ("text", .string(piece))]))
        case .stream(.toolCall): break
        case let .stream(.malformedToolCall(error)): emit(.object([("type", .string("notice")), ("text", .string("\(error)"))]))
        case let .toolCall(call):
            emit(.object([("type", .string("tool_call")), ("name", .string(call.name)), ("arguments", arguments(of: call))]))
        case let .toolResult(call, outcome):
            switch outcome {
            case .success(let text): emit(.object([("type", .string("tool_result")), ("name", .string(call.name)), ("result", .string(text))]))
            case .failure(let error): emit(.object([("type", .string("tool_result")), ("name", .string(call.name)), ("error", .string("\(error)"))]))
            }
        case let .notice(text): emit(.object([("type", .string("notice")), ("text", .string(text))]))
        }
    }

    static func emitUsage(_ summary: GenerationSummary, backend: any ChatBackend) {
        emit(.object([
            ("type", .string("usage")), ("prompt_tokens", .number("\(summary.promptTokens)")),
            ("generated_tokens", .number("\(summary.generatedTokens)")),
            ("prompt_tokens_per_second", .number(String(format: "%.1f", summary.promptTokensPerSecond))),
            ("generation_tokens_per_second", .number(String(format: "%.1f", summary.generationTokensPerSecond))),
            ("context_used", backend.contextUsed.map { .number("\($0)") } ?? .null), ("context_size", .number("\(backend.contextSize)")),
        ]))
    }

    static func output(_ text: String) { emit(.object([("type", .string("output")), ("text", .string(text))])) }

    static func error(_ message: String) { emit(.object([("type", .string("error")), ("message", .string(message))])) }

    /// Writes `value` on one line. JSON escapes C0 controls in strings but not DEL, C1 and the
    /// bidirectional controls: on a terminal those are escaped too (`\u009b`, `\u202e`), which
    /// leaves the value the same.
    static func emit(_ value: JSONValue) {
        var text = value.compactText
        if Display.color.showsControlCharacters(fileDescriptor: STDOUT_FILENO) && text.unicodeScalars.contains(where: TerminalText.needsEscaping) {
            var escaped = String.UnicodeScalarView()
            for scalar in text.unicodeScalars {
                if TerminalText.needsEscaping(scalar) {
                    escaped.append(contentsOf: String(format: "\\u%04x", scalar.value).unicodeScalars)
                } else {
                    escaped.append(scalar)
                }
            }
            text = String(escaped)
        }
        StandardOutput.writeFormatted(text + "\n")
    }

    /// The call's arguments as JSON when they parse, else as the text the model wrote.
    private static func arguments(of call: ToolCall) -> JSONValue {
        (try? JSONValue(parsing: call.arguments)) ?? .string(call.arguments)
    }
}
