import ArgumentParser
import Foundation
import Hummingbird
import Logging
import MagiChat
import MagiEngine

/// `magi serve`: the local model behind an OpenAI-compatible HTTP API.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "magi serve",
        abstract: "Serve the model over an OpenAI-compatible HTTP API (/v1/chat/completions, /v1/completions, /v1/models, /health).",
        discussion: """
            Requests take turns on the one engine, in arrival order. Every answer streams when the
            request asks (server-sent events). Tools are offered in the model's chat format and the
            calls are constrained to their schemas; response_format json_object and json_schema
            constrain the answer. Ctrl-C or SIGTERM stops the server once open answers end.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup(title: "Default sampling (requests override it)") var sampling: SamplingOptions

    @Option(name: .long, help: "Address to listen on (0.0.0.0 for every interface).")
    var host = "127.0.0.1"
    @Option(name: .long, help: "Port to listen on (0: any free port, printed at start).")
    var port = 8080
    @Option(name: .customLong("api-key"), help: "Require 'Authorization: Bearer KEY' on /v1 requests (default: $MAGI_API_KEY, else none).")
    var apiKey: String?
    @Option(name: .long, help: "The model's name in /v1/models (default: the file's name without .gguf).")
    var alias: String?
    @Flag(name: .customLong("no-constrain"), help: "Let the model write tool calls freely instead of constraining them to the offered tools' schemas.")
    var noConstrain = false
    @Flag(name: [.customShort("v"), .long], help: "Log each request to standard error.")
    var verbose = false

    func validate() throws {
        if !(0...65535).contains(port) { throw ValidationError("--port must be between 0 and 65535") }
    }

    func run() async throws {
        let local = try modelOptions.load()
        let turn = ChatTurn(model: local, session: try modelOptions.session(for: local))
        let name = alias ?? ((local.path as NSString).lastPathComponent as NSString).deletingPathExtension
        let key = apiKey ?? ProcessInfo.processInfo.environment["MAGI_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        let server = OpenAIServer(turn: turn, modelID: name, apiKey: key,
                                  defaults: sampling.parameters(recommended: turn.recommendedSampling ?? SamplingParameters()),
                                  maxTokens: sampling.maxTokens, constrainsToolCalls: !noConstrain)
        var logger = Logger(label: "magi serve")
        logger.logLevel = verbose ? .info : .warning
        let router = server.router()
        if verbose { router.add(middleware: LogRequestsMiddleware(.info)) }
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "magi"),
                              onServerRunning: { [host] channel in
                                  let port = channel.localAddress?.port ?? 0
                                  StandardError.write("magi serve: \(name) on http://\(host):\(port)/v1 (context \(turn.session.contextSize) tokens)\n")
                              }, logger: logger)
        do {
            try await app.runService()
        } catch {
            throw CLIError("cannot serve on \(host):\(port): \(error)")
        }
    }
}
