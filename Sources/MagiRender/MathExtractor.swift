/// One piece of TeX math found in Markdown.
struct MathSpan: Equatable {
    /// The TeX between the delimiters.
    let latex: String
    /// `$$…$$` or `\[…\]` rather than `$…$` or `\(…\)`.
    let display: Bool
    /// The span as written, delimiters included.
    let source: String
}

/// Takes TeX math out of Markdown before cmark sees it (cmark would eat its backslashes and read
/// `_` and `*` as emphasis), leaving one private-use placeholder character per span.
///
/// Math is `$…$` and `\(…\)` inline, `$$…$$` and `\[…\]` displayed; code spans and fenced code
/// blocks are left alone. A `$` follows pandoc's rule so prices are not math: the opening `$` has
/// a non-space character after it, the closing one a non-space character before it and no digit
/// after it, and both are on one line.
struct MathExtractor {
    /// The Markdown with a placeholder in place of each span.
    private(set) var markdown = ""
    /// The spans, in order: placeholder `i` stands for `spans[i]`.
    private(set) var spans: [MathSpan] = []
    /// The line (0-based) of a `$$` or `\[` that is not closed (yet), if any: a stream may still close it.
    private(set) var unclosedDisplayLine: Int?

    static let placeholderBase: UInt32 = 0xF0000
    /// Placeholders run through planes 15 and 16 (private use); math past that stays text.
    private static let capacity = 0x1FFFE

    /// The span a placeholder character stands for, if it is one.
    func span(for scalar: Unicode.Scalar) -> MathSpan? {
        guard scalar.value >= Self.placeholderBase else { return nil }
        let index = Int(scalar.value - Self.placeholderBase)
        return index < spans.count ? spans[index] : nil
    }

    /// `text` with every placeholder put back as the math it stands for (for link URLs and the like).
    func restoringSource(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.value >= Self.placeholderBase }) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            if let span = span(for: scalar) { out += span.source } else { out.unicodeScalars.append(scalar) }
        }
        return out
    }

    init(_ source: String) {
        let chars = Array(source)
        var i = 0
        var line = 0
        var atLineStart = true
        var fence: (character: Character, length: Int)?

        func run(of c: Character, from start: Int) -> Int {
            var n = 0
            while start + n < chars.count && chars[start + n] == c { n += 1 }
            return n
        }
        /// Whether the line after the newline at `j` is blank: a paragraph ends there, so no span crosses it.
        func startsBlankLine(after j: Int) -> Bool {
            var k = j + 1
            while k < chars.count && (chars[k] == " " || chars[k] == "\t") { k += 1 }
            return k == chars.count || chars[k] == "\n"
        }
        func find(_ closing: [Character], from start: Int, display: Bool) -> Int? {
            var j = start
            while j + closing.count <= chars.count {
                if chars[j] == "\\" && !(closing.first == "\\" && Array(chars[j..<j + closing.count]) == closing) {
                    j += 2
                    continue
                }
                if chars[j] == "\n" && (!display || startsBlankLine(after: j)) { return nil }
                if Array(chars[j..<j + closing.count]) == closing { return j }
                j += 1
            }
            return nil
        }
        func addSpan(from start: Int, contentStart: Int, contentEnd: Int, end: Int, display: Bool) {
            let span = MathSpan(latex: String(chars[contentStart..<contentEnd]), display: display,
                                source: String(chars[start..<end]))
            markdown.unicodeScalars.append(Unicode.Scalar(Self.placeholderBase + UInt32(spans.count))!)
            spans.append(span)
            line += chars[start..<end].filter { $0 == "\n" }.count
        }
        func isSpace(_ c: Character) -> Bool { c == " " || c == "\t" || c == "\n" }

        while i < chars.count {
            let c = chars[i]
            if atLineStart {
                atLineStart = false
                var j = i
                while j < chars.count && (chars[j] == " " || chars[j] == "\t" || chars[j] == ">") { j += 1 }
                if j < chars.count && (chars[j] == "`" || chars[j] == "~") {
                    let length = run(of: chars[j], from: j)
                    if let open = fence {
                        if open.character == chars[j] && length >= open.length { fence = nil }
                    } else if length >= 3 {
                        fence = (chars[j], length)
                    }
                }
            }
            if c == "\n" {
                markdown.append(c)
                line += 1
                atLineStart = true
                i += 1
                continue
            }
            if fence != nil {
                markdown.append(c)
                i += 1
                continue
            }
            if c == "`" {
                // A code span: copied verbatim up to the closing run of the same length.
                let length = run(of: "`", from: i)
                var j = i + length
                var end: Int?
                while j < chars.count && !(chars[j] == "\n" && startsBlankLine(after: j)) {
                    if chars[j] == "`" {
                        let closing = run(of: "`", from: j)
                        if closing == length { end = j + closing; break }
                        j += closing
                    } else {
                        j += 1
                    }
                }
                let stop = end ?? i + length
                for k in i..<stop { markdown.append(chars[k]); if chars[k] == "\n" { line += 1 } }
                i = stop
                continue
            }
            let hasRoom = spans.count < Self.capacity
            if c == "\\" && i + 1 < chars.count && hasRoom {
                let next = chars[i + 1]
                if next == "(" || next == "[" {
                    let display = next == "["
                    if let close = find(["\\", display ? "]" : ")"], from: i + 2, display: display) {
                        addSpan(from: i, contentStart: i + 2, contentEnd: close, end: close + 2, display: display)
                        i = close + 2
                        continue
                    }
                    if display && unclosedDisplayLine == nil { unclosedDisplayLine = line }
                }
                markdown.append(c)
                markdown.append(next)
                i += 2
                continue
            }
            if c == "$" && hasRoom {
                if i + 1 < chars.count && chars[i + 1] == "$" {
                    if let close = find(["$", "$"], from: i + 2, display: true), close > i + 2 {
                        addSpan(from: i, contentStart: i + 2, contentEnd: close, end: close + 2, display: true)
                        i = close + 2
                        continue
                    }
                    if unclosedDisplayLine == nil { unclosedDisplayLine = line }
                    markdown += "$$"
                    i += 2
                    continue
                }
                if i + 1 < chars.count && !isSpace(chars[i + 1]) {
                    var j = i + 1
                    var close: Int?
                    while j < chars.count && chars[j] != "\n" {
                        if chars[j] == "\\" { j += 2; continue }
                        if chars[j] == "$" {
                            let after = j + 1 < chars.count ? chars[j + 1] : " "
                            if !isSpace(chars[j - 1]) && !after.isNumber { close = j }
                            break
                        }
                        j += 1
                    }
                    if let close {
                        addSpan(from: i, contentStart: i + 1, contentEnd: close, end: close + 1, display: false)
                        i = close + 1
                        continue
                    }
                }
            }
            markdown.append(c)
            i += 1
        }
    }
}
