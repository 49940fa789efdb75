/// Why a GGUF file could not be read. Each message names the problem so a user can act on it.
public enum GGUFError: Error, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case notGGUF(magic: String)
    case unsupportedVersion(UInt32)
    case truncated(what: String, offset: Int)
    case implausibleCount(what: String, count: UInt64)
    case unknownValueType(key: String, type: UInt32)
    case arrayTooDeep(key: String, limit: Int)
    case arrayTooLong(key: String, count: UInt64, limit: UInt64)
    case invalidString(offset: Int)
    case duplicateKey(String)
    case duplicateTensor(String)
    case badAlignment(UInt64)
    case badTensorShape(name: String, reason: String)
    case unknownTensorType(name: String, type: UInt32)
    case tensorOutOfBounds(name: String)
    case missingKey(String)
    case wrongKeyType(key: String, expected: String)
    case missingTensor(String)
    case tensorShapeMismatch(name: String, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): return "cannot open \(path): \(reason)"
        case let .notGGUF(magic): return "not a GGUF file (magic \(magic.debugDescription), expected \"GGUF\")"
        case let .unsupportedVersion(v): return "unsupported GGUF version \(v) (magi reads versions 2 and 3)"
        case let .truncated(what, offset): return "GGUF file is truncated: \(what) at byte \(offset) runs past the end of the file"
        case let .implausibleCount(what, count): return "corrupt GGUF file: \(what) is \(count), more than the file could hold"
        case let .unknownValueType(key, type): return "corrupt GGUF file: metadata key \(key.debugDescription) has unknown value type \(type)"
        case let .arrayTooDeep(key, limit): return "corrupt GGUF file: metadata key \(key.debugDescription) nests arrays deeper than \(limit) levels"
        case let .arrayTooLong(key, count, limit): return "corrupt GGUF file: metadata array \(key.debugDescription) has \(count) elements, more than the \(limit) magi reads"
        case let .invalidString(offset): return "corrupt GGUF file: invalid UTF-8 string at byte \(offset)"
        case let .duplicateKey(key): return "corrupt GGUF file: metadata key \(key.debugDescription) appears twice"
        case let .duplicateTensor(name): return "corrupt GGUF file: tensor \(name.debugDescription) appears twice"
        case let .badAlignment(a): return "corrupt GGUF file: general.alignment \(a) is not a power of two"
        case let .badTensorShape(name, reason): return "corrupt GGUF file: tensor \(name.debugDescription) \(reason)"
        case let .unknownTensorType(name, type): return "tensor \(name.debugDescription) has type \(type), which magi does not support"
        case let .tensorOutOfBounds(name): return "GGUF file is truncated or corrupt: data of tensor \(name.debugDescription) lies past the end of the file"
        case let .missingKey(key): return "model file lacks metadata key \(key.debugDescription)"
        case let .wrongKeyType(key, expected): return "metadata key \(key.debugDescription) should be \(expected)"
        case let .missingTensor(name): return "model file lacks tensor \(name.debugDescription)"
        case let .tensorShapeMismatch(name, expected, found): return "tensor \(name.debugDescription) has shape \(found), expected \(expected)"
        }
    }
}
