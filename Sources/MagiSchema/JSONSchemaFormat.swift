/// The string `format`s a grammar enforces, after llama.cpp's converter, each never looser than
/// RFC 3339 and Python's `jsonschema` format checks read them:
/// - `date`: `YYYY-MM-DD`, years 1000–9999, days that exist in their month; 29 February is left out
///   (a grammar cannot tell leap years cheaply), so the grammar is narrower there.
/// - `time`: `hh:mm:ss`, optionally `.sss` (exactly three digits), then `Z` or `±hh:mm` (RFC 3339's
///   full-time; no leap second).
/// - `date-time`: a date, `T`, a time.
/// - `uuid`: 8-4-4-4-12 hexadecimal digits.
///
/// Validation reads them as the schema does (``check(_:format:)``): any year from 1, leap days, any
/// fraction digits, `t` and `z` in either case.
enum JSONSchemaFormat {
    static let supported = ["date", "time", "date-time", "uuid"]

    /// The rules (name → body) for the string contents of `format`, the first being the one to use.
    static func rules(_ format: String) -> [(name: String, body: String)] {
        let date = ("format-date", #"[1-9] [0-9]{3} "-" ("#
            + #"("0" [13578] | "1" [02]) "-" ("0" [1-9] | [12] [0-9] | "3" [01]) | "#
            + #"("0" [469] | "11") "-" ("0" [1-9] | [12] [0-9] | "30") | "#
            + #""02" "-" ("0" [1-9] | "1" [0-9] | "2" [0-8]))"#)
        let time = ("format-time", #"([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9] ":" [0-5] [0-9] ("." [0-9]{3})? "#
            + #"("Z" | [+-] ([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9])"#)
        switch format {
        case "date": return [date]
        case "time": return [time]
        case "date-time": return [("format-date-time", #"format-date "T" format-time"#), date, time]
        case "uuid":
            return [("format-uuid", #"[0-9a-fA-F]{8} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{12}"#)]
        default: return []
        }
    }

    /// Whether `text` is a `format`; nil for a format not checked.
    static func check(_ text: String, format: String) -> Bool? {
        let b = Array(text.utf8)
        switch format {
        case "date": return b.count == 10 && isDate(b[...])
        case "time": return isTime(b[...])
        case "date-time": return b.count > 11 && isDate(b[..<10]) && (b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t")) && isTime(b[11...])
        case "uuid":
            return b.count == 36 && b.indices.allSatisfy { i in
                [8, 13, 18, 23].contains(i) ? b[i] == UInt8(ascii: "-") : Character(UnicodeScalar(b[i])).isHexDigit
            }
        default: return nil
        }
    }

    static func example(_ format: String) -> String {
        switch format {
        case "date": return "such as 2024-02-29"
        case "time": return "such as 13:45:00Z or 13:45:00.250+02:00"
        case "date-time": return "such as 2024-02-29T13:45:00Z"
        default: return "such as 123e4567-e89b-12d3-a456-426614174000"
        }
    }

    /// The number in `digits` (ASCII digits only), else nil.
    private static func number(_ digits: ArraySlice<UInt8>) -> Int? {
        guard !digits.isEmpty, digits.allSatisfy({ (48...57).contains($0) }) else { return nil }
        return digits.reduce(0) { $0 * 10 + Int($1 - 48) }
    }

    /// `YYYY-MM-DD`, a day that exists.
    private static func isDate(_ b: ArraySlice<UInt8>) -> Bool {
        let s = b.startIndex
        guard b.count == 10, b[s + 4] == UInt8(ascii: "-"), b[s + 7] == UInt8(ascii: "-"),
              let year = number(b[s..<s + 4]), let month = number(b[s + 5..<s + 7]), let day = number(b[s + 8..<s + 10]),
              year >= 1, (1...12).contains(month) else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return (1...days).contains(day)
    }

    /// `hh:mm:ss[.fraction](Z|±hh:mm)`.
    private static func isTime(_ b: ArraySlice<UInt8>) -> Bool {
        let s = b.startIndex
        guard b.count >= 9, b[s + 2] == UInt8(ascii: ":"), b[s + 5] == UInt8(ascii: ":"),
              let h = number(b[s..<s + 2]), let m = number(b[s + 3..<s + 5]), let sec = number(b[s + 6..<s + 8]),
              h < 24, m < 60, sec < 60 else { return false }
        var rest = b[(s + 8)...]
        if rest.first == UInt8(ascii: ".") {
            let digits = rest.dropFirst().prefix { (48...57).contains($0) }
            guard !digits.isEmpty else { return false }
            rest = rest.dropFirst(1 + digits.count)
        }
        if rest.count == 1, rest.first == UInt8(ascii: "Z") || rest.first == UInt8(ascii: "z") { return true }
        let r = rest.startIndex
        guard rest.count == 6, rest.first == UInt8(ascii: "+") || rest.first == UInt8(ascii: "-"), rest[r + 3] == UInt8(ascii: ":"),
              let oh = number(rest[r + 1..<r + 3]), let om = number(rest[r + 4..<r + 6]) else { return false }
        return oh < 24 && om < 60
    }
}
