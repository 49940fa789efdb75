/// Byte-level BPE (GPT-2 style) as llama.cpp's `llm_tokenizer_bpe_session` does it: a word starts as
/// one symbol per byte and the adjacent pair with the lowest merge rank (leftmost on ties) is merged
/// until no pair has a merge.
///
/// Symbols are tracked by id rather than by text: every string a merge can produce or consume gets an
/// id — its token id if it is a token, otherwise a "virtual" id past the vocabulary — so a merge is a
/// lookup of two integers.
struct BytePairEncoder: Sendable {
    private struct Merge: Sendable {
        var rank: Int32
        var result: Int32
    }

    private let tokenCount: Int32
    /// Raw bytes → token id, for every token whose text is in the byte-level alphabet.
    private let idsByBytes: [[UInt8]: Int32]
    /// (left id << 32 | right id) → merge.
    private let merges: [UInt64: Merge]
    /// The id of each single byte (token or virtual).
    private let byteIDs: [Int32]
    /// The bytes of the virtual ids (index = id - tokenCount).
    private let virtualBytes: [[UInt8]]
    /// With llama.cpp's `ignore_merges` (Llama 3, Tekken), a word that is a token is not merged.
    private let ignoreMerges: Bool

    init(tokens: [String], merges mergeTexts: [String], ignoreMerges: Bool) throws {
        tokenCount = Int32(tokens.count)
        self.ignoreMerges = ignoreMerges
        var ids: [[UInt8]: Int32] = [:]
        ids.reserveCapacity(tokens.count)
        for (id, text) in tokens.enumerated() {
            if let bytes = ByteLevelAlphabet.bytes(forTokenText: text) {
                ids[bytes] = Int32(id)  // later duplicates win, as in llama.cpp's token_to_id
            }
        }
        var virtualIDs: [[UInt8]: Int32] = [:]
        var virtualBytes: [[UInt8]] = []
        let tokenCount = self.tokenCount
        func id(for bytes: [UInt8]) -> Int32 {
            if let id = ids[bytes] { return id }
            if let id = virtualIDs[bytes] { return id }
            let id = tokenCount + Int32(virtualBytes.count)
            virtualIDs[bytes] = id
            virtualBytes.append(bytes)
            return id
        }
        var table: [UInt64: Merge] = [:]
        table.reserveCapacity(mergeTexts.count)
        for (rank, text) in mergeTexts.enumerated() {
            let utf8 = Array(text.utf8)
            guard utf8.count >= 3, let space = utf8[1...].firstIndex(of: 0x20) else {
                throw TokenizerError.malformedMerge(index: rank, merge: text)
            }
            // A half outside the byte-level alphabet can never match a symbol: the merge never applies.
            guard let left = ByteLevelAlphabet.bytes(forTokenText: String(decoding: utf8[..<space], as: UTF8.self)),
                  let right = ByteLevelAlphabet.bytes(forTokenText: String(decoding: utf8[(space + 1)...], as: UTF8.self)),
                  !left.isEmpty, !right.isEmpty
            else { continue }
            let key = UInt64(UInt32(id(for: left))) << 32 | UInt64(UInt32(id(for: right)))
            if table[key] == nil {
                table[key] = Merge(rank: Int32(rank), result: id(for: left + right))
            }
        }
        byteIDs = (0..<256).map { id(for: [UInt8($0)]) }
        self.idsByBytes = ids
        self.merges = table
        self.virtualBytes = virtualBytes
    }

    /// tiktoken's BPE, as mistral-common's Tekken tokenizer runs it: ranks are token ids, the adjacent pair
    /// whose concatenation is the token of lowest rank merges first (leftmost on ties), and a word that is
    /// itself a token is not split. No merges list is needed: every pair of tokens whose concatenation is
    /// a token is a merge, so the result equals tiktoken's for any rank-ordered vocabulary.
    ///
    /// Only tokens with `mergeable[id]` take part, so special tokens never come out of text.
    ///
    /// - Throws: ``TokenizerError/missingByteToken(_:)`` if some byte is not a mergeable token.
    init(rankedTokens tokens: [String], mergeable: [Bool]) throws {
        tokenCount = Int32(tokens.count)
        ignoreMerges = true
        var ids: [[UInt8]: Int32] = [:]
        ids.reserveCapacity(tokens.count)
        for (id, text) in tokens.enumerated() where mergeable[id] {
            if let bytes = ByteLevelAlphabet.bytes(forTokenText: text), !bytes.isEmpty { ids[bytes] = Int32(id) }
        }
        var table: [UInt64: Merge] = [:]
        table.reserveCapacity(ids.count * 2)
        for (bytes, id) in ids where bytes.count > 1 {
            for split in 1..<bytes.count {
                guard let left = ids[Array(bytes[..<split])], let right = ids[Array(bytes[split...])] else { continue }
                table[UInt64(UInt32(left)) << 32 | UInt64(UInt32(right))] = Merge(rank: id, result: id)
            }
        }
        byteIDs = try (0..<256).map { byte in
            guard let id = ids[[UInt8(byte)]] else { throw TokenizerError.missingByteToken(UInt8(byte)) }
            return id
        }
        idsByBytes = ids
        merges = table
        virtualBytes = []
    }

    fileprivate struct Symbol {
        var start: Int32
        var length: Int32
        var previous: Int32
        var next: Int32
        var id: Int32
    }

    fileprivate struct Bigram: MergeCandidate {
        var rank: Int32
        var left: Int32
        var right: Int32
        var leftLength: Int32
        var rightLength: Int32

        @inline(__always) func precedes(_ other: Bigram) -> Bool {
            rank < other.rank || (rank == other.rank && left < other.left)
        }
    }

    /// Reusable buffers for one `encode` call.
    struct Workspace {
        fileprivate var symbols: [Symbol] = []
        fileprivate var heap = MergeQueue<Bigram>()
    }

    /// Appends the tokens of one pre-tokenized word (raw bytes) to `output`.
    func encodeWord(_ word: UnsafeBufferPointer<UInt8>, workspace: inout Workspace, into output: inout [Int32]) {
        guard !word.isEmpty else { return }
        if word.count == 1 {
            emit(byteIDs[Int(word[0])], into: &output)
            return
        }
        if ignoreMerges, let id = idsByBytes[Array(word)] {
            output.append(id)
            return
        }
        workspace.symbols.removeAll(keepingCapacity: true)
        workspace.heap.removeAll()
        let count = Int32(word.count)
        for i in 0..<count {
            workspace.symbols.append(Symbol(start: i, length: 1, previous: i - 1, next: i + 1 == count ? -1 : i + 1,
                                            id: byteIDs[Int(word[Int(i)])]))
        }
        workspace.symbols.withUnsafeMutableBufferPointer { symbols in
            for i in 1..<Int32(symbols.count) {
                addBigram(left: i - 1, right: i, symbols: symbols, heap: &workspace.heap)
            }
            while let bigram = workspace.heap.popFirst() {
                let left = Int(bigram.left), right = Int(bigram.right)
                guard symbols[left].length == bigram.leftLength, symbols[right].length == bigram.rightLength else {
                    continue  // outdated: one side has merged since
                }
                let key = UInt64(UInt32(symbols[left].id)) << 32 | UInt64(UInt32(symbols[right].id))
                symbols[left].id = merges[key]!.result
                symbols[left].length += symbols[right].length
                symbols[right].length = 0
                symbols[left].next = symbols[right].next
                if symbols[right].next >= 0 { symbols[Int(symbols[right].next)].previous = bigram.left }
                addBigram(left: symbols[left].previous, right: bigram.left, symbols: symbols, heap: &workspace.heap)
                addBigram(left: bigram.left, right: symbols[left].next, symbols: symbols, heap: &workspace.heap)
            }
            var i: Int32 = 0
            while i != -1 {
                emit(symbols[Int(i)].id, into: &output)
                i = symbols[Int(i)].next
            }
        }
    }

    /// A symbol that is a token gives its id; otherwise llama.cpp looks up each byte of its text on its own
    /// and keeps the ones that are tokens (only printable ASCII can be).
    @inline(__always)
    private func emit(_ id: Int32, into output: inout [Int32]) {
        if id < tokenCount {
            output.append(id)
            return
        }
        for byte in virtualBytes[Int(id - tokenCount)] where (0x21...0x7E).contains(byte) {
            if let id = idsByBytes[[byte]] { output.append(id) }
        }
    }

    @inline(__always)
    private func addBigram(left: Int32, right: Int32, symbols: UnsafeMutableBufferPointer<Symbol>, heap: inout MergeQueue<Bigram>) {
        guard left >= 0, right >= 0 else { return }
        let key = UInt64(UInt32(symbols[Int(left)].id)) << 32 | UInt64(UInt32(symbols[Int(right)].id))
        guard let merge = merges[key] else { return }
        heap.push(Bigram(rank: merge.rank, left: left, right: right, leftLength: symbols[Int(left)].length,
                    rightLength: symbols[Int(right)].length))
    }
}

