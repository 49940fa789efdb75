import ArgumentParser
import Foundation
import MagiChat
import MagiEngine
import MagiRender
import MagiTokenizer

/// Options every command that loads a model shares, named as llama.cpp names them. The model and
/// the context window fall back on MAGI_MODEL, MAGI_CONTEXT and config.toml (``MagiConfig``).
struct ModelOptions: ParsableArguments {
    @Option(name: [.customShort("m"), .long], help: "A GGUF model: a path, or an alias from config.toml (default: $MAGI_MODEL, else config.toml's model, else SmolLM2-135M-Instruct in $MAGI_HOME/models).")
    var model: String?

    @Option(name: [.customShort("t"), .long], help: "Threads to compute with (default: all cores).")
    var threads: Int?

    @Option(name: [.customShort("c"), .customLong("ctx-size")], help: "Context window in tokens (default: $MAGI_CONTEXT, else config.toml's context, else the model's trained length, at most what its card advises (Magistral: 40000) or 4096, and what memory holds).")
    var contextFlag: Int?

    @OptionGroup var cache: CacheTypeOptions

    @Option(name: .customLong("chat-format"), help: "Chat format instead of the one recognised from the model: \(ChatFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
    var chatFormat: String?

    func validate() throws {
        if let t = threads, t < 1 || t > 256 { throw ValidationError("--threads must be between 1 and 256") }
        if let c = contextFlag, c < 8 || c > 1 << 20 { throw ValidationError("--ctx-size must be between 8 and 1048576") }
    }

    /// The model asked for: `-m`, else MAGI_MODEL, else config.toml's `model` (a path or an alias);
    /// nil: the default model.
    var modelChoice: Sourced<String>? { MagiConfig.currentOrEmpty.model.overridden(by: model, named: "-m") }

    /// The context window asked for: `-c`, else MAGI_CONTEXT, else config.toml's `context`; nil: ``ContextWindow``'s default.
    var context: Sourced<Int>? { MagiConfig.currentOrEmpty.context.overridden(by: contextFlag, named: "-c") }

    func load() throws -> LocalModel { try ModelLoader.load(model, chatFormat: chatFormat) }

    /// A session on `local` with the window ``ContextWindow`` decides; its notices go to stderr.
    ///
    /// - Throws: ``CLIError`` when the cache type cannot hold the model's heads.
    func session(for local: LocalModel) throws -> InferenceSession {
        let cacheType = try cache.type(for: local.model)
        let window = ContextWindow(requested: context?.value, model: local.model,
                                   recommended: local.template.format.flatMap(RecommendedSettings.forFormat), cacheType: cacheType)
        for notice in window.notices { StandardError.write("magi: \(notice)\n") }
        return InferenceSession(model: local.model, contextSize: window.size, threads: threads, cacheType: cacheType)
    }
}

/// Opens models for every command, turning any failure into one line naming the file.
enum ModelLoader {
    /// Loads the model `name` names — a path, or an alias from config.toml — else MAGI_MODEL's,
    /// else config.toml's `model`, else the default model; in `chatFormat` if one is named.
    static func load(_ name: String?, chatFormat: String? = nil) throws -> LocalModel {
        let format: ChatFormat?
        do {
            format = try chatFormat.map(ChatFormat.init(named:))
        } catch {
            throw CLIError("\(error)")
        }
        return try opening(name) { try LocalModel(path: $0, chatFormat: format) }
    }

    /// The tokenizer of the model `name` names (as ``load(_:chatFormat:)`` finds it), read from its
    /// metadata alone, as llama-tokenize does: a vocabulary-only GGUF is enough.
    static func tokenizer(_ name: String?) throws -> Tokenizer {
        try opening(name) { try Tokenizer(vocabulary: TokenizerVocabulary(gguf: GGUFFile(path: $0))) }
    }

    /// `open` applied to the path of the model `name` names, its failure one line naming the file.
    private static func opening<T>(_ name: String?, _ open: (String) throws -> T) throws -> T {
        let config = try MagiConfig.current
        let choice = config.model.overridden(by: name, named: "-m")
        let resolved = choice.map { config.modelPath($0.value) } ?? DefaultModel.path
        if choice == nil && !FileManager.default.fileExists(atPath: resolved) {
            throw CLIError("the default model is not installed at \(resolved); run scripts/run to fetch it, or pass -m MODEL")
        }
        do {
            return try open(resolved)
        } catch {
            let origin = choice.map { $0.source == .flag("-m") ? "" : " (the model of \($0.source))" } ?? ""
            throw CLIError("\(resolved): \(error)\(origin)")
        }
    }
}

/// Where the default model lives: `${MAGI_HOME:-${XDG_CACHE_HOME:-~/.cache}/magi}/models/`.
enum DefaultModel {
    static let fileName = "SmolLM2-135M-Instruct.Q4_1.gguf"
    static var home: String {
        if let h = ProcessInfo.processInfo.environment["MAGI_HOME"], !h.isEmpty { return h }
        return UserFolders().cacheHome + "/magi"
    }
    static var path: String { home + "/models/" + fileName }
}

extension KVCacheType: ExpressibleByArgument {}

/// A user-facing failure: printed as one line on stderr, exit code 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// Writes to standard output unbuffered. When the reader has gone (`magi … | head`), magi ends
/// quietly with status 0 (``MagiMain/endForGoneReader()``), as the text it would write has no one
/// to read it.
///
/// ``write(_:)`` is for text that may hold something from outside (a file name, a server's
/// message): on a terminal its control characters are written out. ``writeFormatted(_:)`` is for
/// text holding magi's own escape sequences, whose outside parts the caller made safe (the
/// Markdown renderer, ``TerminalStyle``).
enum StandardOutput {
    static func write(_ text: String) {
        writeFormatted(Display.color.showsControlCharacters(fileDescriptor: STDOUT_FILENO) ? TerminalText.visible(text) : text)
    }

    static func writeFormatted(_ text: String) {
        guard !FileDescriptorWriter.write(text, to: STDOUT_FILENO) else { return }
        MagiMain.endForGoneReader()
    }
}

/// Writes to standard error unbuffered; a failure (a closed pipe) is ignored. As for
/// ``StandardOutput``: ``write(_:)`` for messages, which may echo outside text (tool errors, a
/// server's error body), ``writeFormatted(_:)`` for magi's own styled text.
enum StandardError {
    static func write(_ text: String) {
        writeFormatted(Display.color.showsControlCharacters(fileDescriptor: STDERR_FILENO) ? TerminalText.visible(text) : text)
    }

    static func writeFormatted(_ text: String) {
        _ = FileDescriptorWriter.write(text, to: STDERR_FILENO)
    }
}

/// The whole of a text written to a file descriptor, retrying short and interrupted writes.
enum FileDescriptorWriter {
    /// Writes `text`; false when the reader has gone (EPIPE), true otherwise (other errors drop the text).
    static func write(_ text: String, to fd: Int32) -> Bool {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return errno != EPIPE
            }
            bytes = bytes.dropFirst(n)
        }
        return true
    }
}
