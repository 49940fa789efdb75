/// What the line editor hands over: a line, Ctrl-C, or Ctrl-D on an empty line.
enum LineRead: Equatable {
    case line(String)
    case interrupt
    case end
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

    /// The prompt for the next line: the first line's, or the continuation's.
    var prompt: String { mode == .ready ? ">>> " : "... " }

    /// Feeds one read; returns what it completes, or nil when more lines are needed (or the line was blank).
    mutating func consume(_ read: LineRead) -> Event? {
        switch read {
        case .interrupt:
            mode = .ready
            return .interrupt
        case .end:
            mode = .ready
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
            if trimmed.isEmpty { return nil }
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
