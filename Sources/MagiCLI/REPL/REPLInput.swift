import Foundation

/// What the line editor hands over: a line, Ctrl-C, or Ctrl-D on an empty line.
enum LineRead: Equatable {
    case line(String)
    case interrupt
    case end
}

/// Where the REPL's lines come from: the terminal's line editor, or a script.
protocol LineSource {
    func readLine(prompt: String) -> LineRead
}

extension LineEditor: LineSource {}

/// The lines of a script (`--script FILE`, or standard input with `-s`), read as the REPL asks.
final class ScriptLines: LineSource {
    /// The file's name, or `stdin`, for error messages.
    let name: String
    private let lines: [String]
    /// The number of the line last read, from 1.
    private(set) var lineNumber = 0

    init(name: String, text: String) {
        self.name = name
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
        }
        if lines.last == "" { lines.removeLast() }
        self.lines = lines
    }

    /// The script in `path`, or standard input for `-`.
    convenience init(path: String) throws {
        if path == "-" {
            self.init(name: "stdin", text: String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self))
            return
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("cannot read the script \(path)") }
        self.init(name: (path as NSString).lastPathComponent, text: String(decoding: data, as: UTF8.self))
    }

    func readLine(prompt: String) -> LineRead {
        guard lineNumber < lines.count else { return .end }
        lineNumber += 1
        return .line(lines[lineNumber - 1])
    }
}

/// Turns the lines the user types into messages and commands, tracking multi-line input.
///
/// A message spans lines between `"""` delimiters (as in Ollama) or while each line ends in a
/// backslash. Interrupt and end of input are decided before anything is parsed: Ctrl-C abandons
/// the message being typed, Ctrl-D leaves even in the middle of one.
struct REPLInput {
    /// What the user meant, once a line completes something.
    enum Event: Equatable {
        case message(String)
        case command(SlashCommand)
        case invalidCommand(SlashCommandError)
        case interrupt
        case end
    }

    /// Where the input is between lines.
    enum Mode: Equatable {
        /// At the start of a message.
        case ready
        /// Inside `"""`: the lines so far.
        case quoted([String])
        /// After a line ending in `\`: the lines so far, without their backslashes.
        case continued([String])
    }

    static let quote = "\"\"\""

    private(set) var mode = Mode.ready
    /// Scripts: a line starting with `#` between messages is a comment.
    var skipsComments = false

    /// True while a `"""` message or backslash-continued lines are open.
    var wasInsideMessage: Bool { mode != .ready }

    /// The prompt for the next line: the first line's, or the continuation's.
    var prompt: String { mode == .ready ? ">>> " : "... " }

    /// Feeds one read; returns what it completes, or nil when more lines are needed (or the line was blank).
    mutating func consume(_ read: LineRead) -> Event? {
        switch read {
        case .interrupt:
            mode = .ready
            return .interrupt
        case .end:
            return .end
        case .line(let line):
            return consume(line: line)
        }
    }

    private mutating func consume(line: String) -> Event? {
        switch mode {
        case .ready:
            let trimmed = line.trimmingWhitespace()
            if trimmed.hasPrefix(Self.quote) {
                let opened = String(trimmed.dropFirst(Self.quote.count))
                if let body = Self.beforeClosingQuote(opened) { return Self.message(body) }
                mode = .quoted(opened.isEmpty ? [] : [opened])
                return nil
            }
            if line.hasSuffix("\\") {
                mode = .continued([String(line.dropLast())])
                return nil
            }
            if trimmed.isEmpty || (skipsComments && trimmed.hasPrefix("#")) { return nil }
            if trimmed.hasPrefix("/") {
                do { return .command(try SlashCommand.parse(trimmed)) } catch { return .invalidCommand(error) }
            }
            return .message(trimmed)
        case .quoted(var lines):
            if let last = Self.beforeClosingQuote(line) {
                if !last.isEmpty { lines.append(last) }
                mode = .ready
                return Self.message(lines.joined(separator: "\n"))
            }
            lines.append(line)
            mode = .quoted(lines)
            return nil
        case .continued(var lines):
            if line.hasSuffix("\\") {
                lines.append(String(line.dropLast()))
                mode = .continued(lines)
                return nil
            }
            lines.append(line)
            mode = .ready
            return Self.message(lines.joined(separator: "\n"))
        }
    }

    /// The text before a closing `"""` that ends the line (trailing spaces allowed), or nil.
    private static func beforeClosingQuote(_ line: String) -> String? {
        var end = Substring(line)
        while end.last?.isWhitespace == true { end.removeLast() }
        guard end.hasSuffix(quote) else { return nil }
        return String(end.dropLast(quote.count))
    }

    /// A message as typed (indentation kept), unless it is only whitespace.
    private static func message(_ text: String) -> Event? {
        text.trimmingWhitespace().isEmpty ? nil : .message(text)
    }
}
