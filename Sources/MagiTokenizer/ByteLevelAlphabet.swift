/// GPT-2's reversible byte ↔ character map used by byte-level BPE vocabularies.
///
/// Every byte is shown as one printable character: `!`…`~`, `¡`…`¬` and `®`…`ÿ` stand for
/// themselves; the remaining 68 bytes (controls, space, DEL, NBSP, soft hyphen…) are shifted to
/// U+0100 upwards in byte order (so space 0x20 is `Ġ` U+0120 and newline 0x0A is `Ċ` U+010A).
enum ByteLevelAlphabet {
    /// The code point that stands for each byte.
    static let codepointForByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            if standsForItself(UInt8(byte)) {
                table[byte] = UInt32(byte)
            } else {
                table[byte] = next
                next += 1
            }
        }
        return table
    }()

    /// The byte a code point stands for, or nil if it is not one of the 256 alphabet characters.
    @inline(__always)
    static func byte(for codepoint: UInt32) -> UInt8? {
        if codepoint < 256 {
            let byte = UInt8(codepoint)
            return standsForItself(byte) ? byte : nil
        }
        return codepoint < 256 + 68 ? bytesShiftedUp[Int(codepoint - 256)] : nil
    }

    /// Decodes a byte-level token text back to the bytes it stands for; nil if any character is outside
    /// the alphabet.
    static func bytes(forTokenText text: String) -> [UInt8]? {
        var result: [UInt8] = []
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            guard let byte = byte(for: scalar.value) else { return nil }
            result.append(byte)
        }
        return result
    }

    /// Encodes raw bytes as the alphabet text (what a byte-level token's text looks like).
    static func text(forBytes bytes: some Sequence<UInt8>) -> String {
        var scalars = String.UnicodeScalarView()
        for byte in bytes {
            scalars.append(Unicode.Scalar(codepointForByte[Int(byte)])!)
        }
        return String(scalars)
    }

    private static func standsForItself(_ byte: UInt8) -> Bool {
        (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
    }

    private static let bytesShiftedUp: [UInt8] = (0..<256).map { UInt8($0) }.filter { !standsForItself($0) }
}
