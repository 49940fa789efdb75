/// Greedy word wrapping of styled text to a number of cells. Lines break at spaces, between
/// two wide (CJK) characters, and at `\n` (a hard break); a word longer than a line is cut
/// between grapheme clusters. Spaces at a break are dropped.
struct TextWrapper {
    let width: Int

    init(width: Int) { self.width = max(1, width) }

    /// One character with its look, the unit the wrapper moves around.
    private struct Cell {
        let character: Character
        let width: Int
        let style: TextStyle
        let link: String?
    }

    func wrap(_ runs: [StyledRun]) -> [StyledLine] {
        var lines: [StyledLine] = []
        var line = StyledLine()
        var lineWidth = 0
        var pendingSpaces: [Cell] = []
        var word: [Cell] = []

        func emit(_ cells: [Cell], into line: inout StyledLine) {
            for cell in cells { line.append(String(cell.character), cell.style, link: cell.link) }
        }
        func breakLine() {
            lines.append(line)
            line = StyledLine()
            lineWidth = 0
        }
        func flushWord() {
            guard !word.isEmpty else { return }
            let wordWidth = word.reduce(0) { $0 + $1.width }
            let spaceWidth = pendingSpaces.reduce(0) { $0 + $1.width }
            if lineWidth + spaceWidth + wordWidth <= width {
                emit(pendingSpaces, into: &line)
                lineWidth += spaceWidth
            } else if lineWidth > 0 {
                breakLine()
            }
            pendingSpaces = []
            for cell in word {
                if lineWidth + cell.width > width && lineWidth > 0 { breakLine() }
                emit([cell], into: &line)
                lineWidth += cell.width
            }
            word = []
        }

        for run in runs {
            for character in run.text {
                if character == "\n" {
                    flushWord()
                    pendingSpaces = []
                    breakLine()
                    continue
                }
                let cell = Cell(character: character, width: DisplayWidth.of(character), style: run.style, link: run.link)
                if character == " " || character == "\t" {
                    flushWord()
                    pendingSpaces.append(Cell(character: " ", width: 1, style: run.style, link: run.link))
                } else if cell.width == 2 {
                    // Wide characters may break on either side, like CJK text does.
                    flushWord()
                    word = [cell]
                    flushWord()
                } else {
                    word.append(cell)
                }
            }
        }
        flushWord()
        if lineWidth > 0 || lines.isEmpty || !line.runs.isEmpty { lines.append(line) }
        return lines
    }
}
