/// The Unicode facts the pre-tokenizers need about one code point: its general category group
/// (`\p{L}`, `\p{N}`, …) and whether it is white space (`\s`).
///
/// llama.cpp classifies code points with tables generated from Unicode 15.1; Swift's own tables are
/// newer. Code points assigned after Unicode 15.1 are therefore reported as ``Group/unassigned``,
/// which makes this classification agree with llama.cpp's for every code point (checked over the whole
/// code space against llama.cpp's `unicode_cpt_flags_from_cpt`).
struct CodepointCategory: Equatable {
    /// The general category group (the first letter of the Unicode general category).
    enum Group: UInt8 {
        case unassigned, number, letter, separator, mark, punctuation, symbol, other
    }

    var group: Group
    /// Unicode `White_Space` (what llama.cpp's `is_whitespace` and regex `\s` mean).
    var isWhitespace: Bool

    var isLetter: Bool { group == .letter }
    var isNumber: Bool { group == .number }
    var isPunctuation: Bool { group == .punctuation }

    /// The category of a code point; values outside the code space are unassigned.
    @inline(__always)
    static func of(_ codepoint: UInt32) -> CodepointCategory {
        if codepoint < 0x10000 {
            return CodepointCategory(packed: basicMultilingualPlane[Int(codepoint)])
        }
        return CodepointCategory(packed: computePacked(codepoint))
    }

    private init(group: Group, isWhitespace: Bool) {
        self.group = group
        self.isWhitespace = isWhitespace
    }

    private init(packed: UInt8) {
        self.group = Group(rawValue: packed & 0x7F) ?? .unassigned
        self.isWhitespace = packed & 0x80 != 0
    }

    /// Precomputed categories of the Basic Multilingual Plane (64 KiB, built once).
    private static let basicMultilingualPlane: [UInt8] = (0..<0x10000).map { computePacked(UInt32($0)) }

    private static func computePacked(_ codepoint: UInt32) -> UInt8 {
        guard let scalar = Unicode.Scalar(codepoint) else {
            // Surrogates (llama.cpp: control) and values past U+10FFFF.
            return codepoint < 0x110000 ? Group.other.rawValue : Group.unassigned.rawValue
        }
        let properties = scalar.properties
        let whitespace: UInt8 = properties.isWhitespace ? 0x80 : 0
        if let age = properties.age, (age.major, age.minor) > (15, 1) {
            return Group.unassigned.rawValue | whitespace
        }
        let group: Group
        switch properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber:
            group = .number
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            group = .letter
        case .spaceSeparator, .lineSeparator, .paragraphSeparator:
            group = .separator
        case .nonspacingMark, .spacingMark, .enclosingMark:
            group = .mark
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            group = .punctuation
        case .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            group = .symbol
        case .control, .format, .surrogate, .privateUse:
            group = .other
        case .unassigned:
            group = .unassigned
        @unknown default:
            group = .unassigned
        }
        return group.rawValue | whitespace
    }
}
