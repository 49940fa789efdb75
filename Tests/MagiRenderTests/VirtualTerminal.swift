/// A terminal screen for the streaming tests: it applies printed text, `\r`, `\n`, cursor up
/// (`ESC [ n A`) and clear to end of screen / line (`ESC [ J`, `ESC [ K`), and ignores styles
/// and hyperlinks. The scrollback is unlimited, so the screen is every line ever kept.
struct VirtualTerminal {
    private(set) var lines: [[Character]] = [[]]
    private var row = 0
    private var column = 0
    /// The rows the cursor was moved up to, to check finished blocks are never redrawn.
    var cursorUpTargets: [Int] = []

    mutating func write(_ text: String) {
        var chars = Array(text)[...]
        while let c = chars.popFirst() {
            switch c {
            case "\n":
                row += 1
                column = 0
                if row == lines.count { lines.append([]) }
            case "\r":
                column = 0
            case "\u{1B}":
                if chars.first == "[" {
                    chars.removeFirst()
                    var parameter = ""
                    while let p = chars.first, p.isNumber || p == ";" { parameter.append(p); chars.removeFirst() }
                    let command = chars.popFirst()
                    switch command {
                    case "A":
                        row = max(0, row - (Int(parameter) ?? 1))
                        cursorUpTargets.append(row)
                    case "J":
                        lines[row].removeSubrange(min(column, lines[row].count)...)
                        lines.removeSubrange((row + 1)...)
                    case "K":
                        lines[row].removeSubrange(min(column, lines[row].count)...)
                    default:
                        break  // SGR and the like
                    }
                } else if chars.first == "]" {
                    while let p = chars.popFirst() {
                        if p == "\u{07}" || (p == "\u{1B}" && chars.first == "\\") {
                            if p == "\u{1B}" { chars.removeFirst() }
                            break
                        }
                    }
                }
            default:
                while lines[row].count < column { lines[row].append(" ") }
                if column < lines[row].count { lines[row][column] = c } else { lines[row].append(c) }
                column += 1
            }
        }
    }

    /// The screen as text: its lines, each ended by a newline (the cursor's empty line left out).
    var screen: String {
        var all = lines.map { String($0) }
        if all.last == "" { all.removeLast() }
        return all.map { $0 + "\n" }.joined()
    }
}
