/// Splits text into the words byte-level BPE merges within, as llama.cpp's `unicode_regex_split` does
/// for the GGUF `tokenizer.ggml.pre` name.
///
/// llama.cpp maps each pre-tokenizer name to a list of regexes applied one after another: each regex
/// splits every piece produced so far into its matches *and* the gaps between them. Two of the
/// regexes (GPT-2's and Llama 3's) have hand-written equivalents in llama.cpp whose quirks differ
/// slightly from the regex (a code point no branch matches becomes its own piece); the others run
/// through `std::regex` on a "collapsed" text where every non-ASCII code point is replaced by its
/// category. Every stage here is a hand-written matcher with the same results as the corresponding
/// llama.cpp path, working on Unicode scalars with ``CodepointCategory``.
struct PreTokenizer: Sendable {
    /// One regex of llama.cpp's list.
    enum Stage: Sendable, Equatable {
        /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)` (llama.cpp's custom code).
        case gpt2
        /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
        /// with N = `maxDigits` (3: Llama 3, custom code; 1: Qwen 2, regex — same results).
        case llama3(maxDigits: Int)
        /// `\p{N}`: every number code point on its own.
        case isolatedNumbers
        /// `\p{N}+`
        case numberRuns
        /// `[0-9][0-9][0-9]`
        case asciiDigitTriples
        /// `[\p{P}\$\+<=>\^~\|]+` (default), or with a backtick added (Falcon).
        case punctuationRuns(withBacktick: Bool)
        /// Mistral's Tekken pattern with its exact Unicode classes, as mistral-common (tiktoken) matches
        /// it (see ``TekkenPattern``).
        case tekken
        /// llama.cpp's approximation of Tekken's regex, where every non-ASCII letter counts as both
        /// upper- and lowercase and marks are not letters:
        /// `[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`.
        /// It differs from ``tekken`` on text with combining marks (Devanagari, Bengali, Vietnamese in
        /// decomposed form…) and on non-ASCII case changes; only the llama.cpp parity tests use it.
        case tekkenLlamaCpp
        /// `[\r\n]`
        case lineBreak
        /// `\s?\p{L}+`
        case optionalSpaceLetters
        /// `\s?\p{P}+`
        case optionalSpacePunctuation
        /// `[一-龥ࠀ-一가-퟿]+` (DeepSeek's CJK/Hangul runs).
        case deepSeekCJK
        /// `\s+$`
        case trailingWhitespace
        /// `\s?[A-Za-zµÀ-Ö…]+`: DeepSeek LLM's explicit list of Latin, Greek, Cyrillic… letters.
        case deepSeekLetters
        /// `\s?[!-/:-~！-／：-～‘-‟　-。]+`
        case deepSeekPunctuation
        /// ` ?[^(\s|.,!?…。，、।۔،)]+` (BLOOM, Poro, Viking).
        case bloom
    }

    let stages: [Stage]

    init(stages: [Stage]) {
        self.stages = stages
    }

    /// The stages llama.cpp uses for a `tokenizer.ggml.pre` name (nil or missing: `default`).
    /// Also returns whether llama.cpp sets `ignore_merges` (a word that is already a token is not merged).
    ///
    /// `tekken` gives mistral-common's exact pattern, unless `llamaCppTekken` asks for llama.cpp's
    /// approximation of it.
    static func forName(_ name: String?, llamaCppTekken: Bool = false) throws -> (PreTokenizer, ignoreMerges: Bool) {
        let gpt2Default: [Stage] = [.punctuationRuns(withBacktick: false), .gpt2, .numberRuns, .asciiDigitTriples]
        guard let name, !name.isEmpty else { return (PreTokenizer(stages: gpt2Default), false) }
        switch name {
        case "default":
            return (PreTokenizer(stages: gpt2Default), false)
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2":
            return (PreTokenizer(stages: [.llama3(maxDigits: 3)]), true)
        case "dbrx", "smaug-bpe", "glm4", "chatglm-bpe":
            return (PreTokenizer(stages: [.llama3(maxDigits: 3)]), false)
        case "qwen2", "deepseek-r1-qwen", "stablelm2", "hunyuan", "megrez":
            return (PreTokenizer(stages: [.llama3(maxDigits: 1)]), false)
        case "deepseek-llm":
            return (PreTokenizer(stages: [.lineBreak, .deepSeekLetters, .deepSeekPunctuation,
                                          .trailingWhitespace, .deepSeekCJK, .numberRuns]), false)
        case "deepseek-coder":
            return (PreTokenizer(stages: [.lineBreak, .optionalSpaceLetters, .optionalSpacePunctuation,
                                          .deepSeekCJK, .isolatedNumbers]), false)
        case "falcon":
            return (PreTokenizer(stages: [.punctuationRuns(withBacktick: true), .gpt2, .asciiDigitTriples]), false)
        case "starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b":
            return (PreTokenizer(stages: [.isolatedNumbers, .gpt2]), false)
        case "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0",
             "mellum", "jina-v1-en", "jina-v2-code", "roberta-bpe", "exaone4", "mpt", "olmo", "jais",
             "trillion":
            return (PreTokenizer(stages: [.gpt2]), false)
        case "poro-chat", "bloom", "gpt3-finnish":
            return (PreTokenizer(stages: [.bloom]), false)
        case "viking":
            return (PreTokenizer(stages: [.bloom, .isolatedNumbers]), false)
        case "tekken":
            return (PreTokenizer(stages: [llamaCppTekken ? .tekkenLlamaCpp : .tekken]), true)
        case "deepseek-v3", "hunyuan-dense", "chameleon", "gpt-4o", "llama4", "superbpe", "bailingmoe",
             "seed-coder", "kimi-k2":
            throw TokenizerError.unsupportedPreTokenizer(name)
        default:
            throw TokenizerError.unknownPreTokenizer(name)
        }
    }

    /// Splits code points into words; returns each word's length in code points, in order.
    func split(_ codepoints: [UInt32]) -> [Int] {
        guard !codepoints.isEmpty else { return [] }
        var pieces = [codepoints.count]
        codepoints.withUnsafeBufferPointer { text in
            for stage in stages {
                var next: [Int] = []
                next.reserveCapacity(max(pieces.count, codepoints.count / 3))
                var start = 0
                for length in pieces {
                    let piece = Piece(text: text, start: start, end: start + length)
                    switch stage {
                    case .gpt2: piece.splitGPT2(into: &next)
                    case .llama3(let maxDigits): piece.splitLlama3(maxDigits: maxDigits, into: &next)
                    default: piece.splitByMatches(of: stage, into: &next)
                    }
                    start += length
                }
                pieces = next
            }
        }
        return pieces
    }
}

/// One piece of text being split by a stage; positions outside `start..<end` read as "no character",
/// like llama.cpp's `OUT_OF_RANGE`.
private struct Piece {
    let text: UnsafeBufferPointer<UInt32>
    let start: Int
    let end: Int

    @inline(__always) func char(_ i: Int) -> UInt32? { i < end ? text[i] : nil }
    @inline(__always) func category(_ i: Int) -> CodepointCategory? { i < end ? CodepointCategory.of(text[i]) : nil }
    @inline(__always) func isLetter(_ i: Int) -> Bool { category(i)?.isLetter ?? false }
    @inline(__always) func isNumber(_ i: Int) -> Bool { category(i)?.isNumber ?? false }
    @inline(__always) func isSpace(_ i: Int) -> Bool { category(i)?.isWhitespace ?? false }
    /// `[^\s\p{L}\p{N}]`
    @inline(__always) func isOther(_ i: Int) -> Bool {
        guard let c = category(i) else { return false }
        return !(c.isWhitespace || c.isLetter || c.isNumber)
    }
    @inline(__always) func isLineBreak(_ i: Int) -> Bool { i < end && (text[i] == 0x0D || text[i] == 0x0A) }

    func run(from i: Int, while predicate: (Int) -> Bool) -> Int {
        var j = i
        while j < end && predicate(j) { j += 1 }
        return j - i
    }

    /// `'s|'t|'m|'d` → 2, `'re|'ve|'ll` → 3 (ASCII, optionally case-insensitive), else 0.
    func contraction(at i: Int, caseInsensitive: Bool) -> Int {
        guard text[i] == 0x27, i + 1 < end else { return 0 }
        func lower(_ c: UInt32) -> UInt32 { caseInsensitive && (0x41...0x5A).contains(c) ? c + 0x20 : c }
        let next = lower(text[i + 1])
        if next == 0x73 || next == 0x74 || next == 0x6D || next == 0x64 { return 2 }  // s t m d
        if i + 2 < end {
            let nextNext = lower(text[i + 2])
            if (next == 0x72 && nextNext == 0x65) || (next == 0x76 && nextNext == 0x65)
                || (next == 0x6C && nextNext == 0x6C) { return 3 }  // re ve ll
        }
        return 0
    }

    // MARK: hand-written splitters (llama.cpp's custom code paths)

    func splitGPT2(into out: inout [Int]) {
        var previousEnd = start
        func emit(_ position: Int) {
            if position > previousEnd { out.append(position - previousEnd) }
            previousEnd = position
        }
        var pos = start
        while pos < end {
            let c = text[pos]
            let length = contraction(at: pos, caseInsensitive: false)
            if length > 0 {
                pos += length
                emit(pos)
                continue
            }
            let lead = c == 0x20 ? category(pos + 1) : category(pos)
            if let lead, lead.isLetter || lead.isNumber || !lead.isWhitespace {
                if c == 0x20 { pos += 1 }
                if lead.isLetter {
                    while isLetter(pos) { pos += 1 }
                } else if lead.isNumber {
                    while isNumber(pos) { pos += 1 }
                } else {
                    while isOther(pos) { pos += 1 }
                }
                emit(pos)
                continue
            }
            let spaces = run(from: pos, while: isSpace)
            if spaces > 1 && pos + spaces < end {
                pos += spaces - 1
            } else if spaces > 0 {
                pos += spaces
            } else {
                pos += 1
            }
            emit(pos)
        }
    }

    func splitLlama3(maxDigits: Int, into out: inout [Int]) {
        var previousEnd = start
        func emit(_ position: Int) {
            if position > previousEnd { out.append(position - previousEnd) }
            previousEnd = position
        }
        var pos = start
        while pos < end {
            let c = text[pos]
            let cat = CodepointCategory.of(c)
            let length = contraction(at: pos, caseInsensitive: true)
            if length > 0 {
                pos += length
                emit(pos)
                continue
            }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if !(c == 0x0D || c == 0x0A || cat.isNumber) && (cat.isLetter || isLetter(pos + 1)) {
                pos += 1
                while isLetter(pos) { pos += 1 }
                emit(pos)
                continue
            }
            // \p{N}{1,maxDigits}
            if cat.isNumber {
                var runStart = pos
                while isNumber(pos) {
                    pos += 1
                    if pos - runStart >= maxDigits {
                        emit(pos)
                        runStart = pos
                    }
                }
                emit(pos)
                continue
            }
            // ' '?[^\s\p{L}\p{N}]+[\r\n]*
            let lead = c == 0x20 ? category(pos + 1) : cat
            if !(lead?.isWhitespace ?? false) && !(lead?.isLetter ?? false) && !(lead?.isNumber ?? false) {
                if c == 0x20 { pos += 1 }
                while isOther(pos) { pos += 1 }
                while isLineBreak(pos) { pos += 1 }
                emit(pos)
                continue
            }
            // \s*[\r\n]+ | \s+(?!\S) | \s+
            var spaces = 0
            var afterLastLineBreak = 0
            while isSpace(pos + spaces) {
                if isLineBreak(pos + spaces) { afterLastLineBreak = pos + spaces + 1 }
                spaces += 1
            }
            if afterLastLineBreak > 0 {
                pos = afterLastLineBreak
            } else if spaces > 1 && pos + spaces < end {
                pos += spaces - 1
            } else if spaces > 0 {
                pos += spaces
            } else {
                pos += 1
            }
            emit(pos)
        }
    }

    // MARK: regex stages (llama.cpp's std::regex path: matches and the gaps between them become pieces)

    func splitByMatches(of stage: PreTokenizer.Stage, into out: inout [Int]) {
        var gapStart = start
        var pos = start
        while pos < end {
            let length = matchLength(of: stage, at: pos)
            if length > 0 {
                if pos > gapStart { out.append(pos - gapStart) }
                out.append(length)
                pos += length
                gapStart = pos
            } else {
                pos += 1
            }
        }
        if end > gapStart { out.append(end - gapStart) }
    }

    /// Length of the match of `stage`'s regex starting exactly at `pos` (0: no match).
    func matchLength(of stage: PreTokenizer.Stage, at pos: Int) -> Int {
        let c = text[pos]
        switch stage {
        case .gpt2, .llama3:
            preconditionFailure("custom stages are not regex stages")
        case .isolatedNumbers:
            return isNumber(pos) ? 1 : 0
        case .numberRuns:
            return run(from: pos, while: isNumber)
        case .asciiDigitTriples:
            return pos + 2 < end && (0x30...0x39).contains(c) && (0x30...0x39).contains(text[pos + 1])
                && (0x30...0x39).contains(text[pos + 2]) ? 3 : 0
        case .punctuationRuns(let withBacktick):
            return run(from: pos) { i in
                let x = text[i]
                // ASCII: llama.cpp's collapsed \p{P} set plus $ + < = > ^ ~ | (and `)
                if x < 0x80 { return Self.asciiPunctuationOrListed(x) || (withBacktick && x == 0x60) }
                return CodepointCategory.of(x).isPunctuation
            }
        case .lineBreak:
            return isLineBreak(pos) ? 1 : 0
        case .optionalSpaceLetters:
            return optionalSpaceThenRun(at: pos, isLetter)
        case .optionalSpacePunctuation:
            return optionalSpaceThenRun(at: pos) { category($0)?.isPunctuation ?? false }
        case .deepSeekCJK:
            return run(from: pos) { i in
                let x = text[i]
                return (0x4E00...0x9FA5).contains(x) || (0x0800...0x4E00).contains(x) || (0xAC00...0xD7FF).contains(x)
            }
        case .trailingWhitespace:
            let spaces = run(from: pos, while: isSpace)
            return spaces > 0 && pos + spaces == end ? spaces : 0
        case .deepSeekLetters:
            return optionalSpaceThenRun(at: pos) { DeepSeekClasses.letters.contains(text[$0]) }
        case .deepSeekPunctuation:
            return optionalSpaceThenRun(at: pos) { DeepSeekClasses.punctuation.contains(text[$0]) }
        case .bloom:
            let isWordChar: (Int) -> Bool = { i in
                let x = text[i]
                if isSpace(i) { return false }
                return !Self.bloomExcluded.contains(x)
            }
            if c == 0x20 {
                let length = run(from: pos + 1, while: isWordChar)
                if length > 0 { return 1 + length }
            }
            return run(from: pos, while: isWordChar)
        case .tekken:
            return TekkenPattern.matchLength(text, at: pos, end: end)
        case .tekkenLlamaCpp:
            return tekkenMatch(at: pos)
        }
    }

    /// `\s?X+` (greedy optional white space, backtracking if X+ fails after it).
    func optionalSpaceThenRun(at pos: Int, _ predicate: (Int) -> Bool) -> Int {
        if isSpace(pos) {
            let length = run(from: pos + 1, while: predicate)
            if length > 0 { return 1 + length }
        }
        return run(from: pos, while: predicate)
    }

    static func asciiPunctuationOrListed(_ x: UInt32) -> Bool {
        switch x {
        case 0x21...0x23, 0x25...0x2A, 0x2C...0x2F, 0x3A...0x3B, 0x3F...0x40, 0x5B...0x5D, 0x5F, 0x7B, 0x7D:
            return true  // \p{P}
        case 0x24, 0x2B, 0x3C, 0x3D, 0x3E, 0x5E, 0x7E, 0x7C:
            return true  // $ + < = > ^ ~ |
        default:
            return false
        }
    }

    /// `( | . , ! ? … 。 ， 、 । ۔ ، )` (the class also lists `\s`).
    static let bloomExcluded: Set<UInt32> = [0x28, 0x7C, 0x2E, 0x2C, 0x21, 0x3F, 0x2026, 0x3002, 0xFF0C, 0x3001,
                                             0x0964, 0x06D4, 0x060C, 0x29]

    /// llama.cpp's approximation of the Tekken pattern (``PreTokenizer/Stage/tekkenLlamaCpp``).
    func tekkenMatch(at pos: Int) -> Int {
        let c = text[pos]
        let cat = CodepointCategory.of(c)
        // (?=[\p{L}])([^a-z]): a letter other than a-z;  (?=[\p{L}])([^A-Z]): a letter other than A-Z.
        func isUpperish(_ i: Int) -> Bool {
            guard i < end, CodepointCategory.of(text[i]).isLetter else { return false }
            return !(0x61...0x7A).contains(text[i])
        }
        func isLowerish(_ i: Int) -> Bool {
            guard i < end, CodepointCategory.of(text[i]).isLetter else { return false }
            return !(0x41...0x5A).contains(text[i])
        }
        let prefixAllowed = !(c == 0x0D || c == 0x0A || cat.isLetter || cat.isNumber)
        // Alternative 1: P? U* L+
        func upperThenLower(_ p: Int) -> Int {
            let uppers = run(from: p, while: isUpperish)
            var k = uppers
            while k >= 0 {
                let lowers = run(from: p + k, while: isLowerish)
                if lowers > 0 { return k + lowers }
                k -= 1
            }
            return 0
        }
        if prefixAllowed, pos + 1 < end {
            let length = upperThenLower(pos + 1)
            if length > 0 { return 1 + length }
        }
        var length = upperThenLower(pos)
        if length > 0 { return length }
        // Alternative 2: P? U+ L*
        func upperRunThenLower(_ p: Int) -> Int {
            let uppers = run(from: p, while: isUpperish)
            guard uppers > 0 else { return 0 }
            return uppers + run(from: p + uppers, while: isLowerish)
        }
        if prefixAllowed, pos + 1 < end {
            length = upperRunThenLower(pos + 1)
            if length > 0 { return 1 + length }
        }
        length = upperRunThenLower(pos)
        if length > 0 { return length }
        // \p{N}
        if cat.isNumber { return 1 }
        // ' '?[^\s\p{L}\p{N}]+[\r\n/]*
        func otherRun(_ p: Int) -> Int {
            let others = run(from: p, while: isOther)
            guard others > 0 else { return 0 }
            return others + run(from: p + others) { i in text[i] == 0x0D || text[i] == 0x0A || text[i] == 0x2F }
        }
        if c == 0x20 {
            length = otherRun(pos + 1)
            if length > 0 { return 1 + length }
        }
        length = otherRun(pos)
        if length > 0 { return length }
        return whitespaceAlternatives(at: pos)
    }

    /// `\s*[\r\n]+|\s+(?!\S)|\s+`
    func whitespaceAlternatives(at pos: Int) -> Int {
        let spaces = run(from: pos, while: isSpace)
        guard spaces > 0 else { return 0 }
        var lastLineBreak = -1
        for i in pos..<(pos + spaces) where isLineBreak(i) { lastLineBreak = i }
        if lastLineBreak >= 0 { return lastLineBreak + 1 - pos }
        if pos + spaces == end { return spaces }
        return spaces > 1 ? spaces - 1 : spaces
    }
}

/// The explicit character classes of DeepSeek LLM's pre-tokenizer regexes.
private enum DeepSeekClasses {
    // Written with escapes: the class lists compatibility characters (U+1F7D, U+2126, U+212A…) that
    // editors would normalize away.
    static let letters = CharacterClass(
        "A-Za-z\u{B5}\u{C0}-\u{D6}\u{D8}-\u{F6}\u{F8}-\u{1BA}\u{1BC}-\u{1BF}\u{1C4}-\u{293}\u{295}-" +
        "\u{2AF}\u{370}-\u{373}\u{376}\u{377}\u{37B}-\u{37D}\u{37F}\u{386}\u{388}-\u{38A}\u{38C}\u{38E}-" +
        "\u{3A1}\u{3A3}-\u{3F5}\u{3F7}-\u{481}\u{48A}-\u{52F}\u{531}-\u{556}\u{10A0}-\u{10C5}\u{13A0}-" +
        "\u{13F5}\u{13F8}-\u{13FD}\u{1C90}-\u{1CBA}\u{1CBD}-\u{1CBF}\u{1D00}-\u{1D2B}\u{1D6B}-\u{1D77}" +
        "\u{1D79}-\u{1D9A}\u{1E00}-\u{1F15}\u{1F18}-\u{1F1D}\u{1F20}-\u{1F45}\u{1F48}-\u{1F4D}\u{1F50}-" +
        "\u{1F57}\u{1F59}\u{1F5B}\u{1F5D}\u{1F5F}-\u{1F7D}\u{1F80}-\u{1FB4}\u{1FB6}-\u{1FBC}\u{1FBE}" +
        "\u{1FC2}-\u{1FC4}\u{1FC6}-\u{1FCC}\u{1FD0}-\u{1FD3}\u{1FD6}-\u{1FDB}\u{1FE0}-\u{1FEC}\u{1FF2}-" +
        "\u{1FF4}\u{1FF6}-\u{1FFC}\u{2102}\u{2107}\u{210A}-\u{2113}\u{2115}\u{2119}-\u{211D}\u{2124}" +
        "\u{2126}\u{2128}\u{212A}-\u{212D}\u{212F}-\u{2134}\u{2139}\u{213C}-\u{213F}\u{2145}-\u{2149}" +
        "\u{214E}\u{2183}\u{2184}\u{2C00}-\u{2C7B}\u{2C7E}-\u{2CE4}\u{2CEB}-\u{2CEE}\u{2CF2}\u{2CF3}" +
        "\u{A640}-\u{A66D}\u{A680}-\u{A69B}\u{A722}-\u{A76F}\u{A771}-\u{A787}\u{A78B}-\u{A78E}\u{AB70}-" +
        "\u{ABBF}\u{FB00}-\u{FB06}\u{FB13}-\u{FB17}\u{FF21}-\u{FF3A}\u{FF41}-\u{FF5A}\u{10400}-\u{1044F}" +
        "\u{104B0}-\u{104D3}\u{104D8}-\u{104FB}\u{10C80}-\u{10CB2}\u{10CC0}-\u{10CF2}\u{118A0}-\u{118DF}" +
        "\u{1E900}-\u{1E943}")
    static let punctuation = CharacterClass("!-/:-~\u{FF01}-\u{FF0F}\u{FF1A}-\u{FF5E}\u{2018}-\u{201F}\u{3000}-\u{3002}")
}

/// A set of code points written as a regex bracket body of single characters and `a-b` ranges.
private struct CharacterClass {
    var ranges: [ClosedRange<UInt32>] = []

    init(_ body: String) {
        let scalars = Array(body.unicodeScalars)
        var i = 0
        while i < scalars.count {
            let low = scalars[i].value
            if i + 2 < scalars.count, scalars[i + 1] == "-" {
                ranges.append(low...scalars[i + 2].value)
                i += 3
            } else {
                ranges.append(low...low)
                i += 1
            }
        }
    }

    func contains(_ x: UInt32) -> Bool { ranges.contains { $0.contains(x) } }
}
