/// Draws a GFM table with box-drawing borders: columns as wide as their widest cell, narrowed
/// (widest first) until the table fits the width, cell text wrapped and aligned in its column.
struct TableLayout {
    let table: MarkdownTable
    let styler: InlineStyler

    private var theme: Theme { styler.options.theme }

    func lines(width: Int) -> [StyledLine] {
        let columns = max(table.alignments.count, table.rows.map(\.count).max() ?? 0)
        guard columns > 0 else { return [] }
        let cells: [[[StyledRun]]] = table.rows.enumerated().map { index, row in
            (0..<columns).map { column in
                let content = column < row.count ? row[column] : []
                return styler.runs(content, style: index == 0 ? theme.tableHeader : .plain)
            }
        }
        let widths = columnWidths(cells, columns: columns, available: width - 3 * columns - 1)
        var out = [border("┌", "┬", "┐", widths)]
        for (index, row) in cells.enumerated() {
            out += rowLines(row, widths: widths)
            if index == 0 && cells.count > 1 { out.append(border("├", "┼", "┤", widths)) }
        }
        out.append(border("└", "┴", "┘", widths))
        return out
    }

    private func columnWidths(_ cells: [[[StyledRun]]], columns: Int, available: Int) -> [Int] {
        var widths = [Int](repeating: 1, count: columns)
        for row in cells {
            for (column, runs) in row.enumerated() {
                let natural = runs.map(\.text).joined().split(separator: "\n", omittingEmptySubsequences: false)
                    .map { DisplayWidth.of(String($0)) }.max() ?? 0
                widths[column] = max(widths[column], natural)
            }
        }
        // Narrow the widest column, one cell at a time, until the table fits.
        var excess = widths.reduce(0, +) - max(available, columns)
        while excess > 0, let widest = widths.indices.max(by: { widths[$0] < widths[$1] }), widths[widest] > 1 {
            widths[widest] -= 1
            excess -= 1
        }
        return widths
    }

    private func border(_ left: String, _ middle: String, _ right: String, _ widths: [Int]) -> StyledLine {
        let text = left + widths.map { String(repeating: "─", count: $0 + 2) }.joined(separator: middle) + right
        return StyledLine(text, theme.tableBorder)
    }

    private func rowLines(_ row: [[StyledRun]], widths: [Int]) -> [StyledLine] {
        let wrapped = row.enumerated().map { column, runs in TextWrapper(width: widths[column]).wrap(runs) }
        let height = wrapped.map(\.count).max() ?? 1
        return (0..<height).map { lineIndex in
            var line = StyledLine("│", theme.tableBorder)
            for (column, cellLines) in wrapped.enumerated() {
                let content = lineIndex < cellLines.count ? cellLines[lineIndex] : StyledLine()
                let padding = max(0, widths[column] - content.width)
                let alignment = column < table.alignments.count ? table.alignments[column] : .none
                let before: Int
                switch alignment {
                case .right: before = padding
                case .center: before = padding / 2
                case .left, .none: before = 0
                }
                line.append(String(repeating: " ", count: before + 1))
                line.append(content)
                line.append(String(repeating: " ", count: padding - before + 1))
                line.append("│", theme.tableBorder)
            }
            return line
        }
    }
}
