/// Turns token ids into text one id at a time, emitting only complete UTF-8 characters.
///
/// A character whose bytes are split over several tokens (common for emoji and CJK with byte-level BPE)
/// is held back until its last byte arrives. Bytes that can no longer become a valid character are
/// emitted as U+FFFD, exactly as ``Tokenizer/decode(_:renderSpecial:)`` would, so the concatenation
/// of everything `append` and `finish` return equals `decode` of all the ids.
public struct StreamingDecoder: Sendable {
    private let tokenizer: Tokenizer
    private let renderSpecial: Bool
    private var pending: [UInt8] = []
    /// SentencePiece with a space prefix: the first text token's leading space is still to be removed.
    private var atStart: Bool

    /// A decoder for `tokenizer`; control tokens give their text if `renderSpecial`, else nothing.
    public init(tokenizer: Tokenizer, renderSpecial: Bool = true) {
        self.tokenizer = tokenizer
        self.renderSpecial = renderSpecial
        self.atStart = tokenizer.stripsLeadingSpace
    }

    /// Adds one token; returns the text that is now complete (possibly empty).
    public mutating func append(_ id: Int32) -> String {
        pending.append(contentsOf: bytesToAppend(for: id))
        let cut = Self.completePrefixLength(pending)
        guard cut > 0 else { return "" }
        let text = String(decoding: pending[..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return text
    }

    /// Returns whatever is still held back (an incomplete character becomes U+FFFD) and resets the
    /// decoder for a new sequence.
    public mutating func finish() -> String {
        let text = String(decoding: pending, as: UTF8.self)
        pending.removeAll()
        atStart = tokenizer.stripsLeadingSpace
        return text
    }

    /// The bytes `id` contributes, after the SentencePiece leading-space rule.
    mutating func bytesToAppend(for id: Int32) -> [UInt8] {
        var bytes = tokenizer.tokenBytes(id, renderSpecial: renderSpecial)
        if atStart && id != tokenizer.bos {
            atStart = false
            if bytes.first == 0x20 { bytes.removeFirst() }
        }
        return bytes
    }

    /// The length of `bytes` without a trailing sequence that is an incomplete but still possible UTF-8
    /// character.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        let count = bytes.count
        var lead = count - 1
        while lead >= 0 && lead >= count - 4 && bytes[lead] & 0xC0 == 0x80 { lead -= 1 }
        guard lead >= 0, lead >= count - 4 else { return count }
        let first = bytes[lead]
        let needed: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch first {
        case 0xC2...0xDF: needed = 2
        case 0xE0: needed = 3; secondRange = 0xA0...0xBF
        case 0xED: needed = 3; secondRange = 0x80...0x9F
        case 0xE1...0xEF: needed = 3
        case 0xF0: needed = 4; secondRange = 0x90...0xBF
        case 0xF4: needed = 4; secondRange = 0x80...0x8F
        case 0xF1...0xF3: needed = 4
        default: return count  // ASCII or a byte that cannot start a character
        }
        let have = count - lead
        guard have < needed else { return count }
        if have >= 2 && !secondRange.contains(bytes[lead + 1]) { return count }
        return lead
    }
}
