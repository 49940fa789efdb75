/// A piece of converted math: text, or text framed by `\boxed{…}`.
enum MathPiece: Equatable {
    case text(String)
    case boxed(String)
}

/// TeX math converted to readable Unicode by ``LaTeXConverter``: rows (from `\\` in matrices
/// and aligned environments), each a sequence of pieces.
struct MathText: Equatable {
    var rows: [[MathPiece]]

    init(latex: String) {
        rows = LaTeXConverter().convert(latex)
    }

    /// The math as one line of plain text.
    var plainText: String {
        rows.map { row in
            row.map { piece -> String in
                switch piece {
                case .text(let t): return t
                case .boxed(let t): return "[" + t + "]"
                }
            }.joined()
        }.joined(separator: "; ")
    }
}
