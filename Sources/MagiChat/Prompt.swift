import MagiTokenizer

/// A conversation rendered by a ``ChatFormat``: control tokens by name and plain text, in order.
///
/// Kept apart until encoding so that text can never turn into a control token: a user who types
/// `<|im_end|>` or `[INST]` gets those characters, not the token (text is encoded with
/// `parseSpecial: false`).
public struct Prompt: Sendable, Equatable {
    public enum Segment: Sendable, Equatable {
        /// A special token by its text in the vocabulary, such as `<|im_start|>` or `[INST]`.
        case special(String)
        /// Text, encoded as ordinary text whatever it contains.
        case text(String)
    }

    /// Segments in order; no two text segments are adjacent and none is empty.
    public private(set) var segments: [Segment] = []

    public init() {}

    /// Appends a special token by name.
    public mutating func special(_ name: String) {
        segments.append(.special(name))
    }

    /// Appends text, merged with the text before it (templates render one string between special
    /// tokens, and the tokenizer's pre-tokenizer sees it whole).
    public mutating func text(_ text: String) {
        guard !text.isEmpty else { return }
        if case .text(let previous)? = segments.last {
            segments[segments.count - 1] = .text(previous + text)
        } else {
            segments.append(.text(text))
        }
    }

    /// The prompt as a template would print it, special tokens written as their names.
    public var text: String {
        segments.reduce(into: "") { out, segment in
            switch segment {
            case .special(let name), .text(let name): out += name
            }
        }
    }

    /// Token ids: each special token looked up by name, each text encoded with `parseSpecial: false`.
    ///
    /// - Parameter sequenceStart: BOS to put first when the vocabulary asks for one (see
    ///   ``LocalModel/sequenceStart``); not added twice when the prompt starts with it already.
    /// - Throws: ``ChatFormatError/missingSpecialToken(_:)`` when the vocabulary lacks a special token.
    public func tokens(using tokenizer: Tokenizer, sequenceStart: Int32? = nil) throws -> [Int32] {
        var ids: [Int32] = []
        for segment in segments {
            switch segment {
            case .special(let name):
                guard let id = tokenizer.tokenID(for: name) else { throw ChatFormatError.missingSpecialToken(name) }
                ids.append(id)
            case .text(let text):
                ids += tokenizer.encode(text, addSpecial: false, parseSpecial: false)
            }
        }
        if let bos = sequenceStart, ids.first != bos { ids.insert(bos, at: 0) }
        return ids
    }
}
