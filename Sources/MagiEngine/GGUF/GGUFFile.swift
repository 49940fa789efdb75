/// A metadata value of a GGUF file.
public enum GGUFValue: Equatable, Sendable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool), string(String)
    case array([GGUFValue])

    /// The value as an integer, if it is one of the integer types.
    public var intValue: Int? {
        switch self {
        case let .uint8(v): return Int(v)
        case let .int8(v): return Int(v)
        case let .uint16(v): return Int(v)
        case let .int16(v): return Int(v)
        case let .uint32(v): return Int(v)
        case let .int32(v): return Int(v)
        case let .uint64(v): return v <= UInt64(Int.max) ? Int(v) : nil
        case let .int64(v): return Int(v)
        default: return nil
        }
    }

    /// The value as a floating-point number, if it is numeric.
    public var doubleValue: Double? {
        switch self {
        case let .float32(v): return Double(v)
        case let .float64(v): return v
        default: return intValue.map(Double.init)
        }
    }

    public var stringValue: String? { if case let .string(s) = self { return s } else { return nil } }
    public var boolValue: Bool? { if case let .bool(b) = self { return b } else { return nil } }
    public var arrayValue: [GGUFValue]? { if case let .array(a) = self { return a } else { return nil } }
}

/// One entry of a GGUF tensor table, with its data located inside the mapping.
public struct GGUFTensor: Sendable {
    public let name: String
    /// Dimensions as ggml orders them: `shape[0]` is the number of values in a row.
    public let shape: [Int]
    public let type: TensorType
    /// Offset of the data from the start of the file.
    public let fileOffset: Int
    public let byteCount: Int

    public var elementCount: Int { shape.reduce(1, *) }
    /// Rows of a matrix (the product of every dimension but the first).
    public var rowCount: Int { shape.dropFirst().reduce(1, *) }
}

/// A GGUF model file (version 2 or 3) mapped into memory: its metadata and its tensor table.
///
/// Every count, length and offset is checked against the file's size before it is used, so a
/// corrupt or hostile file fails with a `GGUFError` rather than a crash or a huge allocation.
// Sendable by hand: immutable after `init`; the tensors are read-only pointers into `mapping`.
public final class GGUFFile: @unchecked Sendable {
    public let mapping: MappedFile
    public let version: UInt32
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    public let tensors: [GGUFTensor]
    public let alignment: Int
    private let tensorIndex: [String: Int]

    public var path: String { mapping.path }

    /// Opens and validates the GGUF file at `path`.
    public convenience init(path: String) throws {
        try self.init(mapping: MappedFile(path: path))
    }

    public init(mapping: MappedFile) throws {
        self.mapping = mapping
        var reader = GGUFReader(base: mapping.base, count: mapping.count)
        let magic = try reader.bytes(4, what: "magic")
        guard magic == Array("GGUF".utf8) else {
            throw GGUFError.notGGUF(magic: String(decoding: magic, as: UTF8.self))
        }
        version = try reader.read(UInt32.self, what: "version")
        guard version == 2 || version == 3 else { throw GGUFError.unsupportedVersion(version) }
        let tensorCount = try reader.read(UInt64.self, what: "tensor count")
        let keyCount = try reader.read(UInt64.self, what: "metadata count")
        // Each metadata entry needs at least 8 (key length) + 4 (type) + 1 bytes; each tensor 8 + 4 + 8 + 4 + 8.
        try reader.checkCount(keyCount, minimumBytesEach: 13, what: "metadata count")
        try reader.checkCount(tensorCount, minimumBytesEach: 32, what: "tensor count")

        var metadata: [String: GGUFValue] = [:]
        var keys: [String] = []
        keys.reserveCapacity(Int(keyCount))
        for _ in 0..<keyCount {
            let key = try reader.string()
            let typeCode = try reader.read(UInt32.self, what: "value type of \(key)")
            let value = try reader.value(type: typeCode, key: key, depth: 0)
            guard metadata.updateValue(value, forKey: key) == nil else { throw GGUFError.duplicateKey(key) }
            keys.append(key)
        }
        self.metadata = metadata
        self.metadataKeys = keys

        var alignment = 32
        if let value = metadata["general.alignment"] {
            guard let a = value.intValue, a > 0, a & (a - 1) == 0, a <= 1 << 20 else {
                throw GGUFError.badAlignment(UInt64(truncatingIfNeeded: value.intValue ?? 0))
            }
            alignment = a
        }
        self.alignment = alignment

        struct RawTensor { let name: String; let shape: [Int]; let type: TensorType; let offset: UInt64; let bytes: Int }
        var raw: [RawTensor] = []
        raw.reserveCapacity(Int(tensorCount))
        var index: [String: Int] = [:]
        for _ in 0..<tensorCount {
            let name = try reader.string()
            let dimCount = try reader.read(UInt32.self, what: "dimension count of \(name)")
            guard (1...4).contains(dimCount) else {
                throw GGUFError.badTensorShape(name: name, reason: "has \(dimCount) dimensions (1 to 4 allowed)")
            }
            var shape: [Int] = []
            var elements = 1
            for _ in 0..<dimCount {
                let d = try reader.read(UInt64.self, what: "shape of \(name)")
                guard d > 0, d < UInt64(1) << 40 else {
                    throw GGUFError.badTensorShape(name: name, reason: "has dimension \(d)")
                }
                let (product, overflow) = elements.multipliedReportingOverflow(by: Int(d))
                guard !overflow, product < 1 << 48 else {
                    throw GGUFError.badTensorShape(name: name, reason: "has too many elements")
                }
                elements = product
                shape.append(Int(d))
            }
            let typeCode = try reader.read(UInt32.self, what: "type of \(name)")
            guard let type = TensorType(rawValue: typeCode) else { throw GGUFError.unknownTensorType(name: name, type: typeCode) }
            guard let rowBytes = type.rowBytes(shape[0]) else {
                throw GGUFError.badTensorShape(name: name, reason: "has rows of \(shape[0]) values, not a multiple of \(type)'s block of \(type.blockElements)")
            }
            let offset = try reader.read(UInt64.self, what: "offset of \(name)")
            guard offset % UInt64(alignment) == 0 else {
                throw GGUFError.badTensorShape(name: name, reason: "has offset \(offset), not aligned to \(alignment)")
            }
            guard index.updateValue(raw.count, forKey: name) == nil else { throw GGUFError.duplicateTensor(name) }
            raw.append(RawTensor(name: name, shape: shape, type: type, offset: offset, bytes: rowBytes * (elements / shape[0])))
        }
        let dataStart = (reader.offset + alignment - 1) / alignment * alignment
        var tensors: [GGUFTensor] = []
        tensors.reserveCapacity(raw.count)
        for t in raw {
            guard t.offset <= UInt64(mapping.count), dataStart + Int(t.offset) + t.bytes <= mapping.count else {
                throw GGUFError.tensorOutOfBounds(name: t.name)
            }
            tensors.append(GGUFTensor(name: t.name, shape: t.shape, type: t.type,
                                      fileOffset: dataStart + Int(t.offset), byteCount: t.bytes))
        }
        self.tensors = tensors
        self.tensorIndex = index
    }

    /// The tensor named `name`, if the file has one.
    public func tensor(_ name: String) -> GGUFTensor? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// Pointer to a tensor's data inside the mapping.
    public func data(of tensor: GGUFTensor) -> UnsafeRawPointer {
        mapping.base + tensor.fileOffset
    }

    // MARK: Typed metadata access

    public func string(_ key: String) throws -> String {
        guard let v = metadata[key] else { throw GGUFError.missingKey(key) }
        guard let s = v.stringValue else { throw GGUFError.wrongKeyType(key: key, expected: "a string") }
        return s
    }

    public func int(_ key: String) throws -> Int {
        guard let v = metadata[key] else { throw GGUFError.missingKey(key) }
        guard let i = v.intValue else { throw GGUFError.wrongKeyType(key: key, expected: "an integer") }
        return i
    }

    public func optionalInt(_ key: String) throws -> Int? {
        guard metadata[key] != nil else { return nil }
        return try int(key)
    }

    public func optionalDouble(_ key: String) throws -> Double? {
        guard let v = metadata[key] else { return nil }
        guard let d = v.doubleValue else { throw GGUFError.wrongKeyType(key: key, expected: "a number") }
        return d
    }

    public func optionalBool(_ key: String) throws -> Bool? {
        guard let v = metadata[key] else { return nil }
        guard let b = v.boolValue else { throw GGUFError.wrongKeyType(key: key, expected: "a boolean") }
        return b
    }

    public func optionalString(_ key: String) throws -> String? {
        guard metadata[key] != nil else { return nil }
        return try string(key)
    }

    public func stringArray(_ key: String) throws -> [String]? {
        guard let v = metadata[key] else { return nil }
        guard let a = v.arrayValue else { throw GGUFError.wrongKeyType(key: key, expected: "an array of strings") }
        return try a.map {
            guard let s = $0.stringValue else { throw GGUFError.wrongKeyType(key: key, expected: "an array of strings") }
            return s
        }
    }
}

/// A bounds-checked little-endian cursor over the mapped bytes.
struct GGUFReader {
    let base: UnsafeRawPointer
    let count: Int
    private(set) var offset = 0

    init(base: UnsafeRawPointer, count: Int) {
        self.base = base
        self.count = count
    }

    var remaining: Int { count - offset }

    mutating func read<T: FixedWidthInteger>(_: T.Type, what: String) throws -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw GGUFError.truncated(what: what, offset: offset) }
        let v = base.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += size
        return T(littleEndian: v)
    }

    mutating func bytes(_ n: Int, what: String) throws -> [UInt8] {
        guard n >= 0, remaining >= n else { throw GGUFError.truncated(what: what, offset: offset) }
        let out = Array(UnsafeRawBufferPointer(start: base + offset, count: n))
        offset += n
        return out
    }

    func checkCount(_ n: UInt64, minimumBytesEach: Int, what: String) throws {
        guard n <= UInt64(remaining / minimumBytesEach) else { throw GGUFError.implausibleCount(what: what, count: n) }
    }

    mutating func string() throws -> String {
        let start = offset
        let length = try read(UInt64.self, what: "string length")
        guard length <= UInt64(remaining) else {
            throw GGUFError.truncated(what: "string of \(length) bytes", offset: start)
        }
        let buffer = UnsafeRawBufferPointer(start: base + offset, count: Int(length))
        guard let s = String(validating: buffer, as: UTF8.self) else { throw GGUFError.invalidString(offset: start) }
        offset += Int(length)
        return s
    }

    /// The deepest metadata arrays may nest.
    static let maxArrayDepth = 4
    /// The most elements a metadata array may hold (vocabularies have a few hundred thousand).
    static let maxArrayLength: UInt64 = 1 << 24

    /// Reads one metadata value of GGUF type `type`. Arrays of arrays nest at most ``maxArrayDepth`` levels.
    mutating func value(type: UInt32, key: String, depth: Int) throws -> GGUFValue {
        switch type {
        case 0: return .uint8(try read(UInt8.self, what: key))
        case 1: return .int8(try read(Int8.self, what: key))
        case 2: return .uint16(try read(UInt16.self, what: key))
        case 3: return .int16(try read(Int16.self, what: key))
        case 4: return .uint32(try read(UInt32.self, what: key))
        case 5: return .int32(try read(Int32.self, what: key))
        case 6: return .float32(Float(bitPattern: try read(UInt32.self, what: key)))
        case 7:
            let b = try read(UInt8.self, what: key)
            return .bool(b != 0)
        case 8: return .string(try string())
        case 9:
            guard depth < Self.maxArrayDepth else { throw GGUFError.arrayTooDeep(key: key, limit: Self.maxArrayDepth) }
            let elementType = try read(UInt32.self, what: "array type of \(key)")
            let n = try read(UInt64.self, what: "array length of \(key)")
            try checkCount(n, minimumBytesEach: Self.minimumSize(of: elementType), what: "length of array \(key)")
            guard n <= Self.maxArrayLength else { throw GGUFError.arrayTooLong(key: key, count: n, limit: Self.maxArrayLength) }
            var items: [GGUFValue] = []
            items.reserveCapacity(Int(n))
            for _ in 0..<n { items.append(try value(type: elementType, key: key, depth: depth + 1)) }
            return .array(items)
        case 10: return .uint64(try read(UInt64.self, what: key))
        case 11: return .int64(try read(Int64.self, what: key))
        case 12: return .float64(Double(bitPattern: try read(UInt64.self, what: key)))
        default: throw GGUFError.unknownValueType(key: key, type: type)
        }
    }

    /// The fewest bytes a value of `type` can occupy (1 for unknown types, which fail when read).
    private static func minimumSize(of type: UInt32) -> Int {
        switch type {
        case 0, 1, 7: return 1
        case 2, 3: return 2
        case 4, 5, 6: return 4
        case 8, 10, 11, 12: return 8
        case 9: return 12
        default: return 1
        }
    }
}
