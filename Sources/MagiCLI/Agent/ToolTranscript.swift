import Foundation
import MagiAgent
import MagiChat
import MagiTools

/// How the transcript shows tool use: each call as `⚙ name {arguments}` and its result as a short
/// view — the first line, cut to a width, and the size of the rest.
enum ToolTranscript {
    /// `⚙ web_search {"query": "…"}`, arguments cut to `width` characters.
    static func callLine(_ call: ToolCall, width: Int = 120) -> String {
        "⚙ \(call.name) " + shortened(call.arguments.trimmingCharacters(in: .whitespacesAndNewlines), to: width)
    }

    /// `  → first line … (12 lines, 3456 characters)`, or `  ✗ the error`.
    static func resultLine(_ outcome: Result<String, ToolError>, width: Int = 120) -> String {
        switch outcome {
        case .success(let text):
            let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
            let first = lines.first.map(String.init) ?? "(empty)"
            let more = lines.count > 1 || first.count > width ? " (\(lines.count) lines, \(text.count) characters)" : ""
            return "  → " + shortened(first, to: width) + more
        case .failure(let error):
            return "  ✗ " + shortened("\(error)", to: width)
        }
    }

    private static func shortened(_ text: String, to width: Int) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: " ")
        return flat.count <= width ? flat : String(flat.prefix(width - 1)) + "…"
    }
}

extension ToolTranscript {
    /// Writes the loop's own events (calls, results, notices) on standard error, dimmed on a terminal
    /// and with control characters written out (`style`, ``StandardError``); stream events are left
    /// to the caller.
    static func write(_ event: AgentEvent, style: TerminalStyle) {
        switch event {
        case .stream: break
        case .toolCall(let call): StandardError.writeFormatted(style.dim(callLine(call)) + "\n")
        case .toolResult(_, let outcome): StandardError.writeFormatted(style.dim(resultLine(outcome)) + "\n")
        case .notice(let text): StandardError.write("magi: \(text)\n")
        }
    }
}
