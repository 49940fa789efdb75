import MagiTokenizer

/// A vocabulary's token byte strings as a trie, built once per tokenizer and shared by every
/// ``GrammarConstraint`` on it: a byte prefix a grammar rejects prunes every token that starts with it.
///
/// Nodes are stored in depth-first order, so a node's children follow it and its whole subtree is the
/// contiguous range `node..<subtreeEnd[node]`. End-of-generation tokens are kept apart (a grammar allows
/// them only where it may end); other control tokens and tokens with no bytes are never allowed.
// Sendable by hand: the buffers are filled in `init` and only read afterwards.
public final class TokenTrie: @unchecked Sendable {
    /// Number of token ids (`0..<vocabularySize`).
    public let vocabularySize: Int
    /// End-of-generation tokens of the vocabulary.
    public let endOfGenerationTokens: [Int32]
    /// The byte leading to each node (unused for the root, node 0).
    let nodeByte: UnsafeMutableBufferPointer<UInt8>
    /// One past the last node of each node's subtree.
    let subtreeEnd: UnsafeMutableBufferPointer<Int32>
    /// The tokens spelled exactly by node `n` are `tokenIDs[tokenStart[n]..<tokenStart[n + 1]]`.
    let tokenStart: UnsafeMutableBufferPointer<Int32>
    let tokenIDs: UnsafeMutableBufferPointer<Int32>
    /// Each token's bytes: `pieceBytes[pieceStart[t]..<pieceStart[t + 1]]` (empty for tokens never allowed).
    let pieceBytes: UnsafeMutableBufferPointer<UInt8>
    let pieceStart: UnsafeMutableBufferPointer<Int32>
    private let endOfGenerationSet: Set<Int32>

    /// Number of trie nodes, the root included.
    public var nodeCount: Int { subtreeEnd.count }

    /// Builds the trie from the tokenizer's token bytes (`tokenBytes(_:renderSpecial: true)`).
    public convenience init(tokenizer: Tokenizer) {
        var pieces: [[UInt8]] = []
        var endOfGeneration: [Int32] = []
        pieces.reserveCapacity(tokenizer.vocabularySize)
        for id in 0..<Int32(tokenizer.vocabularySize) {
            if tokenizer.isEndOfGeneration(id) {
                endOfGeneration.append(id)
                pieces.append([])
            } else {
                pieces.append(tokenizer.isControl(id) ? [] : tokenizer.tokenBytes(id))
            }
        }
        self.init(pieces: pieces, endOfGenerationTokens: endOfGeneration)
    }

    /// Builds the trie from each token's bytes (index = token id; empty = never allowed).
    public init(pieces: [[UInt8]], endOfGenerationTokens: [Int32]) {
        vocabularySize = pieces.count
        self.endOfGenerationTokens = endOfGenerationTokens
        endOfGenerationSet = Set(endOfGenerationTokens)
        var starts: [Int32] = [0]
        var bytes: [UInt8] = []
        for piece in pieces {
            bytes += piece
            starts.append(Int32(bytes.count))
        }
        pieceBytes = Self.copy(bytes)
        pieceStart = Self.copy(starts)

        let order = pieces.indices.filter { !pieces[$0].isEmpty }.sorted {
            pieces[$0].lexicographicallyPrecedes(pieces[$1]) || (pieces[$0] == pieces[$1] && $0 < $1)
        }
        var byte: [UInt8] = [0]
        var end: [Int32] = [0]
        var firstToken: [Int32] = [0]
        var ids: [Int32] = []
        var path: [Int32] = [0] // path[d] is the node at depth d on the current branch
        var previous: [UInt8] = []
        for id in order {
            let piece = pieces[id]
            var common = 0
            while common < previous.count && common < piece.count && previous[common] == piece[common] { common += 1 }
            while path.count > common + 1 { end[Int(path.removeLast())] = Int32(byte.count) }
            for b in piece[common...] {
                path.append(Int32(byte.count))
                byte.append(b)
                end.append(0)
                firstToken.append(Int32(ids.count))
            }
            ids.append(Int32(id))
            previous = piece
        }
        while let node = path.popLast() { end[Int(node)] = Int32(byte.count) }
        // firstToken[n] is the count of tokens placed before node n was created; tokens of node n run
        // up to the first token of the next node.
        firstToken.append(Int32(ids.count))
        nodeByte = Self.copy(byte)
        subtreeEnd = Self.copy(end)
        tokenStart = Self.copy(firstToken)
        tokenIDs = Self.copy(ids)
    }

    deinit {
        nodeByte.deallocate()
        subtreeEnd.deallocate()
        tokenStart.deallocate()
        tokenIDs.deallocate()
        pieceBytes.deallocate()
        pieceStart.deallocate()
    }

    private static func copy<T>(_ array: [T]) -> UnsafeMutableBufferPointer<T> {
        let buffer = UnsafeMutableBufferPointer<T>.allocate(capacity: max(array.count, 1))
        _ = buffer.initialize(from: array)
        return buffer
    }

    /// True for the vocabulary's end-of-generation tokens.
    public func isEndOfGeneration(_ token: Int32) -> Bool { endOfGenerationSet.contains(token) }

    /// The bytes a token adds to the output; empty for control and unused tokens.
    public func bytes(of token: Int32) -> ArraySlice<UInt8> {
        guard token >= 0 && Int(token) < vocabularySize else { return [] }
        return ArraySlice(pieceBytes[Int(pieceStart[Int(token)])..<Int(pieceStart[Int(token) + 1])])
    }

    /// The token's bytes in place, for hot loops (empty for control and unused tokens).
    @inline(__always) func piece(of token: Int32) -> Slice<UnsafeMutableBufferPointer<UInt8>> {
        pieceBytes[Int(pieceStart[Int(token)])..<Int(pieceStart[Int(token) + 1])]
    }
}
