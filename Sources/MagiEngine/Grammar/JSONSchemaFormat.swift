/// The string `format`s a grammar enforces, after llama.cpp's converter, each never looser than
/// RFC 3339 and Python's `jsonschema` format checks read them:
/// - `date`: `YYYY-MM-DD`, years 1000–9999, days that exist in their month; 29 February is left out
///   (a grammar cannot tell leap years cheaply), so the grammar is narrower there.
/// - `time`: `hh:mm:ss`, optionally `.sss` (exactly three digits), then `Z` or `±hh:mm` (RFC 3339's
///   full-time; no leap second).
/// - `date-time`: a date, `T`, a time.
/// - `uuid`: 8-4-4-4-12 hexadecimal digits.
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
}
