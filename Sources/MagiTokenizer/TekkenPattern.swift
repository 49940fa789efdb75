/// Mistral's Tekken pre-tokenizer pattern, matched exactly as mistral-common's tiktoken does:
///
///     [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+
///     |[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*
///     |\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
///
/// (the `pattern` of every tekken.json mistral-common ships), with the leftmost-first alternation and
/// backtracking of Rust's `fancy-regex`. Every code point matches some branch, so consecutive matches
/// cover the text.
///
/// Unicode classes follow Unicode 16.0, the tables of the regex crate inside tiktoken 0.14 (checked:
/// it treats a Unicode 16.0 mark as `\p{M}` and a Unicode 17.0 mark as unassigned): code points
/// assigned later count as unassigned here too.
///
/// llama.cpp's `tekken` pre-tokenizer is an approximation of this pattern (every non-ASCII letter
/// counts as both upper- and lowercase, and marks are not letters); see ``PreTokenizer/Stage/tekkenLlamaCpp``.
enum TekkenPattern {
    /// The pattern as tekken.json's `config.pattern` spells it.
    static let source = #"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|"#
        + #"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|"#
        + #"\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// Class membership of one code point.
    struct Classes: OptionSet {
        let rawValue: UInt8

        /// `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]`
        static let upper = Classes(rawValue: 1 << 0)
        /// `[\p{Ll}\p{Lm}\p{Lo}\p{M}]`
        static let lower = Classes(rawValue: 1 << 1)
        /// `\p{L}`
        static let letter = Classes(rawValue: 1 << 2)
        /// `\p{N}`
        static let number = Classes(rawValue: 1 << 3)
        /// `\s` (Unicode `White_Space`)
        static let whitespace = Classes(rawValue: 1 << 4)
        /// `[\r\n]`
        static let lineBreak = Classes(rawValue: 1 << 5)
    }

    @inline(__always)
    static func classes(_ codepoint: UInt32) -> Classes {
        Classes(rawValue: codepoint < 0x10000 ? basicMultilingualPlane[Int(codepoint)] : compute(codepoint))
    }

    /// Precomputed classes of the Basic Multilingual Plane (64 KiB, built once).
    private static let basicMultilingualPlane: [UInt8] = (0..<0x10000).map { compute(UInt32($0)) }

    private static func compute(_ codepoint: UInt32) -> UInt8 {
        guard let scalar = Unicode.Scalar(codepoint) else { return 0 }
        if codepoint == 0x0A || codepoint == 0x0D { return Classes([.whitespace, .lineBreak]).rawValue }
        let properties = scalar.properties
        var classes: Classes = properties.isWhitespace ? .whitespace : []
        if let age = properties.age, (age.major, age.minor) > (16, 0) { return classes.rawValue }
        switch properties.generalCategory {
        case .uppercaseLetter, .titlecaseLetter: classes.formUnion([.letter, .upper])
        case .lowercaseLetter: classes.formUnion([.letter, .lower])
        case .modifierLetter, .otherLetter: classes.formUnion([.letter, .upper, .lower])
        case .nonspacingMark, .spacingMark, .enclosingMark: classes.formUnion([.upper, .lower])
        case .decimalNumber, .letterNumber, .otherNumber: classes.insert(.number)
        default: break
        }
        return classes.rawValue
    }

    /// The length of the pattern's match starting exactly at `pos` in `text[..<end]` (at least 1 when
    /// `pos < end`).
    static func matchLength(_ text: UnsafeBufferPointer<UInt32>, at pos: Int, end: Int) -> Int {
        @inline(__always) func has(_ i: Int, _ c: Classes) -> Bool { i < end && !classes(text[i]).isDisjoint(with: c) }
        func run(from i: Int, _ c: Classes) -> Int {
            var j = i
            while j < end && !classes(text[j]).isDisjoint(with: c) { j += 1 }
            return j - i
        }
        let first = classes(text[pos])
        // [^\r\n\p{L}\p{N}]? — tried with the optional character first, as the greedy `?` does.
        let canPrefix = first.isDisjoint(with: [.lineBreak, .letter, .number])
        let starts = stride(from: canPrefix ? pos + 1 : pos, through: pos, by: -1)
        // Branch 1: U* L+ (U* backtracks until L+ can match at least one character).
        for start in starts {
            let uppers = run(from: start, .upper)
            var k = uppers
            while k >= 0 {
                let lowers = run(from: start + k, .lower)
                if lowers > 0 { return start + k + lowers - pos }
                k -= 1
            }
        }
        // Branch 2: U+ L*.
        for start in starts {
            let uppers = run(from: start, .upper)
            if uppers > 0 { return start + uppers + run(from: start + uppers, .lower) - pos }
        }
        // \p{N}
        if first.contains(.number) { return 1 }
        // ' '?[^\s\p{L}\p{N}]+[\r\n/]*
        let isOther: (Int) -> Bool = { i in i < end && classes(text[i]).isDisjoint(with: [.whitespace, .letter, .number]) }
        for start in stride(from: text[pos] == 0x20 ? pos + 1 : pos, through: pos, by: -1) where isOther(start) {
            var j = start
            while isOther(j) { j += 1 }
            while j < end && (text[j] == 0x0D || text[j] == 0x0A || text[j] == 0x2F) { j += 1 }
            return j - pos
        }
        // \s*[\r\n]+ | \s+(?!\S) | \s+
        let spaces = run(from: pos, .whitespace)
        var lastLineBreak = -1
        for i in pos..<(pos + spaces) where has(i, .lineBreak) { lastLineBreak = i }
        if lastLineBreak >= 0 { return lastLineBreak + 1 - pos }
        if pos + spaces == end || spaces == 1 { return spaces }
        return spaces - 1
    }
}
