import MagiJSON

/// Bounds on JSON numbers (`minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`) as GBNF, at
/// the level of digits, in the manner of llama.cpp's `_generate_min_max_int`.
///
/// Integers are enforced exactly. The integer grammar spells at most 16 digits, so a bound past
/// ±(10¹⁶ − 1) is clamped there without changing the language.
enum JSONSchemaNumbers {
    /// The largest magnitude the integer grammar spells (16 digits).
    static let largest: Int64 = 9_999_999_999_999_999

    /// The integers (inclusive) the bounds of `schema` allow, or nil when there are none.
    static func integerRange(_ schema: JSONValue, path: String) throws -> (low: Int64, high: Int64)? {
        var low = -largest, high = largest
        if let m = try bound("minimum", schema, path: path) { low = max(low, m.ceiling) }
        if let m = try bound("exclusiveMinimum", schema, path: path) { low = max(low, m.floor + 1) }
        if let m = try bound("maximum", schema, path: path) { high = min(high, m.floor) }
        if let m = try bound("exclusiveMaximum", schema, path: path) { high = min(high, m.ceiling - 1) }
        return low <= high ? (low, high) : nil
    }

    /// True when `schema` has any of the four bound keywords.
    static func hasBounds(_ schema: JSONValue) -> Bool {
        ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"].contains { schema[$0] != nil }
    }

    /// A GBNF expression (without trailing space) for the integers in `low...high`, no leading zeros, no `-0`.
    static func integers(_ low: Int64, _ high: Int64) -> String {
        precondition(low <= high && low >= -largest && high <= largest)
        var choices: [String] = []
        if low < 0 { choices.append(#""-" "# + group(natural(max(1, -high), -low))) }
        if high >= 0 { choices.append(natural(max(0, low), high)) }
        return choices.count == 1 ? choices[0] : "(" + choices.joined(separator: " | ") + ")"
    }

    /// A GBNF expression for the numbers the bounds of `schema` allow (`nil`: none it can spell).
    ///
    /// Narrower than the schema where it must be, never wider: an integer part `I` is written bare when
    /// `I` is within the bounds, and with a fraction (`I.ddd`, any digits) only when every number from
    /// `I` up to (for negatives, down to) the next integer is; no exponent. So `{"minimum": 0.5}`
    /// allows `1`, `1.25`, `7` but not `0.75`, and `{"exclusiveMaximum": 1}` allows `0.999` but not `1`.
    static func numbers(_ schema: JSONValue, path: String) throws -> String? {
        let minimum = try bound("minimum", schema, path: path), exclusiveMinimum = try bound("exclusiveMinimum", schema, path: path)
        let maximum = try bound("maximum", schema, path: path), exclusiveMaximum = try bound("exclusiveMaximum", schema, path: path)
        var choices: [String] = []
        if let (low, high) = try integerRange(schema, path: path) { choices.append(integers(low, high)) }
        // Non-negative I.ddd lies in [I, I+1): needs I ≥ minimum (> exclusiveMinimum) and I+1 ≤ either maximum.
        var low: Int64 = 0, high = largest
        if let m = minimum { low = max(low, m.ceiling) }
        if let m = exclusiveMinimum { low = max(low, m.floor + 1) }
        if let m = maximum { high = min(high, m.floor - 1) }
        if let m = exclusiveMaximum { high = min(high, m.floor - 1) }
        if low <= high { choices.append(group(natural(low, high)) + #" "." [0-9]{1,16}"#) }
        // -I.ddd lies in (-(I+1), -I]: needs -(I+1) ≥ either minimum and -I ≤ maximum (< exclusiveMaximum).
        low = 0
        high = largest
        if let m = minimum { high = min(high, -m.ceiling - 1) }
        if let m = exclusiveMinimum { high = min(high, -m.ceiling - 1) }
        if let m = maximum { low = max(low, -m.floor) }
        if let m = exclusiveMaximum { low = max(low, -m.ceiling + 1) }
        if low <= high { choices.append(#""-" "# + group(natural(low, high)) + #" "." [0-9]{1,16}"#) }
        return choices.isEmpty ? nil : "(" + choices.joined(separator: " | ") + ")"
    }

    /// A bound's integer neighbours: `floor ≤ value ≤ ceiling`, clamped to ±(largest + 1).
    struct Bound {
        var floor: Int64
        var ceiling: Int64
    }

    /// The bound `keyword` of `schema`, if any.
    static func bound(_ keyword: String, _ schema: JSONValue, path: String) throws -> Bound? {
        guard let value = schema[keyword] else { return nil }
        guard case .number(let text) = value, let bound = integerNeighbours(text) else {
            throw JSONSchemaError.invalidValue(keyword: keyword, path: path, message: "must be a number")
        }
        return bound
    }

    /// The floor and ceiling of the JSON number `text`, read exactly from its digits (clamped).
    static func integerNeighbours(_ text: String) -> Bound? {
        var digits: [UInt8] = [], fractionDigits = 0, exponent = 0, negative = false
        var bytes = Substring(text).utf8[...]
        if bytes.first == UInt8(ascii: "-") { negative = true; bytes = bytes.dropFirst() }
        var inFraction = false
        while let b = bytes.first, b != UInt8(ascii: "e"), b != UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            if b == UInt8(ascii: ".") { inFraction = true; continue }
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) else { return nil }
            digits.append(b - UInt8(ascii: "0"))
            if inFraction { fractionDigits += 1 }
        }
        if !bytes.isEmpty {
            guard let e = Int(String(decoding: bytes.dropFirst(), as: UTF8.self).replacingPlus()) else { return nil }
            exponent = max(-100_000, min(100_000, e))
        }
        guard !digits.isEmpty else { return nil }
        // value = digits × 10^(exponent − fractionDigits); split into whole digits and a fractional rest.
        let shift = exponent - fractionDigits
        let limit = largest + 1
        var whole: Int64 = 0, hasFraction = false, clamped = false
        let wholeCount = digits.count + shift // digits before the point
        for (k, d) in digits.enumerated() {
            if k < wholeCount {
                if whole > (limit - Int64(d)) / 10 { clamped = true } else { whole = whole * 10 + Int64(d) }
            } else if d != 0 {
                hasFraction = true
            }
        }
        if shift > 0, !clamped, whole != 0 {
            for _ in 0..<shift where !clamped {
                if whole > limit / 10 { clamped = true } else { whole *= 10 }
            }
        }
        if clamped { whole = limit }
        let down = negative ? -whole - (hasFraction ? 1 : 0) : whole
        let up = negative ? -whole : whole + (hasFraction ? 1 : 0)
        return Bound(floor: max(-limit - 1, down), ceiling: min(limit + 1, up))
    }

    /// `(x)` unless `x` is one item.
    private static func group(_ x: String) -> String { x.contains(" | ") ? "(" + x + ")" : x }

    /// The naturals in `low...high` (0 ≤ low ≤ high), spelled without leading zeros.
    static func natural(_ low: Int64, _ high: Int64) -> String {
        var choices: [String] = []
        var length = String(low).count
        while length <= String(high).count {
            let smallest: Int64 = length == 1 ? 0 : power(length - 1)
            let largestOfLength = power(length) - 1
            let a = max(low, smallest), b = min(high, largestOfLength)
            if a <= b { choices += sameLength(Array(String(a).utf8), Array(String(b).utf8)) }
            length += 1
        }
        return choices.joined(separator: " | ")
    }

    private static func power(_ n: Int) -> Int64 { (0..<n).reduce(1) { r, _ in r * 10 } }

    /// Alternatives spelling every digit string from `a` to `b` (same length, `a ≤ b`).
    private static func sameLength(_ a: [UInt8], _ b: [UInt8]) -> [String] {
        guard let x = a.first, let y = b.first else { return [] }
        let restA = Array(a.dropFirst()), restB = Array(b.dropFirst())
        func digit(_ d: UInt8) -> String { "[" + String(UnicodeScalar(d)) + "]" }
        func span(_ from: UInt8, _ to: UInt8) -> String {
            from == to ? digit(from) : "[" + String(UnicodeScalar(from)) + "-" + String(UnicodeScalar(to)) + "]"
        }
        func followed(_ head: String, _ tail: [String]) -> String {
            tail.isEmpty ? head : head + " " + (tail.count == 1 ? tail[0] : "(" + tail.joined(separator: " | ") + ")")
        }
        let anyRest = restA.isEmpty ? "" : " [0-9]" + (restA.count > 1 ? "{\(restA.count)}" : "")
        if x == y { return [followed(digit(x), sameLength(restA, restB))] }
        let lowFull = restA.allSatisfy { $0 == UInt8(ascii: "0") }, highFull = restB.allSatisfy { $0 == UInt8(ascii: "9") }
        var choices: [String] = []
        let middleFrom = lowFull ? x : x + 1, middleTo = highFull ? y : y - 1
        if !lowFull { choices.append(followed(digit(x), sameLength(restA, [UInt8](repeating: UInt8(ascii: "9"), count: restA.count)))) }
        if middleFrom <= middleTo { choices.append(span(middleFrom, middleTo) + anyRest) }
        if !highFull { choices.append(followed(digit(y), sameLength([UInt8](repeating: UInt8(ascii: "0"), count: restB.count), restB))) }
        return choices
    }
}

private extension String {
    /// `+5` as `5` (Int() reads no plus sign in some versions).
    func replacingPlus() -> String { hasPrefix("+") ? String(dropFirst()) : self }
}
