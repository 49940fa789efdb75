import Foundation
import MagiChat
import MagiEngine
import MagiTokenizer

/// One reply generated on a session and streamed as it decodes: what `-p`, pipe mode and every
/// REPL turn share.
struct ChatTurn {
    let model: LocalModel
    let session: InferenceSession
    /// With `--context-shift`: the tokens kept at the start of the window (the system prompt) when
    /// a full window is shifted instead of stopping the reply; nil stops it.
    var contextShiftKeep: Int? = nil

    /// A finished reply: the assistant message (answer, reasoning, tool calls), its answer text,
    /// and how generation went (`.cancelled` when interrupted).
    struct Reply {
        var message: ChatMessage
        var text: String
        var summary: GenerationSummary
        var wasInterrupted: Bool { summary.reason == .cancelled }
    }

    /// The tokens of a chat turn opened for the assistant (or of `rawText` for plain completion).
    ///
    /// - Throws: ``ChatTurnError/promptTooLong(tokens:contextSize:)`` when they leave no room to answer,
    ///   ``ChatTurnError/chatFormat(_:)`` when the model's chat format cannot render the messages.
    func promptTokens(for messages: [ChatMessage], rawText: String? = nil) throws(ChatTurnError) -> [Int32] {
        let tokens: [Int32]
        if let rawText {
            tokens = model.rawTokens(for: rawText)
        } else {
            do { tokens = try model.promptTokens(for: messages) } catch { throw .chatFormat(error) }
        }
        guard tokens.count < session.contextSize else {
            throw .promptTooLong(tokens: tokens.count, contextSize: session.contextSize)
        }
        return tokens
    }

    /// The tokens of `conversation` (tools, tool calls and results included) opened for the assistant.
    ///
    /// - Throws: as ``promptTokens(for:rawText:)``.
    func promptTokens(for conversation: Conversation) throws(ChatTurnError) -> [Int32] {
        let tokens: [Int32]
        do { tokens = try model.promptTokens(for: conversation) } catch { throw .chatFormat(error) }
        guard tokens.count < session.contextSize else {
            throw .promptTooLong(tokens: tokens.count, contextSize: session.contextSize)
        }
        return tokens
    }

    /// A grammar the output must follow: all of it, or what follows a trigger (tool calls).
    enum Constraint {
        case whole(Grammar)
        case lazy(Grammar, trigger: GrammarTrigger)
    }

    /// The model card's sampling for this model's family, if magi knows it (Magistral: 0.7 / 0.95).
    var recommendedSampling: SamplingParameters? {
        model.template.format.flatMap(RecommendedSettings.forFormat)?.sampling
    }

    /// Generates a reply to `prompt`, handing `output` the reasoning, answer text and tool calls
    /// as they are decoded (text only once its characters are complete).
    ///
    /// Generation runs on its own thread and this returns only once it has stopped, so the session
    /// is free for the next turn however the turn ended. `shouldStop` is polled before each token
    /// (not during prompt evaluation); when it says stop, the reply so far is returned as cancelled.
    /// A `constraint` masks every token that would leave its grammar (after its trigger, if lazy).
    func generate(prompt: [Int32], sampling: SamplingParameters, maxTokens: Int?, constraint: Constraint? = nil,
                  shouldStop: @escaping @Sendable () -> Bool = { false },
                  output: @escaping @Sendable (StreamEvent) -> Void) async throws -> Reply {
        let request = GenerationRequest(prompt: prompt, sampling: sampling, maxTokens: maxTokens, stopTokens: model.stopTokens,
                                        contextShiftKeep: contextShiftKeep)
        let (session, tokenizer) = (session, model.tokenizer)
        var sampler = Sampler(sampling)
        switch constraint {
        case .whole(let grammar)?: sampler.prepend(GrammarConstraint(grammar: grammar, trie: TokenTrie(tokenizer: tokenizer)))
        case let .lazy(grammar, trigger)?:
            sampler.prepend(GrammarConstraint(grammar: grammar, trie: TokenTrie(tokenizer: tokenizer), lazyUntil: trigger))
        case nil: break
        }
        return try await withCheckedThrowingContinuation { [sampler] continuation in
            let thread = Thread {
                var parser = TokenStreamParser(tokenizer: tokenizer)
                var text = ""
                func emit(_ events: [StreamEvent]) {
                    for event in events {
                        if case let .text(piece) = event { text += piece }
                        output(event)
                    }
                }
                do {
                    let summary = try session.runGeneration(request, sampler: sampler, shouldStop: shouldStop) { id in
                        emit(parser.append(id))
                    }
                    emit(parser.finish())
                    continuation.resume(returning: Reply(message: parser.message, text: text, summary: summary))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// One line of timings and context use, for `-v` and `/set verbose on`; the prompt's count is
    /// of the tokens prefilled after the prefix the KV cache already held.
    func statusLine(for summary: GenerationSummary) -> String {
        let prompt = String(format: "%.1f", summary.promptTokensPerSecond)
        let generation = String(format: "%.1f", summary.generationTokensPerSecond)
        return "prompt: \(summary.promptTokens) new tokens, \(prompt) t/s · generation: \(summary.generatedTokens) tokens, \(generation) t/s"
            + " · context: \(session.tokens.count)/\(session.contextSize) · stop: \(summary.reason.rawValue)"
    }
}

/// Why a turn could not start.
enum ChatTurnError: Error, CustomStringConvertible {
    case promptTooLong(tokens: Int, contextSize: Int)
    case chatFormat(any Error)

    var description: String {
        switch self {
        case let .chatFormat(error):
            return "\(error)"
        case let .promptTooLong(tokens, contextSize):
            return "the prompt has \(tokens) tokens, more than the context window of \(contextSize); raise it with -c"
        }
    }
}

extension ChatTurn {
    /// Tokens of the system prompt (`system`, else the template's) at the start of every chat prompt:
    /// what `--context-shift` keeps.
    func systemPromptLength(system: String?) -> Int {
        let messages: [ChatMessage] = system.map { [.system($0)] } ?? []
        let rendered = try? model.template.render(messages, addGenerationPrompt: false)
        return (try? rendered?.tokens(using: model.tokenizer, sequenceStart: model.sequenceStart).count) ?? 0
    }

    /// The length in tokens of `conversation`'s prompt, opened for the assistant.
    func measure(_ conversation: Conversation) throws(ChatTurnError) -> Int {
        do { return try model.promptTokens(for: conversation).count } catch { throw .chatFormat(error) }
    }
}
