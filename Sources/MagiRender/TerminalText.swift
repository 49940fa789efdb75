/// Helpers for text that already holds terminal escape sequences.
public enum TerminalText {
    /// `text` without CSI sequences (`ESC [ … letter`) and OSC sequences (`ESC ] … ST|BEL`).
    public static func strippingEscapes(_ text: String) -> String {
        guard text.contains("\u{1B}") else { return text }
        var out = ""
        var scalars = text.unicodeScalars.makeIterator()
        while let s = scalars.next() {
            guard s == "\u{1B}" else { out.unicodeScalars.append(s); continue }
            switch scalars.next() {
            case "["?:
                while let c = scalars.next(), !(0x40...0x7E).contains(c.value) {}
            case "]"?:
                var previous: Unicode.Scalar?
                while let c = scalars.next() {
                    if c == "\u{07}" || (previous == "\u{1B}" && c == "\\") { break }
                    previous = c
                }
            default:
                break
            }
        }
        return out
    }
}
