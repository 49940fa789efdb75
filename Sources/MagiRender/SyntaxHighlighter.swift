/// The kind of a token in highlighted code.
enum CodeTokenKind: Equatable {
    case plain, keyword, string, comment, number, typeName
}

/// A small lexer that colours code by its ``LanguageGrammar``: keywords, strings, comments,
/// numbers and type names. A block comment or multi-line string carries over to the next line,
/// so each line's colours depend only on the lines before it.
struct SyntaxHighlighter {
    let grammar: LanguageGrammar

    private enum State {
        case code
        case blockComment
        case string(LanguageGrammar.StringDelimiter)
    }

    /// The tokens of each line of `code`.
    func highlight(_ code: String) -> [[(text: String, kind: CodeTokenKind)]] {
        var state = State.code
        let openers = self.openers
        return code.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            highlight(line: Array(line), state: &state, openers: openers)
        }
    }

    private func highlight(line: [Character], state: inout State, openers: Set<Character>) -> [(text: String, kind: CodeTokenKind)] {
        var tokens: [(text: String, kind: CodeTokenKind)] = []
        func add(_ text: some Sequence<Character>, _ kind: CodeTokenKind) {
            let s = String(text)
            guard !s.isEmpty else { return }
            if let last = tokens.last, last.kind == kind {
                tokens[tokens.count - 1].text += s
            } else {
                tokens.append((s, kind))
            }
        }
        func matches(_ s: String, at i: Int) -> Bool {
            var j = i
            for c in s {
                guard j < line.count, line[j] == c else { return false }
                j += 1
            }
            return true
        }
        var i = 0
        while i < line.count {
            switch state {
            case .blockComment:
                let close = grammar.blockComment?.close ?? "*/"
                var j = i
                while j < line.count && !matches(close, at: j) { j += 1 }
                if j < line.count { j += close.count; state = .code }
                add(line[i..<j], .comment)
                i = j
            case .string(let delimiter):
                var j = i
                var closed = false
                while j < line.count {
                    if delimiter.escapes && line[j] == "\\" { j += 2; continue }
                    if matches(delimiter.close, at: j) { j += delimiter.close.count; closed = true; break }
                    j += 1
                }
                j = min(j, line.count)
                add(line[i..<j], .string)
                i = j
                if closed || !delimiter.multiline { state = .code }
            case .code:
                let c = line[i]
                let mayOpen = openers.contains(c)
                if mayOpen, let comment = grammar.lineComments.first(where: { matches($0, at: i) }),
                   comment != "#" || i == 0 || line[i - 1] == " " || line[i - 1] == "\t" {
                    add(line[i...], .comment)
                    i = line.count
                } else if mayOpen, let block = grammar.blockComment, matches(block.open, at: i) {
                    add(block.open, .comment)
                    i += block.open.count
                    state = .blockComment
                } else if mayOpen, let delimiter = grammar.strings.first(where: { matches($0.open, at: i) }) {
                    add(delimiter.open, .string)
                    i += delimiter.open.count
                    state = .string(delimiter)
                } else if c.isNumber && c.isASCII && (i == 0 || !isIdentifierCharacter(line[i - 1])) {
                    var j = i + 1
                    while j < line.count && (line[j].isHexDigit || line[j] == "." || line[j] == "_" || line[j] == "x"
                                             || line[j] == "b" || line[j] == "o" || line[j] == "e") { j += 1 }
                    add(line[i..<j], .number)
                    i = j
                } else if grammar.dollarVariables && c == "$" && i + 1 < line.count
                            && (isIdentifierCharacter(line[i + 1]) || line[i + 1] == "{") {
                    var j = i + 1
                    if line[j] == "{" {
                        while j < line.count && line[j] != "}" { j += 1 }
                        j = min(j + 1, line.count)
                    } else {
                        while j < line.count && isIdentifierCharacter(line[j]) { j += 1 }
                    }
                    add(line[i..<j], .typeName)
                    i = j
                } else if isIdentifierCharacter(c) || (c == "#" && !grammar.lineComments.contains("#")) {
                    var j = i + 1
                    while j < line.count && isIdentifierCharacter(line[j]) { j += 1 }
                    let word = String(line[i..<j])
                    add(word, kind(of: word))
                    i = j
                } else {
                    add([c], .plain)
                    i += 1
                }
            }
        }
        return tokens
    }

    private func kind(of word: String) -> CodeTokenKind {
        if grammar.keywords.contains(grammar.caseInsensitive ? word.lowercased() : word) { return .keyword }
        if grammar.capitalizedAreTypes, let first = word.first, first.isUppercase, word.count > 1 { return .typeName }
        return .plain
    }

    private func isIdentifierCharacter(_ c: Character) -> Bool {
        if let ascii = c.asciiValue {
            return ascii == 95 || (48...57).contains(ascii) || (65...90).contains(ascii) || (97...122).contains(ascii)
        }
        return c.isLetter || c.isNumber
    }

    /// The first characters of comment and string delimiters: only they need a closer look.
    private var openers: Set<Character> {
        Set((grammar.lineComments + grammar.strings.map(\.open) + [grammar.blockComment?.open ?? ""]).compactMap(\.first))
    }
}
