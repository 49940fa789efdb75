import Foundation
import MagiTokenizer

/// A minimal GGUF metadata reader for the tests: reads the `tokenizer.ggml.*` keys into a
/// ``TokenizerVocabulary`` (the engine's real GGUF reader lives in another module).
enum GGUFTokenizerReader {
    struct FormatError: Error, CustomStringConvertible {
        var description: String
    }

    enum Value {
        case integer(Int64)
        case float(Double)
        case bool(Bool)
        case string(String)
        case strings([String])
        case integers([Int64])
        case floats([Float])
        case other
    }

    /// The default test model in `$MAGI_HOME/models` (override with `MAGI_TOKENIZER_TEST_MODEL`).
    static var smolLM2Path: String {
        let environment = ProcessInfo.processInfo.environment
        return environment["MAGI_TOKENIZER_TEST_MODEL"]
            ?? (environment["MAGI_HOME"] ?? NSHomeDirectory() + "/.cache/magi") + "/models/SmolLM2-135M-Instruct.Q4_1.gguf"
    }

    static func readVocabulary(path: String) throws -> TokenizerVocabulary {
        let metadata = try readMetadata(path: path)
        func string(_ key: String) -> String? {
            if case .string(let value)? = metadata[key] { return value }
            return nil
        }
        func id(_ key: String) -> Int32? {
            if case .integer(let value)? = metadata[key] { return Int32(value) }
            return nil
        }
        func flag(_ key: String) -> Bool? {
            if case .bool(let value)? = metadata[key] { return value }
            return nil
        }
        guard let model = string("tokenizer.ggml.model"),
              case .strings(let tokens)? = metadata["tokenizer.ggml.tokens"]
        else { throw FormatError(description: "\(path): no tokenizer.ggml.model / tokens") }
        var scores: [Float] = []
        if case .floats(let values)? = metadata["tokenizer.ggml.scores"] { scores = values }
        var types: [Int32] = []
        if case .integers(let values)? = metadata["tokenizer.ggml.token_type"] { types = values.map { Int32($0) } }
        var merges: [String] = []
        if case .strings(let values)? = metadata["tokenizer.ggml.merges"] { merges = values }
        let pre = string("tokenizer.ggml.pre")
        let defaults = TokenizerVocabulary.llamaCppDefaults(model: model, preTokenizer: pre)
        return TokenizerVocabulary(
            model: model, preTokenizer: pre, tokens: tokens, scores: scores, tokenTypes: types, merges: merges,
            bosID: id("tokenizer.ggml.bos_token_id"), eosID: id("tokenizer.ggml.eos_token_id"),
            unknownID: id("tokenizer.ggml.unknown_token_id"), paddingID: id("tokenizer.ggml.padding_token_id"),
            endOfTurnID: id("tokenizer.ggml.eot_token_id"),
            addBOS: flag("tokenizer.ggml.add_bos_token") ?? defaults.addBOS,
            addEOS: flag("tokenizer.ggml.add_eos_token") ?? defaults.addEOS,
            addSpacePrefix: flag("tokenizer.ggml.add_space_prefix") ?? defaults.addSpacePrefix)
    }

    static func readMetadata(path: String) throws -> [String: Value] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        return try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> [String: Value] in
            var offset = 0
            func read<T: FixedWidthInteger>(_: T.Type) throws -> T {
                guard offset + MemoryLayout<T>.size <= raw.count else { throw FormatError(description: "truncated") }
                let value = raw.loadUnaligned(fromByteOffset: offset, as: T.self)
                offset += MemoryLayout<T>.size
                return T(littleEndian: value)
            }
            func readString() throws -> String {
                let length = Int(try read(UInt64.self))
                guard offset + length <= raw.count else { throw FormatError(description: "truncated string") }
                let string = String(decoding: raw[offset..<(offset + length)], as: UTF8.self)
                offset += length
                return string
            }
            func readScalar(type: UInt32) throws -> Value {
                switch type {
                case 0: return .integer(Int64(try read(UInt8.self)))
                case 1: return .integer(Int64(try read(Int8.self)))
                case 2: return .integer(Int64(try read(UInt16.self)))
                case 3: return .integer(Int64(try read(Int16.self)))
                case 4: return .integer(Int64(try read(UInt32.self)))
                case 5: return .integer(Int64(try read(Int32.self)))
                case 6: return .float(Double(Float(bitPattern: try read(UInt32.self))))
                case 7: return .bool(try read(UInt8.self) != 0)
                case 8: return .string(try readString())
                case 10: return .integer(Int64(bitPattern: try read(UInt64.self)))
                case 11: return .integer(try read(Int64.self))
                case 12: return .float(Double(bitPattern: try read(UInt64.self)))
                default: throw FormatError(description: "unknown GGUF value type \(type)")
                }
            }
            guard try read(UInt32.self) == 0x4655_4747 else { throw FormatError(description: "\(path) is not GGUF") }
            _ = try read(UInt32.self)  // version
            _ = try read(UInt64.self)  // tensor count
            let keyCount = try read(UInt64.self)
            var metadata: [String: Value] = [:]
            for _ in 0..<keyCount {
                let key = try readString()
                let type = try read(UInt32.self)
                if type != 9 {
                    metadata[key] = try readScalar(type: type)
                    continue
                }
                let elementType = try read(UInt32.self)
                let count = Int(try read(UInt64.self))
                switch elementType {
                case 8:
                    var strings: [String] = []
                    strings.reserveCapacity(count)
                    for _ in 0..<count { strings.append(try readString()) }
                    metadata[key] = .strings(strings)
                case 6:
                    var floats: [Float] = []
                    floats.reserveCapacity(count)
                    for _ in 0..<count { floats.append(Float(bitPattern: try read(UInt32.self))) }
                    metadata[key] = .floats(floats)
                default:
                    var integers: [Int64] = []
                    integers.reserveCapacity(count)
                    for _ in 0..<count {
                        guard case .integer(let value) = try readScalar(type: elementType) else {
                            throw FormatError(description: "unsupported array element type \(elementType)")
                        }
                        integers.append(value)
                    }
                    metadata[key] = .integers(integers)
                }
            }
            return metadata
        }
    }
}
