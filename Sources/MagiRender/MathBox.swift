/// Converted math as a small block of text rows with a baseline, so a matrix or cases can sit
/// in a line with other math (`A = ⎛1 0⎞` on the middle row). Boxed text is marked in the rows
/// by two private-use sentinels that take no cell.
struct MathBox: Equatable {
    var rows: [String]
    /// The row that lines up with the text around it.
    var baseline: Int

    static let boxStart: Character = "\u{E000}"
    static let boxEnd: Character = "\u{E001}"

    init(_ text: String) {
        rows = [text]
        baseline = 0
    }

    init(rows: [String], baseline: Int) {
        self.rows = rows.isEmpty ? [""] : rows
        self.baseline = min(max(0, baseline), self.rows.count - 1)
    }

    /// The text of a one-row box, else nil.
    var singleRow: String? { rows.count == 1 ? rows[0] : nil }

    var width: Int { rows.map(Self.width(of:)).max() ?? 0 }

    static func width(of row: String) -> Int {
        DisplayWidth.of(String(row.filter { $0 != boxStart && $0 != boxEnd }))
    }

    /// `self` followed by `other`, baselines lined up.
    func followed(by other: MathBox) -> MathBox {
        if let a = singleRow, let b = other.singleRow { return MathBox(a + b) }
        let above = max(baseline, other.baseline)
        let below = max(rows.count - baseline, other.rows.count - other.baseline)
        let leftWidth = width
        let combined = (0..<(above + below)).map { i -> String in
            let l = i - (above - baseline), r = i - (above - other.baseline)
            let left = rows.indices.contains(l) ? rows[l] : ""
            let right = other.rows.indices.contains(r) ? other.rows[r] : ""
            return left + String(repeating: " ", count: leftWidth - Self.width(of: left)) + right
        }
        return MathBox(rows: combined.map(Self.trimmingTrailingSpaces), baseline: above)
    }

    /// Rows of cells laid out in columns (each padded to its widest cell), joined by `separator`,
    /// between a left and a right delimiter drawn to the height of the rows.
    static func grid(_ cells: [[MathBox]], separator: String, left: Delimiter?, right: Delimiter?) -> MathBox {
        let columns = cells.map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: columns)
        for row in cells { for (c, cell) in row.enumerated() { widths[c] = max(widths[c], cell.width) } }
        var lines: [String] = []
        for row in cells {
            var line = MathBox("")
            for (c, cell) in row.enumerated() {
                if c > 0 { line = line.followed(by: MathBox(separator)) }
                let padded = MathBox(rows: cell.rows.map { $0 + String(repeating: " ", count: widths[c] - width(of: $0)) },
                                     baseline: cell.baseline)
                line = line.followed(by: padded)
            }
            lines += line.rows.map { $0 + String(repeating: " ", count: max(0, line.width - width(of: $0))) }
        }
        let height = lines.count
        let body = lines.enumerated().map { i, line -> String in
            (left?.glyph(row: i, of: height) ?? "") + line + (right?.glyph(row: i, of: height) ?? "")
        }
        return MathBox(rows: body.map(trimmingTrailingSpaces), baseline: (height - 1) / 2)
    }

    private static func trimmingTrailingSpaces(_ s: String) -> String {
        String(s.reversed().drop(while: { $0 == " " }).reversed())
    }

    /// A bracket that grows with the rows it encloses.
    enum Delimiter {
        case leftParen, rightParen, leftBracket, rightBracket, leftBrace, rightBrace, bar, doubleBar

        func glyph(row: Int, of height: Int) -> String {
            let (single, top, middle, bottom): (String, String, String, String)
            switch self {
            case .leftParen: (single, top, middle, bottom) = ("(", "⎛", "⎜", "⎝")
            case .rightParen: (single, top, middle, bottom) = (")", "⎞", "⎟", "⎠")
            case .leftBracket: (single, top, middle, bottom) = ("[", "⎡", "⎢", "⎣")
            case .rightBracket: (single, top, middle, bottom) = ("]", "⎤", "⎥", "⎦")
            case .leftBrace: (single, top, middle, bottom) = ("{", "⎧", "⎪", "⎩")
            case .rightBrace: (single, top, middle, bottom) = ("}", "⎫", "⎪", "⎭")
            case .bar: (single, top, middle, bottom) = ("|", "│", "│", "│")
            case .doubleBar: (single, top, middle, bottom) = ("‖", "‖", "‖", "‖")
            }
            if height == 1 { return single }
            let isBrace = self == .leftBrace || self == .rightBrace
            if isBrace && height > 2 && row == (height - 1) / 2 { return self == .leftBrace ? "⎨" : "⎬" }
            return row == 0 ? top : row == height - 1 ? bottom : middle
        }
    }
}
