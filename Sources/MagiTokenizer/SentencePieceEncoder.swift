/// SentencePiece (BPE-by-score) as llama.cpp's `llm_tokenizer_spm_session` does it: the text (spaces
/// already replaced by `▁`) starts as one symbol per UTF-8 character; the adjacent pair whose
/// concatenation is the highest-scoring token (leftmost on ties) is merged until no pair is a token;
/// symbols that are not tokens fall back to `<0xXX>` byte tokens.
struct SentencePieceEncoder: Sendable {
    /// Token text bytes → token id.
    private let idsByText: [[UInt8]: Int32]
    private let scores: [Float]
    /// The token for each byte (`<0xXX>`, else the one-character token), if any.
    private let byteTokens: [Int32?]
    private let unknownID: Int32?

    init(idsByText: [[UInt8]: Int32], scores: [Float], unknownID: Int32?) {
        self.idsByText = idsByText
        self.scores = scores
        self.unknownID = unknownID
        let hex = Array("0123456789ABCDEF".utf8)
        byteTokens = (0..<256).map { byte in
            let name: [UInt8] = Array("<0x".utf8) + [hex[byte >> 4], hex[byte & 15]] + [UInt8(ascii: ">")]
            return idsByText[name] ?? idsByText[[UInt8(byte)]]
        }
    }

    private struct Symbol {
        var start: Int
        var length: Int
        var previous: Int
        var next: Int
    }

    private struct Bigram: MergeCandidate {
        var score: Float
        var left: Int
        var right: Int
        var size: Int

        /// Higher score first; on equal scores the leftmost.
        func precedes(_ other: Bigram) -> Bool {
            score > other.score || (score == other.score && left < other.left)
        }
    }

    /// Appends the tokens of `text` (UTF-8, `▁` for spaces) to `output`.
    func encode(_ text: [UInt8], into output: inout [Int32]) {
        guard !text.isEmpty else { return }
        var symbols: [Symbol] = []
        var offset = 0
        while offset < text.count {
            let length = min(Self.utf8SequenceLength(text[offset]), text.count - offset)
            let index = symbols.count
            symbols.append(Symbol(start: offset, length: length, previous: index - 1,
                                  next: offset + length == text.count ? -1 : index + 1))
            offset += length
        }
        var heap = MergeQueue<Bigram>()
        func addBigram(_ left: Int, _ right: Int) {
            guard left >= 0, right >= 0 else { return }
            let start = symbols[left].start
            let size = symbols[left].length + symbols[right].length
            guard let id = idsByText[Array(text[start..<(start + size)])], Int(id) < scores.count || scores.isEmpty
            else { return }
            heap.push(Bigram(score: scores.isEmpty ? 0 : scores[Int(id)], left: left, right: right, size: size))
        }
        for i in 1..<symbols.count { addBigram(i - 1, i) }
        while let bigram = heap.popFirst() {
            let left = bigram.left, right = bigram.right
            if symbols[left].length == 0 || symbols[right].length == 0
                || symbols[left].length + symbols[right].length != bigram.size { continue }
            symbols[left].length += symbols[right].length
            symbols[right].length = 0
            symbols[left].next = symbols[right].next
            if symbols[right].next >= 0 { symbols[symbols[right].next].previous = left }
            addBigram(symbols[left].previous, left)
            addBigram(left, symbols[left].next)
        }
        // Every merged symbol is a token (merges only form tokens), so llama.cpp's `rev_merge`
        // re-segmentation never applies; a single character that is not a token becomes byte tokens.
        var i = 0
        while i != -1 {
            let symbol = symbols[i]
            let bytes = text[symbol.start..<(symbol.start + symbol.length)]
            if let id = idsByText[Array(bytes)] {
                output.append(id)
            } else {
                for byte in bytes {
                    if let id = byteTokens[Int(byte)] ?? unknownID { output.append(id) }
                }
            }
            i = symbol.next
        }
    }

    /// llama.cpp's `unicode_len_utf8`: the sequence length a lead byte announces (continuation bytes: 1).
    static func utf8SequenceLength(_ byte: UInt8) -> Int {
        switch byte >> 4 {
        case 0xC, 0xD: return 2
        case 0xE: return 3
        case 0xF: return 4
        default: return 1
        }
    }
}

