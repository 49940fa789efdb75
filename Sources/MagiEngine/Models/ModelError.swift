/// Why a model could not be loaded or run.
public enum ModelError: Error, Equatable, CustomStringConvertible {
    case unsupportedArchitecture(String)
    case unsupportedTensorType(name: String, type: String)
    case invalidHyperparameter(key: String, reason: String)
    case contextFull(limit: Int)
    case invalidToken(Int32, vocabularySize: Int)
    case emptyInput

    public var description: String {
        switch self {
        case let .unsupportedArchitecture(a):
            return "model architecture \(a.debugDescription) is not supported (magi runs: \(ModelArchitectures.supported.joined(separator: ", ")))"
        case let .unsupportedTensorType(name, type):
            return "tensor \(name.debugDescription) has type \(type), which magi cannot compute with yet"
        case let .invalidHyperparameter(key, reason):
            return "model metadata \(key.debugDescription) \(reason)"
        case let .contextFull(limit):
            return "the context window of \(limit) tokens is full"
        case let .invalidToken(t, n):
            return "token id \(t) is outside the vocabulary of \(n) tokens"
        case .emptyInput:
            return "no input tokens"
        }
    }
}
