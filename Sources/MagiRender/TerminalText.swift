/// Text on its way to a terminal: control characters from outside shown rather than obeyed, and
/// magi's own escape sequences measured away.
public enum TerminalText {
    /// `text` with every control character a terminal would act on written out visibly, so that
    /// text from outside magi (a model, a tool, a page, a server) can never move the cursor, clear
    /// the screen, set the window title or write the clipboard.
    ///
    /// C0 controls become caret notation (`ESC` → `^[`, `BEL` → `^G`), `DEL` → `^?`, and C1
    /// controls (U+0080–U+009F, among them the one-character CSI U+009B) → `\x9b`. Newline and tab
    /// stay, and so does a carriage return right before a newline (a CRLF line end); a lone
    /// carriage return, which could overwrite what a line showed, becomes `^M`. The bidirectional
    /// embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069), which reorder what
    /// follows them so that text reads otherwise than it is (Trojan Source, CVE-2021-42574), become
    /// `<U+202E>`. Text without such characters comes back unchanged.
    public static func visible(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscaping) else { return text }
        var out = String.UnicodeScalarView()
        var scalars = text.unicodeScalars.makeIterator()
        var next = scalars.next()
        while let scalar = next {
            next = scalars.next()
            if scalar == "\r" && next == "\n" {
                out.append(scalar)
            } else if needsEscaping(scalar) {
                out.append(contentsOf: notation(for: scalar).unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// True for the characters ``visible(_:)`` writes out: C0 but newline and tab, DEL, C1, and
    /// the bidirectional controls that reorder text.
    public static func needsEscaping(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        return (v < 0x20 && v != 0x0A && v != 0x09) || (0x7F...0x9F).contains(v) || isReorderingBidiControl(v)
    }

    /// LRE, RLE, PDF, LRO, RLO and LRI, RLI, FSI, PDI: the characters that change the order of the
    /// text after them, as rustc's and GCC's Trojan Source warnings list them. The marks LRM, RLM
    /// and ALM (U+200E, U+200F, U+061C) stay: they reorder nothing past the neutral characters
    /// beside them, and right-to-left text uses them as punctuation.
    private static func isReorderingBidiControl(_ v: UInt32) -> Bool {
        (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v)
    }

    private static func notation(for scalar: Unicode.Scalar) -> String {
        let v = scalar.value
        if v < 0x20 { return "^" + String(Unicode.Scalar(UInt8(v + 0x40))) }
        if v == 0x7F { return "^?" }
        if v > 0xFF { return "<U+" + String(v, radix: 16, uppercase: true) + ">" }
        return "\\x" + String(v, radix: 16)
    }

    /// `text` without CSI sequences (`ESC [ … letter`) and OSC sequences (`ESC ] … ST|BEL`): the
    /// visible part of a line magi styled itself, for measuring it.
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
