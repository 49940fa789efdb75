import ArgumentParser
import Foundation
import MagiChat
import MagiEngine

/// Options every command that loads a model shares, named as llama.cpp names them.
struct ModelOptions: ParsableArguments {
    @Option(name: [.customShort("m"), .long], help: "Path to a GGUF model (default: SmolLM2-135M-Instruct in $MAGI_HOME/models).")
    var model: String?

    @Option(name: [.customShort("t"), .long], help: "Threads to compute with (default: all cores).")
    var threads: Int?

    @Option(name: [.customShort("c"), .customLong("ctx-size")], help: "Context window in tokens (default: the model's, at most 4096).")
    var contextSize: Int?

    @Option(name: .customLong("cache-type"), help: "KV cache precision: f16 (half the memory, the default) or f32 (exact to float rounding).")
    var cacheType: KVCacheType = .f16

    @Option(name: .customLong("chat-format"), help: "Chat format instead of the one recognised from the model: \(ChatFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
    var chatFormat: String?

    func validate() throws {
        if let t = threads, t < 1 || t > 256 { throw ValidationError("--threads must be between 1 and 256") }
        if let c = contextSize, c < 8 || c > 1 << 20 { throw ValidationError("--ctx-size must be between 8 and 1048576") }
    }

    func load() throws -> LocalModel { try ModelLoader.load(model, chatFormat: chatFormat) }

    func session(for local: LocalModel) -> InferenceSession {
        InferenceSession(model: local.model, contextSize: contextSize, threads: threads, cacheType: cacheType)
    }
}

/// Opens models for every command, turning any failure into one line naming the file.
enum ModelLoader {
    /// Loads `path`, or the default model when it is nil, in `chatFormat` if one is named.
    static func load(_ path: String?, chatFormat: String? = nil) throws -> LocalModel {
        let resolved = path ?? DefaultModel.path
        if path == nil && !FileManager.default.fileExists(atPath: resolved) {
            throw CLIError("the default model is not installed at \(resolved); run scripts/run to fetch it, or pass -m MODEL")
        }
        let format: ChatFormat?
        do {
            format = try chatFormat.map(ChatFormat.init(named:))
        } catch {
            throw CLIError("\(error)")
        }
        do {
            return try LocalModel(path: resolved, chatFormat: format)
        } catch {
            throw CLIError("\(resolved): \(error)")
        }
    }
}

/// Where the default model lives: `${MAGI_HOME:-~/.cache/magi}/models/`.
enum DefaultModel {
    static let fileName = "SmolLM2-135M-Instruct.Q4_1.gguf"
    static var home: String {
        if let h = ProcessInfo.processInfo.environment["MAGI_HOME"], !h.isEmpty { return h }
        return NSHomeDirectory() + "/.cache/magi"
    }
    static var path: String { home + "/models/" + fileName }
}

extension KVCacheType: ExpressibleByArgument {}

/// A user-facing failure: printed as one line on stderr, exit code 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// Writes to standard error without buffering surprises.
enum StandardError {
    static func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
