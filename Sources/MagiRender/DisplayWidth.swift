/// How many terminal cells text takes: East Asian wide characters two, combining marks none,
/// emoji sequences (ZWJ, flags, skin tones, VS16) two, as the PyPI package `wcwidth` measures.
///
/// Text is measured one grapheme cluster (`Character`) at a time, so a wrap never splits a
/// cluster. Control characters count zero; escape sequences are not expected here (styled text
/// keeps its styles apart from its characters).
public enum DisplayWidth {
    /// The cells `text` takes.
    public static func of(_ text: String) -> Int {
        var total = 0
        for character in text { total += of(character) }
        return total
    }

    /// The cells one grapheme cluster takes.
    public static func of(_ character: Character) -> Int {
        if let ascii = character.asciiValue { return ascii >= 0x20 && ascii < 0x7F ? 1 : 0 }
        var width = 0
        var base: UInt32?
        var previousWasVirama = false
        var skipNext = false
        var regionalIndicators = 0
        for scalar in character.unicodeScalars {
            let code = scalar.value
            if skipNext { skipNext = false; continue }
            if code == 0x200D {  // ZWJ: what it joins is drawn as one glyph with the base.
                if !previousWasVirama { skipNext = true }
                continue
            }
            if code == 0xFE0F, let b = base {
                if contains(DisplayWidthTables.narrowToWideWithVS16, b) { width = 2 }
                continue
            }
            if code == 0xFE0E, let b = base {
                if width == 2 && contains(DisplayWidthTables.wideToNarrowWithVS15, b) { width = 1 }
                continue
            }
            if (0x1F1E6...0x1F1FF).contains(code) {
                regionalIndicators += 1
                if regionalIndicators % 2 == 0 { continue }  // the second letter of a flag
            }
            if (0x1F3FB...0x1F3FF).contains(code) && base != nil { continue }  // skin tone
            let w = scalarWidth(code)
            if w > 0 {
                if previousWasVirama {
                    width = 2
                } else {
                    width += w
                }
                if base == nil { base = code }
                previousWasVirama = false
            } else if contains(DisplayWidthTables.virama, code) {
                previousWasVirama = base != nil
            } else if base != nil && contains(DisplayWidthTables.spacingMark, code) {
                width = 2
                previousWasVirama = false
            } else {
                previousWasVirama = false
            }
        }
        return width
    }

    /// The cells one code point takes on its own: 0, 1 or 2.
    static func scalarWidth(_ code: UInt32) -> Int {
        if code >= 0x20 && code < 0x7F { return 1 }
        if code < 0x20 || (0x7F..<0xA0).contains(code) { return 0 }
        if contains(DisplayWidthTables.zeroWidth, code) { return 0 }
        if contains(DisplayWidthTables.wide, code) { return 2 }
        return 1
    }

    /// Binary search in a sorted table of disjoint ranges.
    static func contains(_ table: [ClosedRange<UInt32>], _ code: UInt32) -> Bool {
        var low = 0
        var high = table.count - 1
        while low <= high {
            let mid = (low + high) / 2
            let range = table[mid]
            if code < range.lowerBound {
                high = mid - 1
            } else if code > range.upperBound {
                low = mid + 1
            } else {
                return true
            }
        }
        return false
    }
}
