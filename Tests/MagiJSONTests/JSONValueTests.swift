import MagiJSON
import Testing

/// JSON as Python's `json.dumps(value, ensure_ascii=False)` writes it (checked against CPython 3.11).
@Suite struct JSONValueTests {
    @Test func writesLikePython() throws {
        let cases: [(String, String)] = [
            (#"{"b":1,"a":[true,false,null],"c":{}}"#, #"{"b": 1, "a": [true, false, null], "c": {}}"#),
            (#"{"x": 1e-3, "y": 1E5, "z": 2.50, "big": 12345678901234567890, "neg": -0}"#,
             #"{"x": 0.001, "y": 100000.0, "z": 2.5, "big": 12345678901234567890, "neg": 0}"#),
            (#"["Zürich 👋", "tab\there", "q\"uote\\", "\u0001\u001f\u007f", "\/"]"#,
             #"["Zürich 👋", "tab\there", "q\"uote\\", "\u0001\u001f\#u{7f}", "/"]"#),
            (#"{"a": 1, "a": 2, "b": 3}"#, #"{"a": 2, "b": 3}"#),
            (#""\ud83d\ude00""#, #""😀""#),
            ("[]", "[]"),
            ("1.5e300", "1.5e+300"),
        ]
        for (input, python) in cases {
            #expect(try JSONValue(parsing: input).pythonText == python, "\(input)")
        }
    }

    @Test func rejectsMalformedJSON() {
        for bad in ["", "{", #"{"a" 1}"#, "[1,]", "01", "1.", "tru", #""abc"#, "{} x", #"{"a":1,}"#] {
            #expect(throws: JSONParseError.self, "\(bad)") { try JSONValue(parsing: bad) }
        }
        #expect((try? JSONValue(parsing: "[1, }")) == nil)
    }
}
