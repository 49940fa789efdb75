/// A ggml tensor type as GGUF stores it, with its block geometry.
///
/// Geometry is known for every type ggml defines, so a file's tensor table can be checked even
/// when magi cannot compute with one of its types; `isSupported` says whether the kernels can.
public struct TensorType: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    /// Values per block.
    public let blockElements: Int
    /// Bytes per block.
    public let blockBytes: Int
    public let name: String

    public init?(rawValue: UInt32) {
        guard let entry = Self.table[rawValue] else { return nil }
        self.rawValue = rawValue
        self.name = entry.name
        self.blockElements = entry.elements
        self.blockBytes = entry.bytes
    }

    public var description: String { name }

    /// Bytes in a row of `count` values, or nil when `count` is not a whole number of blocks.
    public func rowBytes(_ count: Int) -> Int? {
        guard count % blockElements == 0 else { return nil }
        return count / blockElements * blockBytes
    }

    /// Whether magi's kernels can dequantize and multiply this type.
    public var isSupported: Bool { Self.supported.contains(rawValue) }

    public static let f32 = TensorType(rawValue: 0)!
    public static let f16 = TensorType(rawValue: 1)!
    public static let q4_0 = TensorType(rawValue: 2)!
    public static let q4_1 = TensorType(rawValue: 3)!
    public static let q8_0 = TensorType(rawValue: 8)!
    public static let q4_K = TensorType(rawValue: 12)!
    public static let q6_K = TensorType(rawValue: 14)!
    public static let bf16 = TensorType(rawValue: 30)!

    private static let supported: Set<UInt32> = [0, 1, 2, 3, 6, 7, 8, 10, 11, 12, 13, 14, 30]

    private static let table: [UInt32: (name: String, elements: Int, bytes: Int)] = [
        0: ("F32", 1, 4), 1: ("F16", 1, 2),
        2: ("Q4_0", 32, 2 + 16), 3: ("Q4_1", 32, 4 + 16),
        6: ("Q5_0", 32, 2 + 4 + 16), 7: ("Q5_1", 32, 4 + 4 + 16),
        8: ("Q8_0", 32, 2 + 32), 9: ("Q8_1", 32, 4 + 32),
        10: ("Q2_K", 256, 16 + 64 + 4), 11: ("Q3_K", 256, 32 + 64 + 12 + 2),
        12: ("Q4_K", 256, 4 + 12 + 128), 13: ("Q5_K", 256, 4 + 12 + 32 + 128),
        14: ("Q6_K", 256, 128 + 64 + 16 + 2), 15: ("Q8_K", 256, 4 + 256 + 32),
        16: ("IQ2_XXS", 256, 66), 17: ("IQ2_XS", 256, 74), 18: ("IQ3_XXS", 256, 98),
        19: ("IQ1_S", 256, 50), 20: ("IQ4_NL", 32, 18), 21: ("IQ3_S", 256, 110),
        22: ("IQ2_S", 256, 82), 23: ("IQ4_XS", 256, 136),
        24: ("I8", 1, 1), 25: ("I16", 1, 2), 26: ("I32", 1, 4), 27: ("I64", 1, 8), 28: ("F64", 1, 8),
        29: ("IQ1_M", 256, 56), 30: ("BF16", 1, 2),
        34: ("TQ1_0", 256, 54), 35: ("TQ2_0", 256, 66), 39: ("MXFP4", 32, 17),
    ]
}
