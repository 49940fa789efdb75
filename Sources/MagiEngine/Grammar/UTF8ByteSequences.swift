/// Turns sets of code points into the UTF-8 byte patterns that spell them, so grammars can be matched
/// byte by byte (the method of Rust's `regex-syntax` `Utf8Sequences`).
enum UTF8ByteSequences {
    /// The byte patterns of every code point in `ranges` (or, `negated`, outside them), surrogates
    /// excluded. Each pattern is a list of byte sets, one per encoded byte; patterns that differ only in
    /// their first byte are merged.
    static func patterns(of ranges: [ClosedRange<UInt32>], negated: Bool) -> [[ByteSet]] {
        var sequences: [[ClosedRange<UInt8>]] = []
        for range in codePoints(ranges, negated: negated) { split(range.lowerBound, range.upperBound, into: &sequences) }
        var single = ByteSet()
        var byTail: [[ByteSet]] = []
        var tailIndex: [[ByteSet]: Int] = [:]
        for sequence in sequences {
            if sequence.count == 1 {
                single.insert(sequence[0])
                continue
            }
            let tail = sequence.dropFirst().map { ByteSet($0) }
            if let k = tailIndex[tail] {
                byTail[k][0].insert(sequence[0])
            } else {
                tailIndex[tail] = byTail.count
                byTail.append([ByteSet(sequence[0])] + tail)
            }
        }
        return (single.isEmpty ? [] : [[single]]) + byTail
    }

    /// Sorted, merged, surrogate-free ranges of the class.
    private static func codePoints(_ ranges: [ClosedRange<UInt32>], negated: Bool) -> [ClosedRange<UInt32>] {
        var merged: [ClosedRange<UInt32>] = []
        for r in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = merged.last, r.lowerBound <= last.upperBound &+ 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
            } else {
                merged.append(r)
            }
        }
        if negated {
            var complement: [ClosedRange<UInt32>] = []
            var next: UInt32 = 0
            for r in merged {
                if r.lowerBound > next { complement.append(next...(r.lowerBound - 1)) }
                next = r.upperBound + 1
            }
            if next <= 0x10FFFF { complement.append(next...0x10FFFF) }
            merged = complement
        }
        var result: [ClosedRange<UInt32>] = []
        for r in merged where r.lowerBound <= 0x10FFFF {
            let r = r.lowerBound...min(r.upperBound, 0x10FFFF)
            if r.upperBound < 0xD800 || r.lowerBound > 0xDFFF {
                result.append(r)
            } else {
                if r.lowerBound < 0xD800 { result.append(r.lowerBound...0xD7FF) }
                if r.upperBound > 0xDFFF { result.append(0xE000...r.upperBound) }
            }
        }
        return result
    }

    private static let lengthLimits: [UInt32] = [0x7F, 0x7FF, 0xFFFF]

    private static func split(_ low: UInt32, _ high: UInt32, into out: inout [[ClosedRange<UInt8>]]) {
        for limit in lengthLimits where low <= limit && limit < high {
            split(low, limit, into: &out)
            split(limit + 1, high, into: &out)
            return
        }
        let length = encodedLength(low)
        if length > 1 {
            for i in 1..<length {
                let m: UInt32 = (1 << (6 * UInt32(i))) - 1
                guard low & ~m != high & ~m else { continue }
                if low & m != 0 {
                    split(low, low | m, into: &out)
                    split((low | m) + 1, high, into: &out)
                    return
                }
                if high & m != m {
                    split(low, (high & ~m) - 1, into: &out)
                    split(high & ~m, high, into: &out)
                    return
                }
            }
        }
        let a = encode(low), b = encode(high)
        out.append((0..<a.count).map { a[$0]...b[$0] })
    }

    private static func encodedLength(_ c: UInt32) -> Int { c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4 }

    /// The UTF-8 bytes of a code point.
    static func encode(_ c: UInt32) -> [UInt8] {
        switch encodedLength(c) {
        case 1: return [UInt8(c)]
        case 2: return [UInt8(0xC0 | c >> 6), UInt8(0x80 | c & 0x3F)]
        case 3: return [UInt8(0xE0 | c >> 12), UInt8(0x80 | (c >> 6) & 0x3F), UInt8(0x80 | c & 0x3F)]
        default:
            return [UInt8(0xF0 | c >> 18), UInt8(0x80 | (c >> 12) & 0x3F), UInt8(0x80 | (c >> 6) & 0x3F), UInt8(0x80 | c & 0x3F)]
        }
    }
}

/// A set of byte values, as four 64-bit words.
struct ByteSet: Hashable, Sendable {
    var words = SIMD4<UInt64>(repeating: 0)

    init() {}
    init(_ range: ClosedRange<UInt8>) { insert(range) }

    var isEmpty: Bool { words == SIMD4(repeating: 0) }

    mutating func insert(_ range: ClosedRange<UInt8>) {
        for b in range { words[Int(b >> 6)] |= 1 << UInt64(b & 63) }
    }

    func contains(_ b: UInt8) -> Bool { words[Int(b >> 6)] >> UInt64(b & 63) & 1 != 0 }
}
