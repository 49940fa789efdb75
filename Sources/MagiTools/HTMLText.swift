import Foundation

/// Readable text from HTML, for a model to read: scripts, styles and other non-content dropped,
/// block elements on lines of their own, headings marked with `#`, list items with `- `, links
/// kept as their text, entities decoded, runs of whitespace collapsed.
///
/// A tolerant scanner, not a parser: malformed markup degrades into slightly worse text, never an error.
public struct HTMLText: Sendable {
    /// The document's `<title>`, if any.
    public let title: String?
    /// The readable text.
    public let text: String

    private static let skipped: Set<String> = ["script", "style", "noscript", "template", "svg", "iframe", "canvas", "select"]
    private static let blocks: Set<String> = ["p", "div", "br", "hr", "section", "article", "main", "header", "footer", "nav",
                                              "aside", "table", "tr", "ul", "ol", "dl", "dt", "dd", "blockquote", "pre",
                                              "figure", "figcaption", "form", "li", "h1", "h2", "h3", "h4", "h5", "h6",
                                              "body", "html", "details", "summary", "address"]

    public init(html: String) {
        var out = ""
        var title: String?
        var skipping: String?  // the element whose content is being skipped
        var inTitle = false
        var preDepth = 0
        var s = Substring(html)
        while !s.isEmpty {
            guard let open = s.firstIndex(of: "<") else {
                if skipping == nil { Self.appendText(s, to: &out, title: &title, inTitle: inTitle, preformatted: preDepth > 0) }
                break
            }
            if skipping == nil && open > s.startIndex {
                Self.appendText(s[..<open], to: &out, title: &title, inTitle: inTitle, preformatted: preDepth > 0)
            }
            s = s[open...]
            if s.hasPrefix("<!--") {
                s = s.range(of: "-->").map { s[$0.upperBound...] } ?? ""
                continue
            }
            guard let close = s.firstIndex(of: ">") else { break }
            let tag = s[s.index(after: s.startIndex)..<close]
            s = s[s.index(after: close)...]
            let isEnd = tag.hasPrefix("/")
            let name = tag.drop { $0 == "/" }.prefix { $0.isLetter || $0.isNumber }.lowercased()
            if let skipped = skipping {
                if isEnd && name == skipped { skipping = nil }
                continue
            }
            if name == "title" { inTitle = !isEnd; continue }
            if !isEnd && Self.skipped.contains(name) && !tag.hasSuffix("/") { skipping = name; continue }
            if name == "pre" { preDepth += isEnd ? -1 : 1 }
            guard Self.blocks.contains(name) else { continue }
            Self.endLine(&out)
            if !isEnd {
                if name.count == 2, name.first == "h", let level = Int(String(name.last!)) {
                    out += String(repeating: "#", count: level) + " "
                } else if name == "li" {
                    out += "- "
                }
            }
        }
        self.title = title.map { Self.collapsed($0) }.flatMap { $0.isEmpty ? nil : $0 }
        self.text = out.split(separator: "\n", omittingEmptySubsequences: false)
            .map { String($0.reversed().drop { $0 == " " || $0 == "\t" }.reversed()) }
            .reduce(into: [String]()) { lines, line in
                // At most one empty line in a row.
                if line.isEmpty && (lines.last?.isEmpty ?? true) { return }
                lines.append(line)
            }
            .joined(separator: "\n").trimmingCharacters(in: .newlines)
    }

    private static func appendText(_ raw: Substring, to out: inout String, title: inout String?, inTitle: Bool, preformatted: Bool) {
        let text = decodeEntities(raw)
        if inTitle { title = (title ?? "") + text; return }
        if preformatted { out += text; return }
        let flat = collapsed(text, keepEdges: true)
        if flat == " " && (out.last == " " || out.last == "\n" || out.isEmpty) { return }
        if flat.first == " " && (out.last == " " || out.last == "\n" || out.isEmpty) { out += flat.dropFirst() } else { out += flat }
    }

    private static func endLine(_ out: inout String) {
        while out.last == " " { out.removeLast() }
        if !out.isEmpty && !out.hasSuffix("\n\n") { out += out.hasSuffix("\n") ? "\n" : "\n\n" }
    }

    /// Whitespace runs as one space; with `keepEdges`, a leading or trailing run stays as a space.
    private static func collapsed(_ text: String, keepEdges: Bool = false) -> String {
        var out = ""
        var pendingSpace = false
        for c in text {
            if c.isWhitespace { pendingSpace = true; continue }
            if pendingSpace && (keepEdges || !out.isEmpty) { out += " " }
            pendingSpace = false
            out.append(c)
        }
        if pendingSpace && keepEdges { out += " " }
        return out
    }

    private static let namedEntities: [Substring: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": " ", "copy": "©", "reg": "®", "trade": "™",
        "hellip": "…", "mdash": "—", "ndash": "–", "lsquo": "‘", "rsquo": "’", "ldquo": "“", "rdquo": "”", "laquo": "«",
        "raquo": "»", "middot": "·", "bull": "•", "deg": "°", "euro": "€", "pound": "£", "times": "×", "eacute": "é",
        "egrave": "è", "agrave": "à", "uuml": "ü", "ouml": "ö", "auml": "ä", "szlig": "ß", "ccedil": "ç",
    ]

    /// `&amp;`, `&#233;`, `&#xE9;` and the common named entities; unknown ones stay as written.
    static func decodeEntities(_ text: Substring) -> String {
        guard text.contains("&") else { return String(text) }
        var out = ""
        var s = text
        while let amp = s.firstIndex(of: "&") {
            out += s[..<amp]
            s = s[amp...]
            let body = s.dropFirst().prefix { $0 != ";" && $0 != "&" && $0 != "<" && !$0.isWhitespace }
            let end = body.endIndex
            guard body.count <= 10, end < s.endIndex, s[end] == ";" else { out += "&"; s = s.dropFirst(); continue }
            var decoded: String?
            if body.hasPrefix("#x") || body.hasPrefix("#X") {
                decoded = UInt32(body.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init).map { String(Character($0)) }
            } else if body.hasPrefix("#") {
                decoded = UInt32(body.dropFirst()).flatMap(Unicode.Scalar.init).map { String(Character($0)) }
            } else {
                decoded = namedEntities[body]
            }
            if let decoded {
                out += decoded
                s = s[s.index(after: end)...]
            } else {
                out += "&"
                s = s.dropFirst()
            }
        }
        return out + s
    }
}
