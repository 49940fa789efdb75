/// Reads llama.cpp's GBNF grammar format as llama.cpp does (`grammar-parser` in `llama-grammar.cpp`):
/// `name ::= body` rules; alternatives `|`; groups `( )`; postfix `*`, `+`, `?`, `{m}`, `{m,}`, `{m,n}`;
/// string literals and character classes with `\x`, `\u`, `\U`, `\t`, `\r`, `\n`, `\\`, `\"`, `\[`, `\]`
/// escapes; negated classes `[^…]`; `.` for any character; `#` comments. A rule ends at a line break
/// unless the break is inside parentheses or follows `|`.
struct GBNFParser {
    private let text: [UInt8]
    private var pos = 0
    /// Where each referenced name was first used, to report undefined rules.
    private var references: [(name: String, at: Int)] = []
    /// Groups open around the current position, at most ``GrammarError/maxDepth``.
    private var depth = 0
    /// Groups and repetitions nested in the expression last parsed (`("a"*)?` has 3); at most
    /// ``GrammarError/maxDepth``, so compiling the expression cannot recurse without bound.
    private var levels = 0

    init(_ text: String) { self.text = Array(text.utf8) }

    /// Parses the whole text.
    ///
    /// - Throws: ``GrammarError`` naming the line and column of the first problem.
    mutating func parse() throws -> GrammarDefinition {
        var rules: [GrammarDefinition.Rule] = []
        var defined: Set<String> = []
        skipSpace(newlines: true)
        while pos < text.count {
            let start = pos
            let name = try parseName()
            if !defined.insert(name).inserted {
                let (line, column) = location(of: start)
                throw GrammarError.duplicateRule(name: name, line: line, column: column)
            }
            skipSpace(newlines: false)
            guard match("::=") else { throw error("expected '::=' after rule name '\(name)'") }
            skipSpace(newlines: true)
            let body = try parseAlternatives(nested: false)
            if peek == UInt8(ascii: "\r") { pos += 1 }
            if peek == UInt8(ascii: "\n") {
                pos += 1
            } else if pos < text.count {
                throw error("expected end of line, found '\(currentCharacter)'")
            }
            rules.append(.init(name: name, body: body))
            skipSpace(newlines: true)
        }
        for reference in references where !defined.contains(reference.name) {
            let (line, column) = location(of: reference.at)
            throw GrammarError.undefinedRule(name: reference.name, line: line, column: column)
        }
        return GrammarDefinition(rules: rules)
    }

    // MARK: - Rules

    private mutating func parseAlternatives(nested: Bool) throws -> GrammarExpression {
        var choices = [try parseSequence(nested: nested)]
        var deepest = levels
        while peek == UInt8(ascii: "|") {
            pos += 1
            skipSpace(newlines: true)
            choices.append(try parseSequence(nested: nested))
            deepest = max(deepest, levels)
        }
        levels = deepest
        return choices.count == 1 ? choices[0] : .alternatives(choices)
    }

    /// Records one more level around an item that has `inner` levels, refusing one past the limit.
    private func level(around inner: Int) throws -> Int {
        guard inner < GrammarError.maxDepth else {
            let (line, column) = location(of: pos)
            throw GrammarError.tooDeep(limit: GrammarError.maxDepth, line: line, column: column)
        }
        return inner + 1
    }

    private mutating func parseSequence(nested: Bool) throws -> GrammarExpression {
        var items: [GrammarExpression] = []
        // The levels of each item.
        var itemLevels: [Int] = []
        defer { levels = itemLevels.max() ?? 0 }
        while let c = peek {
            switch c {
            case UInt8(ascii: "\""):
                pos += 1
                var codePoints: [UInt32] = []
                while peek != UInt8(ascii: "\"") {
                    guard pos < text.count else { throw error("unterminated string literal") }
                    codePoints.append(try parseCharacter())
                }
                pos += 1
                items.append(.literal(codePoints))
            case UInt8(ascii: "["):
                pos += 1
                let negated = peek == UInt8(ascii: "^")
                if negated { pos += 1 }
                var ranges: [ClosedRange<UInt32>] = []
                while peek != UInt8(ascii: "]") {
                    guard pos < text.count else { throw error("unterminated character class") }
                    let low = try parseCharacter()
                    var high = low
                    if peek == UInt8(ascii: "-"), pos + 1 < text.count, text[pos + 1] != UInt8(ascii: "]") {
                        pos += 1
                        high = try parseCharacter()
                    }
                    guard low <= high else { throw error("character range is reversed") }
                    ranges.append(low...high)
                }
                pos += 1
                items.append(.characterClass(ranges, negated: negated))
            case UInt8(ascii: "("):
                guard depth < GrammarError.maxDepth else {
                    let (line, column) = location(of: pos)
                    throw GrammarError.tooDeep(limit: GrammarError.maxDepth, line: line, column: column)
                }
                pos += 1
                skipSpace(newlines: true)
                depth += 1
                let inner = try parseAlternatives(nested: true)
                depth -= 1
                itemLevels.append(try level(around: levels))
                guard peek == UInt8(ascii: ")") else { throw error("expected ')'") }
                pos += 1
                items.append(inner)
            case UInt8(ascii: "."):
                pos += 1
                items.append(.anyCharacter)
            case UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "?"):
                guard let last = items.popLast() else { throw error("'\(currentCharacter)' has nothing before it to repeat") }
                itemLevels.append(try level(around: itemLevels.removeLast()))
                pos += 1
                let (min, max): (Int, Int?) = c == UInt8(ascii: "*") ? (0, nil) : c == UInt8(ascii: "+") ? (1, nil) : (0, 1)
                items.append(.repetition(last, min: min, max: max))
            case UInt8(ascii: "{"):
                guard let last = items.popLast() else { throw error("'{' has nothing before it to repeat") }
                itemLevels.append(try level(around: itemLevels.removeLast()))
                pos += 1
                skipSpace(newlines: nested)
                let min = try parseInteger()
                skipSpace(newlines: nested)
                var max: Int? = min
                if peek == UInt8(ascii: ",") {
                    pos += 1
                    skipSpace(newlines: nested)
                    if let d = peek, Self.isDigit(d) { max = try parseInteger() } else { max = nil }
                    skipSpace(newlines: nested)
                }
                guard peek == UInt8(ascii: "}") else { throw error("expected '}' to close the repetition") }
                if let max, max < min { throw error("repetition maximum \(max) is below its minimum \(min)") }
                pos += 1
                items.append(.repetition(last, min: min, max: max))
            case UInt8(ascii: "<"):
                guard pos + 1 < text.count, text[pos + 1] == UInt8(ascii: "[") else {
                    throw error("tokens are referenced by id ('<[id]>'), not by text")
                }
                pos += 2
                let id = try parseInteger()
                guard match("]>") else { throw error("expected ']>' to close the token reference") }
                items.append(.token(Int32(id)))
            default:
                guard Self.isNameCharacter(c) else { return .sequence(items) }
                let at = pos
                let name = try parseName()
                references.append((name, at))
                items.append(.reference(name))
            }
            while itemLevels.count < items.count { itemLevels.append(0) }
            skipSpace(newlines: nested)
        }
        return .sequence(items)
    }

    // MARK: - Lexemes

    private mutating func parseName() throws -> String {
        let start = pos
        while let c = peek, Self.isNameCharacter(c) { pos += 1 }
        guard pos > start else { throw error("expected a rule name, found '\(currentCharacter)'") }
        return String(decoding: text[start..<pos], as: UTF8.self)
    }

    private mutating func parseInteger() throws -> Int {
        let start = pos
        var value = 0
        while let c = peek, Self.isDigit(c) {
            value = value * 10 + Int(c - UInt8(ascii: "0"))
            guard value <= 1_000_000 else { throw error("repetition count is too large") }
            pos += 1
        }
        guard pos > start else { throw error("expected a number") }
        return value
    }

    /// One character of a literal or class: an escape or one UTF-8 encoded code point.
    private mutating func parseCharacter() throws -> UInt32 {
        let c = text[pos]
        if c == UInt8(ascii: "\\") {
            guard pos + 1 < text.count else { throw error("unterminated escape") }
            let e = text[pos + 1]
            pos += 2
            switch e {
            case UInt8(ascii: "x"): return try parseHex(digits: 2)
            case UInt8(ascii: "u"): return try parseHex(digits: 4)
            case UInt8(ascii: "U"): return try parseHex(digits: 8)
            case UInt8(ascii: "t"): return 9
            case UInt8(ascii: "r"): return 13
            case UInt8(ascii: "n"): return 10
            case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "["), UInt8(ascii: "]"): return UInt32(e)
            default:
                pos -= 1
                throw error("unknown escape '\\\(currentCharacter)'")
            }
        }
        let length = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0
        guard length > 0, pos + length <= text.count else { throw error("invalid UTF-8") }
        var value = length == 1 ? UInt32(c) : UInt32(c) & (0xFF >> (length + 1))
        for k in 1..<length {
            let next = text[pos + k]
            guard next & 0xC0 == 0x80 else { throw error("invalid UTF-8") }
            value = value << 6 | UInt32(next & 0x3F)
        }
        pos += length
        return value
    }

    private mutating func parseHex(digits: Int) throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<digits {
            guard let c = peek, let digit = Self.hexValue(c) else { throw error("expected \(digits) hexadecimal digits") }
            value = value << 4 | digit
            pos += 1
        }
        guard value <= 0x10FFFF else { throw error("code point \(value) is beyond U+10FFFF") }
        return value
    }

    /// Skips blanks and `#` comments, and line breaks when `newlines`.
    private mutating func skipSpace(newlines: Bool) {
        while let c = peek {
            if c == UInt8(ascii: "#") {
                while let d = peek, d != UInt8(ascii: "\n"), d != UInt8(ascii: "\r") { pos += 1 }
            } else if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t")
                        || (newlines && (c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r"))) {
                pos += 1
            } else {
                return
            }
        }
    }

    // MARK: - Helpers

    private var peek: UInt8? { pos < text.count ? text[pos] : nil }

    private mutating func match(_ s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        guard pos + n <= text.count else { return false }
        for k in 0..<n where text[pos + k] != s.utf8Start[k] { return false }
        pos += n
        return true
    }

    private var currentCharacter: String {
        guard pos < text.count else { return "end of input" }
        var end = pos + 1
        while end < text.count && text[end] & 0xC0 == 0x80 { end += 1 }
        return String(decoding: text[pos..<end], as: UTF8.self)
    }

    /// 1-based line and column (in characters) of a byte offset.
    private func location(of offset: Int) -> (Int, Int) {
        var line = 1, column = 1
        for k in 0..<min(offset, text.count) {
            if text[k] == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if text[k] & 0xC0 != 0x80 {
                column += 1
            }
        }
        return (line, column)
    }

    private func error(_ message: String) -> GrammarError {
        let (line, column) = location(of: pos)
        return .syntax(line: line, column: column, message: message)
    }

    private static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

    private static func isNameCharacter(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
            || isDigit(c) || c == UInt8(ascii: "-") || c == UInt8(ascii: "_")
    }

    private static func hexValue(_ c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(c - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(c - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(c - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }
}
