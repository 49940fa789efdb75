// magi's own TOML 1.0 parser, kept instead of TOMLKit 0.6.0: that library gives no source line for
// keys or values (so `config.toml:3: sampling.temperature must be …` cannot be written), returns
// keys sorted rather than in document order, truncates strings and keys at an escaped NUL, and ends
// the document at a raw NUL byte. The measurements, with how they were taken: docs/toml.md.

import Foundation
import MagiJSON

/// Why a TOML document is invalid, as one line: `config.toml:LINE:COLUMN: what is wrong`.
struct TOMLError: Error, Equatable, CustomStringConvertible {
    /// The file named in the message.
    let file: String
    /// 1-based; the column counts Unicode scalars.
    let line: Int
    let column: Int
    let reason: String
    var description: String { "\(file):\(line):\(column): \(reason)" }
}

/// A parsed TOML document.
///
/// Tables are ``JSONValue/object(_:)`` with keys in document order, arrays of tables are arrays of
/// objects. Integers are ``JSONValue/number(_:)`` in decimal (`0xff` → `255`); floats are numbers whose
/// text is Swift's shortest round-trip form and always holds `.`, `e`, `inf` or `nan` (`1E3` → `1000.0`),
/// so the two kinds stay apart. Offset and local date-times, local dates and local times are strings,
/// as written, and their keys are in ``dateTimes``.
struct TOMLDocument: Sendable {
    /// The root table.
    let value: JSONValue
    /// The line of each key's definition and of each table header, by key path; the tables of an
    /// array of tables are named by their index (`["servers", "0", "name"]`).
    let lines: [[String]: Int]
    /// The key paths whose values are dates or times.
    let dateTimes: Set<[String]>
}

/// A TOML 1.0 parser (https://toml.io/en/v1.0.0): it accepts what the specification allows and
/// rejects the rest with a ``TOMLError``.
enum TOMLParser {
    /// The deepest a key may lie: the parts of its table's header, its dotted key, and the arrays and
    /// inline tables around it, together.
    static let maxDepth = 100

    /// Parses UTF-8 `data`; `file` names the document in errors.
    static func parse(_ data: Data, file: String = "config.toml") throws -> TOMLDocument {
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(data.count)
        var decoder = UTF8()
        var bytes = data.makeIterator()
        decoding: while true {
            switch decoder.decode(&bytes) {
            case .scalarValue(let scalar): scalars.append(scalar)
            case .emptyInput: break decoding
            case .error:
                let parser = Parser(scalars, file: file)
                throw parser.error("the file is not valid UTF-8", at: scalars.count)
            }
        }
        var parser = Parser(scalars, file: file)
        return try parser.document()
    }

    /// Parses `text`; `file` names the document in errors.
    static func parse(_ text: String, file: String = "config.toml") throws -> TOMLDocument {
        var parser = Parser(Array(text.unicodeScalars), file: file)
        return try parser.document()
    }
}

/// A table while the document is read: how it came to be decides what may still extend it.
private final class Table {
    enum Origin {
        /// Made on the way to a deeper header (`a` of `[a.b]`): a header may still define it.
        case implicit
        /// Defined by its own header, or as an element of an array of tables.
        case header
        /// Made by dotted keys (`a.b = 1`): no header may define it.
        case dotted
    }

    enum Entry {
        /// A value; inline tables and arrays are complete and never extended.
        case value(JSONValue)
        case table(Table)
        case tables(TableArray)
    }

    /// An array of tables, shared by reference so each `[[key]]` appends in place: a copy of the
    /// array held while appending would copy every element, making n headers cost n².
    final class TableArray {
        private(set) var elements: [Table]
        init(_ first: Table) { elements = [first] }
        func append(_ element: Table) { elements.append(element) }
    }

    var origin: Origin
    private(set) var keys: [String] = []
    private(set) var entries: [String: Entry] = [:]

    init(_ origin: Origin) { self.origin = origin }

    subscript(key: String) -> Entry? {
        get { entries[key] }
        set {
            if entries[key] == nil { keys.append(key) }
            entries[key] = newValue
        }
    }

    var json: JSONValue {
        .object(keys.map { key in
            switch entries[key]! {
            case .value(let value): return (key, value)
            case .table(let table): return (key, table.json)
            case .tables(let tables): return (key, .array(tables.elements.map(\.json)))
            }
        })
    }
}

private struct Parser {
    private let s: [Unicode.Scalar]
    private let file: String
    private var i = 0
    private var lines: [[String]: Int] = [:]
    private var dateTimes: Set<[String]> = []
    /// Where each line starts, for turning positions into line numbers.
    private let lineStarts: [Int]

    init(_ scalars: [Unicode.Scalar], file: String) {
        // CRLF is a newline like LF; a lone CR stays and is rejected where it appears.
        var normalized: [Unicode.Scalar] = []
        normalized.reserveCapacity(scalars.count)
        for (k, c) in scalars.enumerated() where !(c == "\r" && k + 1 < scalars.count && scalars[k + 1] == "\n") {
            normalized.append(c)
        }
        s = normalized
        self.file = file
        lineStarts = [0] + normalized.indices.filter { normalized[$0] == "\n" }.map { $0 + 1 }
    }

    // MARK: Errors and positions

    func error(_ reason: String, at position: Int? = nil) -> TOMLError {
        let end = min(position ?? i, s.count)
        let line = lineNumber(of: end)
        return TOMLError(file: file, line: line, column: end - lineStarts[line - 1] + 1, reason: reason)
    }

    /// The 1-based line of a position, by binary search.
    private func lineNumber(of position: Int) -> Int {
        var low = 0, high = lineStarts.count
        while high - low > 1 {
            let middle = (low + high) / 2
            if lineStarts[middle] <= position { low = middle } else { high = middle }
        }
        return low + 1
    }

    private var line: Int { lineNumber(of: i) }

    /// The error for a key nested past ``TOMLParser/maxDepth``.
    private func tooDeep(at position: Int? = nil) -> TOMLError {
        error("keys, tables and arrays nest deeper than \(TOMLParser.maxDepth) levels", at: position)
    }

    private var current: Unicode.Scalar? { i < s.count ? s[i] : nil }

    private func starts(with text: String, at position: Int? = nil) -> Bool {
        var k = position ?? i
        for c in text.unicodeScalars {
            guard k < s.count, s[k] == c else { return false }
            k += 1
        }
        return true
    }

    /// What stands at the current position, for messages.
    private var found: String {
        guard let c = current else { return "the end of the file" }
        switch c {
        case "\n": return "the end of the line"
        case "\r": return "a carriage return without a line feed"
        default: return c.value < 0x20 || c.value == 0x7F ? "control character U+\(hex(c.value, 4))" : "'\(c)'"
        }
    }

    // MARK: White space and comments

    private mutating func skipSpaces() {
        while let c = current, c == " " || c == "\t" { i += 1 }
    }

    /// Skips a comment if one starts here, checking it holds no control characters.
    private mutating func skipComment() throws {
        guard current == "#" else { return }
        i += 1
        while let c = current, c != "\n" {
            if isControl(c) && c != "\t" { throw error("control character U+\(hex(c.value, 4)) in a comment") }
            i += 1
        }
    }

    /// Skips spaces, newlines and comments (between the elements of an array).
    private mutating func skipBlank() throws {
        while true {
            skipSpaces()
            if current == "\n" { i += 1 } else if current == "#" { try skipComment() } else { return }
        }
    }

    /// After a statement: spaces, a comment, then the end of the line or of the file.
    private mutating func endOfLine(after what: String) throws {
        skipSpaces()
        try skipComment()
        guard let c = current else { return }
        guard c == "\n" else { throw error("expected the end of the line after \(what), found \(found)") }
        i += 1
    }

    // MARK: Document

    mutating func document() throws -> TOMLDocument {
        let root = Table(.header)
        var table = root
        var path: [String] = []
        while true {
            skipSpaces()
            guard let c = current else { break }
            if c == "\n" || c == "#" {
                try endOfLine(after: "a comment")
            } else if c == "[" {
                (table, path) = try header(root: root)
            } else if isBareKey(c) || c == "\"" || c == "'" {
                let keyLine = line, start = i
                let key = try dottedKey()
                try expectEquals(after: key)
                let value = try self.value(at: path + key)
                try insert(value, at: key, in: table, path: path, line: keyLine, position: start)
                try endOfLine(after: "the value of \(describe(key))")
            } else {
                throw error("expected a key, a [table] or a comment, found \(found)")
            }
        }
        return TOMLDocument(value: root.json, lines: lines, dateTimes: dateTimes)
    }

    /// `[a.b]` or `[[a.b]]`: the table that the following keys go into, and its path.
    private mutating func header(root: Table) throws -> (Table, [String]) {
        let start = i
        let headerLine = line
        let isArray = starts(with: "[[")
        i += isArray ? 2 : 1
        skipSpaces()
        let key = try dottedKey()
        skipSpaces()
        guard starts(with: isArray ? "]]" : "]") else {
            throw error(isArray ? "expected ']]' to close the array of tables header, found \(found)" : "expected ']' to close the table header, found \(found)")
        }
        i += isArray ? 2 : 1
        let name = isArray ? "[[\(describe(key))]]" : "[\(describe(key))]"

        var table = root
        var path: [String] = []
        for (n, part) in key.enumerated() {
            let isLast = n == key.count - 1
            guard path.count < TOMLParser.maxDepth else { throw tooDeep(at: start) }
            path.append(part)
            switch table[part] {
            case nil:
                if isLast && isArray {
                    let element = Table(.header)
                    table[part] = .tables(Table.TableArray(element))
                    path.append("0")
                    table = element
                } else {
                    let next = Table(isLast ? .header : .implicit)
                    table[part] = .table(next)
                    table = next
                }
            case .table(let next)?:
                if isLast {
                    if isArray { throw error("\(name): \(describe(path)) is already a table, not an array of tables", at: start) }
                    switch next.origin {
                    case .implicit: next.origin = .header
                    case .header: throw error("table \(name) is defined twice (first on line \(lines[path] ?? 0))", at: start)
                    case .dotted: throw error("table \(name) was already made by dotted keys", at: start)
                    }
                }
                table = next
            case .tables(let array)?:
                if isLast {
                    guard isArray else { throw error("\(name): \(describe(path)) is an array of tables; its elements are [[\(describe(path))]]", at: start) }
                    let element = Table(.header)
                    array.append(element)
                    table = element
                } else {
                    table = array.elements[array.elements.count - 1]
                }
                path.append(String(array.elements.count - 1))
            case .value(let value)?:
                throw error("\(name): \(describe(path)) is \(value.fixedKind)", at: start)
            }
        }
        lines[path] = headerLine
        try endOfLine(after: "the header \(name)")
        return (table, path)
    }

    /// Sets `key` (relative to `table`, which is at `path`) to `value`, making the tables its dots name.
    private mutating func insert(_ value: JSONValue, at key: [String], in table: Table, path: [String], line keyLine: Int, position: Int) throws {
        var table = table
        var full = path
        for part in key.dropLast() {
            full.append(part)
            switch table[part] {
            case nil:
                let next = Table(.dotted)
                table[part] = .table(next)
                lines[full] = keyLine
                table = next
            case .table(let next)?:
                switch next.origin {
                case .implicit: next.origin = .dotted
                case .dotted: break
                case .header: throw error("\(describe(full)) is a table defined by its header; dotted keys cannot add to it", at: position)
                }
                table = next
            case .tables?:
                throw error("\(describe(full)) is an array of tables; dotted keys cannot add to it", at: position)
            case .value(let existing)?:
                throw error("\(describe(full)) is \(existing.fixedKind)", at: position)
            }
        }
        full.append(key[key.count - 1])
        guard table[key[key.count - 1]] == nil else {
            throw error("\(describe(full)) is defined twice (first on line \(lines[full] ?? 0))", at: position)
        }
        table[key[key.count - 1]] = .value(value)
        lines[full] = keyLine
    }

    private mutating func expectEquals(after key: [String]) throws {
        skipSpaces()
        guard current == "=" else { throw error("expected '=' after the key \(describe(key)), found \(found)") }
        i += 1
        skipSpaces()
    }

    // MARK: Keys

    private mutating func dottedKey() throws -> [String] {
        var parts = [try simpleKey()]
        while true {
            let save = i
            skipSpaces()
            guard current == "." else {
                i = save
                return parts
            }
            guard parts.count < TOMLParser.maxDepth else { throw tooDeep() }
            i += 1
            skipSpaces()
            parts.append(try simpleKey())
        }
    }

    private mutating func simpleKey() throws -> String {
        switch current {
        case "\""?:
            if starts(with: "\"\"\"") { throw error("a key cannot be a multi-line string") }
            return try basicString()
        case "'"?:
            if starts(with: "'''") { throw error("a key cannot be a multi-line string") }
            return try literalString()
        default:
            let start = i
            while let c = current, isBareKey(c) { i += 1 }
            guard i > start else { throw error("expected a key, found \(found)") }
            return String(String.UnicodeScalarView(s[start..<i]))
        }
    }

    // MARK: Values

    private mutating func value(at path: [String]) throws -> JSONValue {
        guard path.count <= TOMLParser.maxDepth else { throw tooDeep() }
        guard let c = current else { throw error("expected a value, found the end of the file") }
        switch c {
        case "\"":
            return .string(starts(with: "\"\"\"") ? try multilineString(literal: false) : try basicString())
        case "'":
            return .string(starts(with: "'''") ? try multilineString(literal: true) : try literalString())
        case "[":
            return try array(at: path)
        case "{":
            return try inlineTable(at: path)
        case "t", "f":
            let start = i
            while let c = current, isBareKey(c) { i += 1 }
            switch String(String.UnicodeScalarView(s[start..<i])) {
            case "true": return .bool(true)
            case "false": return .bool(false)
            case let word: throw error("invalid value '\(word)' (a string needs quotes)", at: start)
            }
        case "0"..."9" where isDigits(i, 4) && starts(with: "-", at: i + 4), "0"..."9" where isDigits(i, 2) && starts(with: ":", at: i + 2):
            dateTimes.insert(path)
            return .string(try dateTime())
        case "0"..."9", "+", "-", "i", "n":
            return .number(try number())
        case "\n":
            throw error("expected a value, found the end of the line")
        default:
            if c.properties.isAlphabetic {
                let start = i
                while let c = current, isBareKey(c) { i += 1 }
                throw error("invalid value '\(String(String.UnicodeScalarView(s[start..<max(i, start + 1)])))' (a string needs quotes)", at: start)
            }
            throw error("expected a value, found \(found)")
        }
    }

    private mutating func array(at path: [String]) throws -> JSONValue {
        i += 1
        var items: [JSONValue] = []
        while true {
            try skipBlank()
            if current == "]" {
                i += 1
                return .array(items)
            }
            items.append(try value(at: path + [String(items.count)]))
            try skipBlank()
            switch current {
            case ","?: i += 1
            case "]"?: i += 1; return .array(items)
            default: throw error("expected ',' or ']' in the array, found \(found)")
            }
        }
    }

    private mutating func inlineTable(at path: [String]) throws -> JSONValue {
        i += 1
        let table = Table(.header)
        skipSpaces()
        if current == "}" {
            i += 1
            return table.json
        }
        while true {
            skipSpaces()
            if current == "}" { throw error("an inline table cannot end with a comma") }
            if current == "\n" { throw error("an inline table must be on one line") }
            let keyLine = line, start = i
            let key = try dottedKey()
            try expectEquals(after: key)
            let value = try self.value(at: path + key)
            try insert(value, at: key, in: table, path: path, line: keyLine, position: start)
            skipSpaces()
            switch current {
            case ","?: i += 1
            case "}"?: i += 1; return table.json
            case "\n"?: throw error("an inline table must be on one line")
            default: throw error("expected ',' or '}' in the inline table, found \(found)")
            }
        }
    }

    // MARK: Strings

    private mutating func basicString() throws -> String {
        let start = i
        i += 1
        var out = String.UnicodeScalarView()
        while true {
            guard let c = current, c != "\n" else { throw error("the string has no closing quote", at: start) }
            if c == "\"" {
                i += 1
                return String(out)
            }
            if c == "\\" {
                if let scalar = try escape(multiline: false) { out.append(scalar) }
                continue
            }
            if isControl(c) && c != "\t" { throw error("control character U+\(hex(c.value, 4)) in a string must be escaped") }
            out.append(c)
            i += 1
        }
    }

    private mutating func literalString() throws -> String {
        let start = i
        i += 1
        var out = String.UnicodeScalarView()
        while true {
            guard let c = current, c != "\n" else { throw error("the string has no closing quote", at: start) }
            if c == "'" {
                i += 1
                return String(out)
            }
            if isControl(c) && c != "\t" { throw error("control character U+\(hex(c.value, 4)) in a literal string") }
            out.append(c)
            i += 1
        }
    }

    /// `"""…"""` or `'''…'''`: a newline right after the opening quotes is dropped; up to two
    /// quotes may stand before the closing three.
    private mutating func multilineString(literal: Bool) throws -> String {
        let start = i
        let quote: Unicode.Scalar = literal ? "'" : "\""
        i += 3
        if current == "\n" { i += 1 }
        var out = String.UnicodeScalarView()
        while true {
            guard let c = current else { throw error("the multi-line string has no closing quotes", at: start) }
            if c == quote {
                var run = 0
                while i + run < s.count && s[i + run] == quote { run += 1 }
                if run >= 3 {
                    guard run <= 5 else { throw error("too many quotes at the end of a multi-line string", at: i + 5) }
                    for _ in 0..<(run - 3) { out.append(quote) }
                    i += run
                    return String(out)
                }
                for _ in 0..<run { out.append(quote) }
                i += run
                continue
            }
            if c == "\\" && !literal {
                if let scalar = try escape(multiline: true) { out.append(scalar) }
                continue
            }
            if isControl(c) && c != "\t" && c != "\n" {
                throw error("control character U+\(hex(c.value, 4)) in a string" + (literal ? "" : " must be escaped"))
            }
            out.append(c)
            i += 1
        }
    }

    /// The scalar of the escape at the backslash here, or nil for a line-ending backslash, which
    /// (in multi-line strings) drops the white space and newlines that follow it.
    private mutating func escape(multiline: Bool) throws -> Unicode.Scalar? {
        let start = i
        i += 1
        guard let c = current else { throw error("the string has no closing quote", at: start) }
        i += 1
        switch c {
        case "b": return "\u{08}"
        case "t": return "\t"
        case "n": return "\n"
        case "f": return "\u{0C}"
        case "r": return "\r"
        case "\"": return "\""
        case "\\": return "\\"
        case "u", "U":
            let count = c == "u" ? 4 : 8
            guard isHex(i, count), let code = UInt32(String(String.UnicodeScalarView(s[i..<(i + count)])), radix: 16) else {
                throw error("\\\(c) needs \(count) hexadecimal digits", at: start)
            }
            guard let scalar = Unicode.Scalar(code) else {
                throw error("\\\(c)\(hex(code, count)) is not a Unicode scalar value", at: start)
            }
            i += count
            return scalar
        case " ", "\t", "\n":
            guard multiline else {
                throw error(c == "\n" ? "the string has no closing quote" : "invalid escape: a backslash followed by white space", at: start)
            }
            i -= 1
            skipSpaces()
            guard current == "\n" else { throw error("a backslash must be followed by an escape or end its line", at: start) }
            while let c = current, c == " " || c == "\t" || c == "\n" { i += 1 }
            return nil
        default:
            throw error("invalid escape \\\(isControl(c) ? "U+" + hex(c.value, 4) : String(c))", at: start)
        }
    }

    // MARK: Numbers

    /// An integer (decimal, `0x`, `0o`, `0b`) or a float (fraction, exponent, `inf`, `nan`), as
    /// described on ``TOMLDocument``.
    private mutating func number() throws -> String {
        let start = i
        while let c = current, isBareKey(c) || c == "." || c == "+" { i += 1 }
        let token = Array(s[start..<i])
        let text = String(String.UnicodeScalarView(token))
        func invalid(_ why: String = "") -> TOMLError {
            if let first = token.first(where: { $0 != "+" && $0 != "-" }), first.properties.isAlphabetic {
                return error("invalid value '\(text)' (a string needs quotes)", at: start)
            }
            return error("invalid number '\(text)'" + (why.isEmpty ? "" : ": " + why), at: start)
        }

        var body = token[...]
        var negative = false
        if let sign = body.first, sign == "+" || sign == "-" {
            negative = sign == "-"
            body = body.dropFirst()
        }
        let unsigned = String(String.UnicodeScalarView(body))
        if unsigned == "inf" { return negative ? "-inf" : "inf" }
        if unsigned == "nan" { return "nan" }

        if body.count > 2, body.first == "0", let radix = ["x": 16, "o": 8, "b": 2][Character(body[body.startIndex + 1])] {
            guard token.count == body.count else { throw invalid("only decimal numbers take a sign") }
            guard let digits = Self.digits(body.dropFirst(2), radix: radix) else { throw invalid() }
            guard let magnitude = UInt64(digits, radix: radix), magnitude <= UInt64(Int64.max) else { throw invalid("out of the 64-bit range") }
            return String(magnitude)
        }

        // Decimal: integer part, then an optional fraction and exponent.
        let exponentAt = body.firstIndex { $0 == "e" || $0 == "E" }
        let mantissa = body[..<(exponentAt ?? body.endIndex)]
        let dot = mantissa.firstIndex(of: ".")
        guard let integerPart = Self.digits(mantissa[..<(dot ?? mantissa.endIndex)], radix: 10) else { throw invalid() }
        if integerPart.count > 1 && integerPart.first == "0" { throw invalid("leading zeros are not allowed") }
        var literal = (negative ? "-" : "") + integerPart
        var isFloat = false
        if let dot {
            guard let fraction = Self.digits(mantissa[(dot + 1)...], radix: 10) else { throw invalid() }
            literal += "." + fraction
            isFloat = true
        }
        if let exponentAt {
            var exponent = body[(exponentAt + 1)...]
            var sign = ""
            if let c = exponent.first, c == "+" || c == "-" {
                sign = String(c)
                exponent = exponent.dropFirst()
            }
            guard let digits = Self.digits(exponent, radix: 10) else { throw invalid() }
            literal += "e" + sign + digits
            isFloat = true
        }
        if isFloat {
            guard let value = Double(literal) else { throw invalid() }
            return value.description
        }
        guard let value = Int64(literal) else { throw invalid("out of the 64-bit range") }
        return String(value)
    }

    /// The digits of `part` without its underscores, or nil when it is empty, holds another
    /// character, or has an underscore that is not between two digits.
    private static func digits(_ part: ArraySlice<Unicode.Scalar>, radix: Int) -> String? {
        var out = ""
        var previousIsDigit = false
        for c in part {
            if c == "_" {
                guard previousIsDigit else { return nil }
                previousIsDigit = false
                continue
            }
            guard let digit = Character(c).hexDigitValue, digit < radix, c.isASCII else { return nil }
            out.unicodeScalars.append(c)
            previousIsDigit = true
        }
        return previousIsDigit ? out : nil
    }

    // MARK: Dates and times

    /// An offset date-time, local date-time, local date or local time (RFC 3339), as written.
    private mutating func dateTime() throws -> String {
        let start = i
        func invalid(_ what: String) -> TOMLError {
            var end = start
            while end < s.count, isBareKey(s[end]) || ":.+".unicodeScalars.contains(s[end]) { end += 1 }
            return error("invalid \(what) '\(String(String.UnicodeScalarView(s[start..<end])))'", at: start)
        }
        func field(_ count: Int, _ range: ClosedRange<Int>, _ what: String) throws -> Int {
            guard isDigits(i, count), let n = Int(String(String.UnicodeScalarView(s[i..<(i + count)]))), range.contains(n) else { throw invalid(what) }
            i += count
            return n
        }
        func separator(_ c: Unicode.Scalar, _ what: String) throws {
            guard current == c else { throw invalid(what) }
            i += 1
        }
        func time() throws {
            _ = try field(2, 0...23, "time")
            try separator(":", "time")
            _ = try field(2, 0...59, "time")
            try separator(":", "time")
            _ = try field(2, 0...60, "time")
            if current == "." {
                i += 1
                guard isDigits(i, 1) else { throw invalid("time") }
                while isDigits(i, 1) { i += 1 }
            }
        }

        if isDigits(i, 2) && starts(with: ":", at: i + 2) {
            try time()
            return String(String.UnicodeScalarView(s[start..<i]))
        }
        let year = try field(4, 0...9999, "date")
        try separator("-", "date")
        let month = try field(2, 1...12, "date")
        try separator("-", "date")
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        _ = try field(2, 1...[31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1], "date")
        if let c = current, c == "T" || c == "t" || (c == " " && isDigits(i + 1, 2) && starts(with: ":", at: i + 3)) {
            i += 1
            try time()
            if let c = current, c == "Z" || c == "z" {
                i += 1
            } else if let c = current, c == "+" || c == "-" {
                i += 1
                _ = try field(2, 0...23, "time offset")
                try separator(":", "time offset")
                _ = try field(2, 0...59, "time offset")
            }
        }
        return String(String.UnicodeScalarView(s[start..<i]))
    }

    // MARK: Characters

    private func isDigits(_ at: Int, _ count: Int) -> Bool {
        at + count <= s.count && s[at..<(at + count)].allSatisfy { ("0"..."9").contains($0) }
    }

    private func isHex(_ at: Int, _ count: Int) -> Bool {
        at + count <= s.count && s[at..<(at + count)].allSatisfy { $0.isASCII && Character($0).isHexDigit }
    }

    private func isBareKey(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "_" || c == "-"
    }

    private func isControl(_ c: Unicode.Scalar) -> Bool { c.value < 0x20 || c.value == 0x7F }

    private func hex(_ value: UInt32, _ width: Int) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// A key path as TOML writes it: bare parts as they are, others quoted.
    private func describe(_ path: [String]) -> String {
        path.map { part in
            !part.isEmpty && part.unicodeScalars.allSatisfy(isBareKey) ? part : JSONValue.quoted(part)
        }.joined(separator: ".")
    }
}

private extension JSONValue {
    /// What a value that keys or headers try to extend is, for messages.
    var fixedKind: String {
        switch self {
        case .object: return "an inline table, which cannot be extended"
        case .array: return "an array value, which cannot be extended"
        default: return "already a value"
        }
    }
}
