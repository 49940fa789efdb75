/// Converts TeX math to readable Unicode: Greek letters and symbols, x² and a₁ where Unicode
/// has the script characters (`x^(n+1/2)` otherwise), a/b fractions, √ roots, ℝ-style letters,
/// `\text{…}`, matrices and cases as small grids, and `\boxed{…}` marked as a box.
/// Spaces in the source are kept (collapsed) so `a + b` stays readable; unknown commands are
/// written as they are.
struct LaTeXConverter {
    /// The rows of the converted math, each split into plain and boxed pieces.
    func convert(_ latex: String) -> [[MathPiece]] {
        var parser = LaTeXParser(tokens: LaTeXToken.tokenize(latex))
        let box = parser.body()
        return box.rows.map(Self.pieces)
    }

    private static func pieces(_ row: String) -> [MathPiece] {
        var out: [MathPiece] = []
        var current = ""
        var depth = 0
        func flush(boxed: Bool) {
            guard !current.isEmpty else { return }
            out.append(boxed ? .boxed(current.trimmingSpaces) : .text(current))
            current = ""
        }
        for c in row {
            if c == MathBox.boxStart {
                if depth == 0 { flush(boxed: false) }
                depth += 1
            } else if c == MathBox.boxEnd {
                depth -= 1
                if depth == 0 { flush(boxed: true) }
            } else {
                current.append(c)
            }
        }
        flush(boxed: depth > 0)
        return out.filter { $0 != .text("") }
    }
}

extension String {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}

/// A lexical unit of TeX math.
enum LaTeXToken: Equatable {
    case command(String)
    case open, close, superscript, `subscript`, alignment, rowBreak, space
    case character(Character)

    static func tokenize(_ text: String) -> [LaTeXToken] {
        let chars = Array(text)
        var tokens: [LaTeXToken] = []
        var i = 0
        while i < chars.count {
            let c = chars[i]
            switch c {
            case "\\":
                guard i + 1 < chars.count else { tokens.append(.character("\\")); i += 1; continue }
                if chars[i + 1] == "\\" {
                    tokens.append(.rowBreak)
                    i += 2
                } else if chars[i + 1].isLetter && chars[i + 1].isASCII {
                    var j = i + 1
                    while j < chars.count && chars[j].isLetter && chars[j].isASCII { j += 1 }
                    tokens.append(.command(String(chars[i + 1..<j])))
                    i = j
                } else {
                    tokens.append(.command(String(chars[i + 1])))
                    i += 2
                }
            case "{": tokens.append(.open); i += 1
            case "}": tokens.append(.close); i += 1
            case "^": tokens.append(.superscript); i += 1
            case "_": tokens.append(.subscript); i += 1
            case "&": tokens.append(.alignment); i += 1
            case "%":
                while i < chars.count && chars[i] != "\n" { i += 1 }
            case " ", "\t", "\n", "~":
                if tokens.last != .space { tokens.append(.space) }
                i += 1
            default:
                tokens.append(.character(c)); i += 1
            }
        }
        return tokens
    }
}

/// Recursive descent over ``LaTeXToken``s, building ``MathBox``es.
private struct LaTeXParser {
    let tokens: [LaTeXToken]
    var position = 0

    init(tokens: [LaTeXToken]) { self.tokens = tokens }

    private var current: LaTeXToken? { position < tokens.count ? tokens[position] : nil }

    /// The whole input; rows split by `\\` are stacked like an aligned environment.
    mutating func body() -> MathBox {
        let rows = table(untilEnd: false, trimCells: false)
        if rows.count == 1 && rows[0].count == 1 { return rows[0][0].trimmed() }
        return MathBox.grid(rows, separator: "", left: nil, right: nil)
    }

    /// Rows of cells up to `\end{…}` (or the end of input).
    /// Matrix cells are trimmed; aligned cells keep their inner spaces (`a &= b` stays `a = b`).
    private mutating func table(untilEnd: Bool, trimCells: Bool) -> [[MathBox]] {
        var rows: [[MathBox]] = []
        var row: [MathBox] = []
        while true {
            let cell = sequence { token in
                token == .alignment || token == .rowBreak || token == .command("end") || (!untilEnd && token == .close)
            }
            row.append(trimCells || row.isEmpty ? cell.trimmed(trailing: trimCells) : cell)
            if !trimCells, current != .alignment, let last = row.last { row[row.count - 1] = last.trimmed() }
            switch current {
            case .alignment?:
                position += 1
            case .rowBreak?:
                position += 1
                rows.append(row)
                row = []
            case .command("end")?:
                position += 1
                _ = rawGroup()
                rows.append(row)
                return rows.filter { !($0.count == 1 && $0[0].rows == [""]) }
            case .close?:
                position += 1  // a stray `}`
            default:
                rows.append(row)
                return rows.filter { !($0.count == 1 && $0[0].rows == [""]) }.ifEmpty([[MathBox("")]])
            }
        }
    }

    /// Atoms (with their scripts) up to a token `stop` accepts, which is left in place.
    private mutating func sequence(stop: (LaTeXToken) -> Bool) -> MathBox {
        var box = MathBox("")
        while let token = current, !stop(token) {
            var atom = self.atom()
            while let next = current, next == .superscript || next == .subscript {
                position += 1
                atom = LaTeXParser.attach(script: argument(), to: atom, superscript: next == .superscript)
            }
            if box.singleRow?.hasSuffix(" ") == true, let next = atom.singleRow, next.hasPrefix(" ") {
                atom = MathBox(String(next.dropFirst()))  // spaces around \text{ … } collapse
            }
            box = box.followed(by: atom)
        }
        return box
    }

    /// A `{group}`, one command with its arguments, or one character.
    private mutating func argument() -> MathBox {
        while current == .space { position += 1 }
        return atom()
    }

    private mutating func group() -> MathBox {
        let box = sequence { $0 == .close }
        if current == .close { position += 1 }
        return box
    }

    /// The source text of a `{…}` group (for `\text`, environment names and the like).
    private mutating func rawGroup() -> String {
        while current == .space { position += 1 }
        guard current == .open else {
            if case .character(let c)? = current { position += 1; return String(c) }
            return ""
        }
        position += 1
        var depth = 1
        var text = ""
        while let token = current {
            position += 1
            switch token {
            case .open: depth += 1; text += "{"
            case .close:
                depth -= 1
                if depth == 0 { return text }
                text += "}"
            case .command(let name):
                text += LaTeXSymbols.commands[name] ?? (name.count == 1 ? name : "\\" + name)
            case .superscript: text += "^"
            case .subscript: text += "_"
            case .alignment: text += "&"
            case .rowBreak: text += " "
            case .space: text += " "
            case .character(let c): text.append(c)
            }
        }
        return text
    }

    private mutating func atom() -> MathBox {
        guard let token = current else { return MathBox("") }
        position += 1
        switch token {
        case .open: return group()
        case .space: return MathBox(" ")
        case .character(let c): return MathBox(String(c))
        case .command(let name): return command(name)
        case .close, .alignment, .rowBreak: return MathBox(" ")
        case .superscript: return MathBox("^")
        case .subscript: return MathBox("_")
        }
    }

    private mutating func command(_ name: String) -> MathBox {
        if let symbol = LaTeXSymbols.commands[name] { return MathBox(symbol) }
        if LaTeXSymbols.functionNames.contains(name) { return MathBox(name) }
        if let mark = LaTeXSymbols.accents[name] {
            let base = argument()
            guard let text = base.singleRow else { return base }
            if name == "overline" || name == "underline" { return MathBox(text.map { String($0) + String(mark) }.joined()) }
            return MathBox(text + String(mark))
        }
        switch name {
        case "frac", "dfrac", "tfrac", "cfrac":
            let numerator = argument(), denominator = argument()
            return MathBox(LaTeXParser.operand(numerator) + "/" + LaTeXParser.operand(denominator))
        case "pmod":
            return MathBox("(mod " + (argument().singleRow ?? "") + ")")
        case "binom", "dbinom", "tbinom":
            let n = argument(), k = argument()
            return MathBox("C(" + (n.singleRow ?? "") + ", " + (k.singleRow ?? "") + ")")
        case "sqrt":
            var index: String?
            if current == .character("[") {
                position += 1
                index = sequence { $0 == .character("]") }.singleRow
                if current == .character("]") { position += 1 }
            }
            let radicand = LaTeXParser.operand(argument())
            switch index {
            case nil: return MathBox("√" + radicand)
            case "3"?: return MathBox("∛" + radicand)
            case "4"?: return MathBox("∜" + radicand)
            case let n?: return MathBox(LaTeXParser.scripted(n, LaTeXSymbols.superscripts) ?? "(\(n))" + "√" + radicand)
            }
        case "boxed", "fbox", "framebox":
            let content = argument()
            guard let text = content.singleRow else { return content }
            return MathBox(String(MathBox.boxStart) + text + String(MathBox.boxEnd))
        case "text", "textrm", "textnormal", "textit", "textbf", "textsf", "texttt", "mbox", "hbox", "operatorname",
             "mathrm", "mathit", "mathbf", "mathsf", "mathtt", "boldsymbol", "bm", "emph", "mathnormal":
            if name.hasPrefix("math") || name == "boldsymbol" || name == "bm" { return argument() }
            return MathBox(rawGroup())
        case "mathbb", "mathbbm", "Bbb": return MathBox(String(rawGroup().map(LaTeXSymbols.doubleStruck)))
        case "mathcal", "mathscr": return MathBox(String(rawGroup().map(LaTeXSymbols.script)))
        case "mathfrak": return MathBox(String(rawGroup().map(LaTeXSymbols.fraktur)))
        case "left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr", "middle":
            guard let token = current else { return MathBox("") }
            position += 1
            switch token {
            case .character("."): return MathBox("")
            case .character(let c): return MathBox(String(c))
            case .command(let n): return MathBox(LaTeXSymbols.commands[n] ?? n)
            default: return MathBox("")
            }
        case "begin": return environment(rawGroup())
        case "displaystyle", "textstyle", "scriptstyle", "limits", "nolimits", "nonumber", "notag", "label", "tag":
            if name == "label" || name == "tag" { _ = rawGroup() }
            return MathBox("")
        case "not":
            let next = argument()
            return MathBox((next.singleRow ?? "") + "\u{338}")
        case "stackrel", "overset", "underset":
            let over = argument(), base = argument()
            return MathBox((base.singleRow ?? "") + "^(" + (over.singleRow ?? "") + ")")
        default:
            return MathBox("\\" + name)
        }
    }

    private mutating func environment(_ name: String) -> MathBox {
        let bare = name.hasSuffix("*") ? String(name.dropLast()) : name
        if bare == "array" || bare == "alignat" { _ = rawGroup() }
        let isMatrix = bare.hasSuffix("matrix") || bare == "array" || bare == "cases" || bare == "dcases"
        let rows = table(untilEnd: true, trimCells: isMatrix)
        typealias D = MathBox.Delimiter
        let delimiters: (D?, D?)
        switch bare {
        case "pmatrix": delimiters = (.leftParen, .rightParen)
        case "bmatrix": delimiters = (.leftBracket, .rightBracket)
        case "Bmatrix": delimiters = (.leftBrace, .rightBrace)
        case "vmatrix": delimiters = (.bar, .bar)
        case "Vmatrix": delimiters = (.doubleBar, .doubleBar)
        case "cases", "dcases": delimiters = (.leftBrace, nil)
        default: delimiters = (nil, nil)
        }
        return MathBox.grid(rows, separator: isMatrix ? "  " : "", left: delimiters.0, right: delimiters.1)
    }

    /// A script attached to its base: Unicode script characters when every character has one.
    static func attach(script: MathBox, to base: MathBox, superscript: Bool) -> MathBox {
        let text = script.singleRow?.trimmingSpaces ?? ""
        let table = superscript ? LaTeXSymbols.superscripts : LaTeXSymbols.subscripts
        if let scripted = scripted(text, table) { return base.followed(by: MathBox(scripted)) }
        if superscript && text == "′" || text == "′′" { return base.followed(by: MathBox(text)) }
        let marker = superscript ? "^" : "_"
        let shown = text.count == 1 ? text : "(" + text + ")"
        return base.followed(by: MathBox(marker + shown))
    }

    static func scripted(_ text: String, _ table: [Character: Character]) -> String? {
        guard !text.isEmpty else { return nil }
        var out = ""
        for c in text {
            guard let s = table[c] else { return nil }
            out.append(s)
        }
        return out
    }

    /// A fraction's numerator or denominator, or a root's radicand: parenthesized unless it is one term.
    static func operand(_ box: MathBox) -> String {
        let text = (box.singleRow ?? box.rows.joined(separator: " ")).trimmingSpaces
        let simple = text.count == 1 || text.allSatisfy { c in
            c.isLetter || c.isNumber || c == "." || c == "," || LaTeXSymbols.superscripts.values.contains(c)
                || LaTeXSymbols.subscripts.values.contains(c)
        }
        return simple ? text : "(" + text + ")"
    }
}

private extension MathBox {
    /// The box without leading (and trailing) spaces on a single row.
    func trimmed(trailing: Bool = true) -> MathBox {
        guard let row = singleRow else { return self }
        return MathBox(trailing ? row.trimmingSpaces : String(row.drop(while: { $0 == " " })))
    }
}

private extension Array {
    func ifEmpty(_ fallback: Self) -> Self { isEmpty ? fallback : self }
}
