import MagiJSON
/// A JSON Schema `pattern` (an ECMA-262 regular expression) as a GBNF expression over the characters of
/// a JSON string body, escapes included.
///
/// Supports literals, `.`, classes `[…]` / `[^…]` with ranges and `\d \w \s`, the escapes `\d \w \s \D \W
/// \S` and escaped punctuation, groups `( )` / `(?: )`, `|`, the quantifiers `* + ? {m} {m,} {m,n}`
/// (lazy forms too: they match the same strings), and `^` / `$` at the ends; a pattern without `^` or
/// `$` may have any text before or after its match, as JSON Schema says. Negated classes never match an
/// escape sequence (stricter than the schema, never looser). Anything else is refused.
struct JSONSchemaPattern {
    private(set) var gbnf: String
    private let scalars: [Unicode.Scalar]
    private var pos = 0
    private let path: String

    init(_ pattern: String, path: String) throws {
        scalars = Array(pattern.unicodeScalars)
        self.path = path
        gbnf = ""
        var parser = self
        var end = scalars.count
        let anchoredStart = scalars.first == "^"
        if anchoredStart { parser.pos = 1 }
        let anchoredEnd = end > parser.pos && scalars[end - 1] == "$" && (end < 2 || scalars[end - 2] != "\\")
        if anchoredEnd { end -= 1 }
        let body = try parser.alternation(until: end)
        guard parser.pos == end else { throw parser.error("unexpected '\(scalars[parser.pos])'") }
        gbnf = (anchoredStart ? "" : "char* ") + "(" + body + ")" + (anchoredEnd ? "" : " char*")
    }

    private func error(_ message: String) -> JSONSchemaError {
        .invalidValue(keyword: "pattern", path: path, message: message + " (at character \(pos + 1))")
    }

    private var peek: Unicode.Scalar? { pos < scalars.count ? scalars[pos] : nil }

    private mutating func alternation(until end: Int) throws -> String {
        var choices = [try sequence(until: end)]
        while pos < end && scalars[pos] == "|" {
            pos += 1
            choices.append(try sequence(until: end))
        }
        return choices.joined(separator: " | ")
    }

    private mutating func sequence(until end: Int) throws -> String {
        var items: [String] = []
        while pos < end, scalars[pos] != "|", scalars[pos] != ")" {
            var atom = try self.atom()
            if pos < end, let quantifier = try quantifier() {
                atom = "(" + atom + ")" + quantifier
            }
            items.append(atom)
        }
        return items.isEmpty ? "\"\"" : items.joined(separator: " ")
    }

    private mutating func quantifier() throws -> String? {
        guard let c = peek else { return nil }
        var q: String
        switch c {
        case "*", "+", "?":
            pos += 1
            q = String(c)
        case "{":
            let start = pos
            pos += 1
            var text = ""
            while let d = peek, d != "}" { text.unicodeScalars.append(d); pos += 1 }
            let parts = text.split(separator: ",", omittingEmptySubsequences: false)
            guard peek == "}", (1...2).contains(parts.count), let m = Int(parts[0]),
                  parts.count == 1 || parts[1].isEmpty || Int(parts[1]).map({ $0 >= m }) == true else {
                pos = start
                throw error("malformed repetition")
            }
            pos += 1
            q = "{" + text + "}"
        default:
            return nil
        }
        if peek == "?" { pos += 1 } // lazy: the same strings
        if peek == "+" { throw error("possessive quantifiers are not supported") }
        return q
    }

    private mutating func atom() throws -> String {
        let c = scalars[pos]
        pos += 1
        switch c {
        case "(":
            if peek == "?" {
                guard pos + 1 < scalars.count, scalars[pos + 1] == ":" else { throw error("lookarounds and named groups are not supported") }
                pos += 2
            }
            let inner = try alternation(until: scalars.count)
            guard peek == ")" else { throw error("missing ')'") }
            pos += 1
            return "(" + inner + ")"
        case "[":
            return try characterClass()
        case ".":
            return "char"
        case "\\":
            guard let e = peek else { throw error("pattern ends with '\\'") }
            pos += 1
            switch e {
            case "d": return "[0-9]"
            case "w": return "[a-zA-Z0-9_]"
            case "s": return Self.whitespace
            case "D": return Self.negatedClass("0-9")
            case "W": return Self.negatedClass("a-zA-Z0-9_")
            case "S": return Self.negatedClass(" ")
            case "t": return Self.literal("\t")
            case "n": return Self.literal("\n")
            case "r": return Self.literal("\r")
            default:
                guard !e.properties.isAlphabetic, !("0"..."9").contains(e) else { throw error("escape '\\\(e)' is not supported") }
                return Self.literal(Character(e))
            }
        case "*", "+", "?", "{":
            pos -= 1
            throw error("'\(c)' has nothing to repeat")
        case "^", "$":
            pos -= 1
            throw error("anchors inside the pattern are not supported")
        default:
            return Self.literal(Character(c))
        }
    }

    private mutating func characterClass() throws -> String {
        let negated = peek == "^"
        if negated { pos += 1 }
        var ranges: [ClosedRange<UInt32>] = []
        var whitespace = false
        var first = true
        while let c = peek, c != "]" || first {
            first = false
            pos += 1
            var low = c.value
            if c == "\\" {
                guard let e = peek else { break }
                pos += 1
                switch e {
                case "d": ranges.append(0x30...0x39); continue
                case "w": ranges += [0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x5F...0x5F]; continue
                case "s": whitespace = true; ranges.append(0x20...0x20); continue
                case "t": low = 9
                case "n": low = 10
                case "r": low = 13
                default:
                    guard !e.properties.isAlphabetic, !("0"..."9").contains(e) else { throw error("escape '\\\(e)' in a class is not supported") }
                    low = e.value
                }
            }
            if peek == "-", pos + 1 < scalars.count, scalars[pos + 1] != "]" {
                pos += 1
                guard let h = peek, h != "\\" else { throw error("escaped range ends are not supported") }
                pos += 1
                guard h.value >= low else { throw error("reversed range in a class") }
                ranges.append(low...h.value)
            } else {
                ranges.append(low...low)
            }
        }
        guard peek == "]" else { throw error("missing ']'") }
        pos += 1
        let items = ranges.map { Self.classItem($0) }.joined()
        if negated {
            if whitespace { throw error("'\\s' in a negated class is not supported") }
            return Self.negatedClass(items)
        }
        // Characters a JSON string must escape appear as their escape sequences.
        var choices: [String] = []
        let plain = ranges.flatMap { Self.subtract([0...0x1F, 0x22...0x22, 0x5C...0x5C, 0x7F...0x7F], from: $0) }
        if !plain.isEmpty { choices.append("[" + plain.map { Self.classItem($0) }.joined() + "]") }
        if ranges.contains(where: { $0.contains(0x22) }) { choices.append(Self.literal("\"")) }
        if ranges.contains(where: { $0.contains(0x5C) }) { choices.append(Self.literal("\\")) }
        for (code, escape) in [(UInt32(9), "\t"), (10, "\n"), (13, "\r")] where ranges.contains(where: { $0.contains(code) }) {
            choices.append(Self.literal(Character(escape)))
        }
        if whitespace { choices.append(Self.whitespace) }
        guard !choices.isEmpty else { throw error("the class matches no character") }
        return "(" + choices.joined(separator: " | ") + ")"
    }

    private static func subtract(_ removed: [ClosedRange<UInt32>], from range: ClosedRange<UInt32>) -> [ClosedRange<UInt32>] {
        var pieces = [range]
        for r in removed {
            pieces = pieces.flatMap { p -> [ClosedRange<UInt32>] in
                guard p.overlaps(r) else { return [p] }
                var out: [ClosedRange<UInt32>] = []
                if p.lowerBound < r.lowerBound { out.append(p.lowerBound...(r.lowerBound - 1)) }
                if p.upperBound > r.upperBound { out.append((r.upperBound + 1)...p.upperBound) }
                return out
            }
        }
        return pieces
    }

    /// Whitespace as it appears in a JSON string body: a space or an escaped tab, line feed or return.
    private static let whitespace = #"(" " | "\\" [tnr])"#

    /// A negated class that also excludes what a JSON string must escape.
    private static func negatedClass(_ items: String) -> String { #"[^"# + items + #"\"\\\x00-\x1F\x7F]"# }

    /// A class member (or range) in GBNF, hex-escaped unless alphanumeric.
    private static func classItem(_ r: ClosedRange<UInt32>) -> String {
        func one(_ v: UInt32) -> String {
            if let s = Unicode.Scalar(v), s.isASCII, s.properties.isAlphabetic || ("0"..."9").contains(s) { return String(s) }
            return v <= 0xFF ? "\\x" + hex(v, 2) : v <= 0xFFFF ? "\\u" + hex(v, 4) : "\\U" + hex(v, 8)
        }
        return r.lowerBound == r.upperBound ? one(r.lowerBound) : one(r.lowerBound) + "-" + one(r.upperBound)
    }

    private static func hex(_ v: UInt32, _ width: Int) -> String {
        let digits = String(v, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// The GBNF literal of one character as it is written inside a JSON string.
    private static func literal(_ c: Character) -> String {
        JSONSchemaGrammar.literal(String(JSONValue.quoted(String(c)).dropFirst().dropLast()))
    }
}
