/// What a model's output stream holds, piece by piece.
public enum StreamEvent: Sendable, Equatable {
    /// Reasoning text (`[THINK]…[/THINK]`, `<think>…</think>`).
    case reasoning(String)
    /// Answer text.
    case text(String)
    /// A complete tool call.
    case toolCall(ToolCall)
    /// A tool call that could not be read; generation goes on.
    case malformedToolCall(MalformedToolCall)
}

/// A tool call the model wrote that is not valid: the text as written and why.
public struct MalformedToolCall: Error, Sendable, Equatable, CustomStringConvertible {
    /// The call's text as the model wrote it (name and arguments, or the JSON).
    public let text: String
    public let reason: String

    public init(text: String, reason: String) {
        self.text = text
        self.reason = reason
    }

    public var description: String { "malformed tool call (\(reason)): \(text)" }
}

/// Splits generated output into reasoning, answer text and tool calls as it streams.
///
/// Fed text pieces and special tokens by name in generation order (``TokenStreamParser`` feeds it
/// token ids). Understands:
/// - reasoning: `[THINK]`/`[/THINK]` special tokens (Magistral) anywhere; `<think>`/`</think>` text
///   (DeepSeek-R1 distills, Qwen3) when the output opens with `<think>` or `startsInReasoning` is set
///   (templates that end the prompt with `<think>`);
/// - tool calls: Mistral v11/v13 `[TOOL_CALLS]name[CALL_ID]id[ARGS]{…}` (several in a row), older
///   Mistral `[TOOL_CALLS][{"name": …, "arguments": …}]`, and Hermes/Qwen/SmolLM
///   `<tool_call>{"name": …, "arguments": …}</tool_call>` in answer text.
///
/// Text markers split across pieces are recognised: text that could begin a marker is held back
/// until it is decided, so the events, with adjacent text of one kind joined, are the same however
/// the output is split. Answer text after reasoning or a tool call starts at its first
/// non-white-space character, and so does an answer without reasoning. A malformed call becomes a ``StreamEvent/malformedToolCall(_:)``.
public struct StreamParser: Sendable {
    private enum Mode {
        /// Nothing but white space yet: `<think>` may still come.
        case start
        /// In reasoning, closed by the text `</think>` or by the `[/THINK]` token.
        case reasoning(closedByText: Bool)
        case answer
        /// After `[TOOL_CALLS]`.
        case mistralCall(MistralCall)
        /// Inside `<tool_call>…`.
        case hermesCall
    }

    private struct MistralCall {
        enum Stage { case undecided, name, callID, arguments, list }
        var stage = Stage.undecided
        var name = ""
        var callID: String?
        var json = ""
        var extent = JSONExtent()
    }

    private static let thinkOpen = Array("<think>".unicodeScalars)
    private static let thinkClose = Array("</think>".unicodeScalars)
    private static let toolCallOpen = Array("<tool_call>".unicodeScalars)
    private static let toolCallClose = Array("</tool_call>".unicodeScalars)
    private static let textMarkers: Set<String> = ["<think>", "</think>", "<tool_call>", "</tool_call>"]

    private var mode: Mode
    /// Text received but not yet turned into events.
    private var buffer: [Unicode.Scalar] = []
    /// Drop white space before the next answer text (after reasoning or a tool call).
    private var trimLeadingSpace = false
    private var callCount = 0
    private let makeCallID: @Sendable (Int) -> String
    /// The assistant message the stream amounts to so far: reasoning and text parts, tool calls.
    public private(set) var message = ChatMessage(role: .assistant, parts: [])

    /// - Parameters:
    ///   - startsInReasoning: the prompt already opened `<think>`, so output is reasoning until `</think>`.
    ///   - makeCallID: the id of the n-th call (from 1) when the model writes none; by default 9 random
    ///     letters and digits, the form Mistral formats expect.
    public init(startsInReasoning: Bool = false,
                makeCallID: @escaping @Sendable (Int) -> String = { _ in StreamParser.randomCallID() }) {
        mode = startsInReasoning ? .reasoning(closedByText: true) : .start
        self.makeCallID = makeCallID
    }

    /// Nine random letters and digits.
    public static func randomCallID() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        return String((0..<9).map { _ in alphabet.randomElement()! })
    }

    /// Adds generated text; returns the events it completes.
    public mutating func append(text: String) -> [StreamEvent] {
        var events: [StreamEvent] = []
        buffer.append(contentsOf: text.unicodeScalars)
        process(&events, final: false)
        return events
    }

    /// Adds a special token by its name (`[THINK]`, `[TOOL_CALLS]`…); tokens that mean nothing here
    /// (`</s>`, `<|im_end|>`) are ignored, and `<think>`-style tokens count as their text.
    public mutating func append(special name: String) -> [StreamEvent] {
        if Self.textMarkers.contains(name) { return append(text: name) }
        var events: [StreamEvent] = []
        switch name {
        case "[THINK]":
            if case .start = mode, buffer.allSatisfy(\.properties.isWhitespace) { buffer.removeAll() }
            closeInput(&events)
            mode = .reasoning(closedByText: false)
        case "[/THINK]":
            closeInput(&events)
            if case .reasoning = mode {
                mode = .answer
                trimLeadingSpace = true
                closeReasoningPart()
            }
        case "[TOOL_CALLS]":
            closeInput(&events)
            mode = .mistralCall(MistralCall())
        case "[ARGS]", "[CALL_ID]":
            guard case .mistralCall = mode else { break }
            process(&events, final: false)
            guard case .mistralCall(var call) = mode else { break }
            let text = String(String.UnicodeScalarView(buffer))
            switch (call.stage, name) {
            case (.undecided, "[ARGS]"), (.name, "[ARGS]"):
                call.name += text
                call.stage = .arguments
            case (.undecided, "[CALL_ID]"), (.name, "[CALL_ID]"):
                call.name += text
                call.stage = .callID
            case (.callID, "[ARGS]"):
                call.callID = (call.callID ?? "") + text
                call.stage = .arguments
            default:
                return events  // out of place: ignored
            }
            buffer.removeAll()
            mode = .mistralCall(call)
        default:
            break
        }
        return events
    }

    /// Ends the stream: returns what was held back, and an error event for an unfinished tool call.
    /// Reasoning cut off mid-way stays in ``message`` as an unclosed thinking part.
    public mutating func finish() -> [StreamEvent] {
        var events: [StreamEvent] = []
        closeInput(&events)
        return events
    }

    // MARK: - Processing

    /// Processes the buffer as if no more text could follow (a special token or the end came).
    private mutating func closeInput(_ events: inout [StreamEvent]) {
        process(&events, final: true)
        if case .mistralCall(let call) = mode {
            finishMistralCall(call, &events)
            mode = .answer
            trimLeadingSpace = true
        }
    }

    private mutating func process(_ events: inout [StreamEvent], final: Bool) {
        while step(&events, final: final) {}
    }

    /// Consumes what the current mode can decide; true when the mode changed and the rest of the buffer
    /// needs another look.
    private mutating func step(_ events: inout [StreamEvent], final: Bool) -> Bool {
        switch mode {
        case .start:
            let text = buffer.drop(while: \.properties.isWhitespace)
            if text.starts(with: Self.thinkOpen) {
                buffer = Array(text.dropFirst(Self.thinkOpen.count))
                mode = .reasoning(closedByText: true)
                return true
            }
            if !final && (text.isEmpty || Self.thinkOpen.starts(with: text)) { return false }
            mode = .answer
            trimLeadingSpace = true
            return true
        case .reasoning(let closedByText):
            if closedByText, let at = find(Self.thinkClose) {
                emit(.reasoning, String(String.UnicodeScalarView(buffer[..<at])), &events)
                buffer.removeFirst(at + Self.thinkClose.count)
                mode = .answer
                trimLeadingSpace = true
                closeReasoningPart()
                return true
            }
            emitHoldingBack(closedByText ? Self.thinkClose : nil, as: .reasoning, final: final, &events)
            return false
        case .answer:
            if trimLeadingSpace {
                buffer = Array(buffer.drop(while: \.properties.isWhitespace))
                if buffer.isEmpty { return false }
                trimLeadingSpace = false
            }
            if let at = find(Self.toolCallOpen) {
                emit(.text, String(String.UnicodeScalarView(buffer[..<at])), &events)
                buffer.removeFirst(at + Self.toolCallOpen.count)
                mode = .hermesCall
                return true
            }
            emitHoldingBack(Self.toolCallOpen, as: .text, final: final, &events)
            return false
        case .hermesCall:
            if let at = find(Self.toolCallClose) {
                let body = String(String.UnicodeScalarView(buffer[..<at]))
                buffer.removeFirst(at + Self.toolCallClose.count)
                events.append(readJSONCall(body))
                record(events.last!)
                mode = .answer
                trimLeadingSpace = true
                return true
            }
            if final {
                let body = String(String.UnicodeScalarView(buffer))
                buffer.removeAll()
                let event = body.allSatisfy(\.isWhitespace)
                    ? StreamEvent.malformedToolCall(MalformedToolCall(text: body, reason: "empty <tool_call>"))
                    : readJSONCall(body)
                events.append(event)
                record(event)
                mode = .answer
                return true
            }
            return false
        case .mistralCall(var call):
            defer { if case .mistralCall = mode { mode = .mistralCall(call) } }
            switch call.stage {
            case .undecided:
                buffer = Array(buffer.drop(while: \.properties.isWhitespace))
                guard let first = buffer.first else { return false }
                call.stage = first == "[" || first == "{" ? .list : .name
                return true
            case .name, .callID:
                return false  // waits for [CALL_ID] or [ARGS]
            case .arguments, .list:
                var consumed = 0
                var complete = false
                for scalar in buffer {
                    consumed += 1
                    if call.extent.feed(scalar) { complete = true; break }
                }
                call.json.unicodeScalars.append(contentsOf: buffer[..<consumed])
                buffer.removeFirst(consumed)
                guard complete else { return false }
                finishMistralCall(call, &events)
                mode = .answer
                trimLeadingSpace = true
                return true
            }
        }
    }

    /// Ends a `[TOOL_CALLS]` call: a complete one becomes calls, anything else an error event.
    private mutating func finishMistralCall(_ call: MistralCall, _ events: inout [StreamEvent]) {
        var call = call
        let rest = String(String.UnicodeScalarView(buffer))
        if call.stage == .name { call.name += rest }
        if call.stage == .callID { call.callID = (call.callID ?? "") + rest }
        if call.stage == .name || call.stage == .callID { buffer.removeAll() }
        let produced: [StreamEvent]
        switch call.stage {
        case .undecided:
            produced = [.malformedToolCall(MalformedToolCall(text: "", reason: "[TOOL_CALLS] with nothing after it"))]
        case .name, .callID:
            produced = [.malformedToolCall(MalformedToolCall(text: call.name.trimmingWhitespace, reason: "no [ARGS] after the function name"))]
        case .arguments:
            let name = call.name.trimmingWhitespace
            let arguments = call.json.trimmingWhitespace
            if name.isEmpty {
                produced = [.malformedToolCall(MalformedToolCall(text: arguments, reason: "no function name before [ARGS]"))]
            } else if let error = Self.jsonError(arguments) {
                produced = [.malformedToolCall(MalformedToolCall(text: name + "[ARGS]" + arguments, reason: error))]
            } else {
                produced = [.toolCall(ToolCall(id: nextCallID(given: call.callID), name: name, arguments: arguments))]
            }
        case .list:
            produced = readJSONCalls(call.json)
        }
        for event in produced { record(event) }
        events += produced
    }

    private mutating func nextCallID(given: String?) -> String {
        callCount += 1
        if let id = given?.trimmingWhitespace, !id.isEmpty { return id }
        return makeCallID(callCount)
    }

    /// `{"name": …, "arguments": …}` (Hermes) as a call.
    private mutating func readJSONCall(_ text: String) -> StreamEvent {
        let trimmed = text.trimmingWhitespace
        do {
            return try toolCall(from: JSONValue(parsing: trimmed), text: trimmed)
        } catch let error as MalformedToolCall {
            return .malformedToolCall(error)
        } catch {
            return .malformedToolCall(MalformedToolCall(text: trimmed, reason: "\(error)"))
        }
    }

    /// `[{"name": …, "arguments": …}, …]` or one such object (older Mistral) as calls.
    private mutating func readJSONCalls(_ text: String) -> [StreamEvent] {
        let trimmed = text.trimmingWhitespace
        let value: JSONValue
        do {
            value = try JSONValue(parsing: trimmed)
        } catch {
            return [.malformedToolCall(MalformedToolCall(text: trimmed, reason: "\(error)"))]
        }
        let items: [JSONValue]
        if case .array(let list) = value { items = list } else { items = [value] }
        return items.map { item in
            do {
                return try toolCall(from: item, text: item.pythonText)
            } catch {
                return .malformedToolCall(error as? MalformedToolCall ?? MalformedToolCall(text: trimmed, reason: "\(error)"))
            }
        }
    }

    private mutating func toolCall(from value: JSONValue, text: String) throws -> StreamEvent {
        guard case .string(let name)? = value["name"], !name.isEmpty else {
            throw MalformedToolCall(text: text, reason: "no \"name\" string")
        }
        let arguments: String
        switch value["arguments"] ?? value["parameters"] {
        case .string(let s)?: arguments = s
        case let v?: arguments = v.pythonText
        case nil: arguments = "{}"
        }
        var id: String?
        if case .string(let given)? = value["id"] { id = given }
        return .toolCall(ToolCall(id: nextCallID(given: id), name: name, arguments: arguments))
    }

    /// Why `text` is not JSON, or nil when it is.
    private static func jsonError(_ text: String) -> String? {
        do {
            _ = try JSONValue(parsing: text)
            return nil
        } catch {
            return "\(error)"
        }
    }

    // MARK: - Output

    private enum TextKind { case reasoning, text }

    /// Emits the buffer but for a tail that could be the start of `marker` (all of it when `final`).
    private mutating func emitHoldingBack(_ marker: [Unicode.Scalar]?, as kind: TextKind, final: Bool,
                                          _ events: inout [StreamEvent]) {
        var keep = 0
        if let marker, !final {
            for length in stride(from: min(marker.count - 1, buffer.count), to: 0, by: -1)
            where buffer.suffix(length).elementsEqual(marker.prefix(length)) {
                keep = length
                break
            }
        }
        let count = buffer.count - keep
        guard count > 0 else { return }
        emit(kind, String(String.UnicodeScalarView(buffer[..<count])), &events)
        buffer.removeFirst(count)
    }

    private mutating func emit(_ kind: TextKind, _ text: String, _ events: inout [StreamEvent]) {
        guard !text.isEmpty else { return }
        let event: StreamEvent = kind == .reasoning ? .reasoning(text) : .text(text)
        events.append(event)
        record(event)
    }

    /// Adds an event to ``message``.
    private mutating func record(_ event: StreamEvent) {
        switch event {
        case .reasoning(let t):
            if case .thinking(let previous, _)? = message.parts.last {
                message.parts[message.parts.count - 1] = .thinking(previous + t, closed: isReasoningClosed)
            } else {
                message.parts.append(.thinking(t, closed: isReasoningClosed))
            }
        case .text(let t):
            closeReasoningPart()
            if case .text(let previous)? = message.parts.last {
                message.parts[message.parts.count - 1] = .text(previous + t)
            } else {
                message.parts.append(.text(t))
            }
        case .toolCall(let call):
            closeReasoningPart()
            message.toolCalls.append(call)
        case .malformedToolCall:
            closeReasoningPart()
        }
    }

    /// Reasoning is open in ``message`` while the stream is still in it.
    private var isReasoningClosed: Bool {
        if case .reasoning = mode { return false }
        return true
    }

    private mutating func closeReasoningPart() {
        if case .thinking(let t, false)? = message.parts.last { message.parts[message.parts.count - 1] = .thinking(t, closed: true) }
    }

    private func find(_ marker: [Unicode.Scalar]) -> Int? {
        guard buffer.count >= marker.count else { return nil }
        for start in 0...(buffer.count - marker.count) where buffer[start] == marker[0] {
            if buffer[start..<(start + marker.count)].elementsEqual(marker) { return start }
        }
        return nil
    }
}

/// Finds where a JSON object or array written character by character ends.
struct JSONExtent: Sendable {
    private var depth = 0
    private var started = false
    /// The value does not start with `{` or `[`, so only the end of input ends it.
    private var unbounded = false
    private var inString = false
    private var escaped = false

    /// Takes the next character; true when it closes the value.
    mutating func feed(_ c: Unicode.Scalar) -> Bool {
        if unbounded { return false }
        if !started {
            if c.properties.isWhitespace { return false }
            started = true
            guard c == "{" || c == "[" else { unbounded = true; return false }
            depth = 1
            return false
        }
        if inString {
            if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false }
            return false
        }
        switch c {
        case "\"": inString = true
        case "{", "[": depth += 1
        case "}", "]":
            depth -= 1
            return depth == 0
        default: break
        }
        return false
    }
}

private extension String {
    var trimmingWhitespace: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}
