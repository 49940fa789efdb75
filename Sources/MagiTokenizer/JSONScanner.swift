/// A small JSON reader over UTF-8 bytes for tekken.json (≈19 MB, 150 000 vocabulary entries), where
/// Foundation's `JSONSerialization` takes about 1.8 s: the caller walks objects and arrays and reads
/// only the values it needs; everything else is skipped without being built.
struct JSONScanner {
    /// A syntax error at a byte offset.
    struct SyntaxError: Error, CustomStringConvertible {
        var offset: Int
        var message: String
        var description: String { "invalid JSON at byte \(offset): \(message)" }
    }

    /// A fully parsed value (for the small parts of the file).
    enum Value: Equatable {
        case string(String)
        case number(Double)
        case bool(Bool)
        case null
        case array([Value])
        case object([String: Value])
    }

    private let bytes: [UInt8]
    private var position = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    private func error(_ message: String) -> SyntaxError {
        SyntaxError(offset: position, message: message)
    }

    private mutating func skipWhitespace() {
        while position < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[position]) { position += 1 }
    }

    /// The next non-blank byte, not consumed.
    mutating func peek() -> UInt8? {
        skipWhitespace()
        return position < bytes.count ? bytes[position] : nil
    }

    private mutating func expect(_ byte: UInt8) throws {
        guard peek() == byte else { throw error("expected '\(Character(Unicode.Scalar(byte)))'") }
        position += 1
    }

    /// Calls `body` with each key of the object that starts here; `body` must consume the value.
    mutating func forEachMember(_ body: (inout JSONScanner, String) throws -> Void) throws {
        try expect(UInt8(ascii: "{"))
        if peek() == UInt8(ascii: "}") {
            position += 1
            return
        }
        while true {
            let key = try readString()
            try expect(UInt8(ascii: ":"))
            try body(&self, key)
            if peek() == UInt8(ascii: ",") {
                position += 1
                continue
            }
            try expect(UInt8(ascii: "}"))
            return
        }
    }

    /// Calls `body` with the index of each element of the array that starts here; `body` must consume
    /// the element.
    mutating func forEachElement(_ body: (inout JSONScanner, Int) throws -> Void) throws {
        try expect(UInt8(ascii: "["))
        if peek() == UInt8(ascii: "]") {
            position += 1
            return
        }
        var index = 0
        while true {
            try body(&self, index)
            index += 1
            if peek() == UInt8(ascii: ",") {
                position += 1
                continue
            }
            try expect(UInt8(ascii: "]"))
            return
        }
    }

    /// The raw bytes of a string without escapes (such as base64), or nil if it has escapes (then
    /// nothing is consumed).
    mutating func readPlainStringBytes() throws -> ArraySlice<UInt8>? {
        try expect(UInt8(ascii: "\""))
        let start = position
        while position < bytes.count {
            switch bytes[position] {
            case UInt8(ascii: "\""):
                position += 1
                return bytes[start..<(position - 1)]
            case UInt8(ascii: "\\"):
                position = start - 1
                return nil
            default:
                position += 1
            }
        }
        throw error("unterminated string")
    }

    mutating func readString() throws -> String {
        try expect(UInt8(ascii: "\""))
        var result: [UInt8] = []
        while position < bytes.count {
            let byte = bytes[position]
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: result, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard position < bytes.count else { break }
                let escape = bytes[position]
                position += 1
                switch escape {
                case UInt8(ascii: "b"): result.append(0x08)
                case UInt8(ascii: "f"): result.append(0x0C)
                case UInt8(ascii: "n"): result.append(0x0A)
                case UInt8(ascii: "r"): result.append(0x0D)
                case UInt8(ascii: "t"): result.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try readHex4()
                    if (0xD800..<0xDC00).contains(scalar), bytes[position...].starts(with: Array("\\u".utf8)) {
                        position += 2
                        let low = try readHex4()
                        scalar = (0xDC00..<0xE000).contains(low) ? 0x10000 + (scalar - 0xD800) << 10 + (low - 0xDC00) : 0xFFFD
                    }
                    result.append(contentsOf: String(Unicode.Scalar(scalar) ?? "\u{FFFD}").utf8)
                default: result.append(escape)  // \" \\ \/
                }
            default:
                result.append(byte)
            }
        }
        throw error("unterminated string")
    }

    private mutating func readHex4() throws -> UInt32 {
        guard position + 4 <= bytes.count,
              let value = UInt32(String(decoding: bytes[position..<(position + 4)], as: UTF8.self), radix: 16)
        else { throw error("bad \\u escape") }
        position += 4
        return value
    }

    mutating func readNumber() throws -> Double {
        _ = peek()
        let start = position
        while position < bytes.count, Array("+-0123456789.eE".utf8).contains(bytes[position]) { position += 1 }
        guard let value = Double(String(decoding: bytes[start..<position], as: UTF8.self)) else {
            throw error("expected a number")
        }
        return value
    }

    mutating func readInteger() throws -> Int {
        let value = try readNumber()
        guard let integer = Int(exactly: value) else { throw error("expected an integer") }
        return integer
    }

    mutating func readValue() throws -> Value {
        switch peek() {
        case UInt8(ascii: "\""):
            return .string(try readString())
        case UInt8(ascii: "{"):
            var members: [String: Value] = [:]
            try forEachMember { scanner, key in members[key] = try scanner.readValue() }
            return .object(members)
        case UInt8(ascii: "["):
            var elements: [Value] = []
            try forEachElement { scanner, _ in elements.append(try scanner.readValue()) }
            return .array(elements)
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            for (word, value) in [("true", Value.bool(true)), ("false", .bool(false)), ("null", .null)]
            where bytes[position...].starts(with: Array(word.utf8)) {
                position += word.utf8.count
                return value
            }
            throw error("unexpected literal")
        default:
            return .number(try readNumber())
        }
    }

    mutating func skipValue() throws {
        if peek() == UInt8(ascii: "\""), try readPlainStringBytes() != nil { return }
        _ = try readValue()
    }
}
