import ArgumentParser
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import MagiAgent
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
    @Flag(name: .customLong("strict-model"), help: "Answer 404 to a request naming another model than this one (default: any name is served by this model and reported back).")
    var strictModel = false
    @Option(name: .customLong("idle-timeout"), help: "Seconds a connection may rest without a request (before its first, between keep-alive requests) before it is closed.")
    var idleTimeout = 30.0
    @Option(name: .customLong("header-timeout"), help: "Seconds a client may take to send a request's headers, from their first byte, before its connection is closed.")
    var headerTimeout = 10.0
    @Option(name: .customLong("max-connections"), help: "Open connections served at once; requests on connections past it get 503.")
    var maxConnections = 64
    @Flag(name: [.customShort("v"), .long], help: "Log each request to standard error.")
    var verbose = false

    func validate() throws {
        try MagiConfig.validate()
        if !(0...65535).contains(port) { throw ValidationError("--port must be between 0 and 65535") }
        if !(idleTimeout > 0 && idleTimeout <= 86_400) { throw ValidationError("--idle-timeout must be above 0 and at most 86400 seconds") }
        if !(headerTimeout > 0 && headerTimeout <= 86_400) { throw ValidationError("--header-timeout must be above 0 and at most 86400 seconds") }
        if !(1...100_000).contains(maxConnections) { throw ValidationError("--max-connections must be between 1 and 100000") }
    }

    func run() async throws {
        let local = try modelOptions.load()
        let turn = ChatTurn(model: local, session: try modelOptions.session(for: local))
        let name = alias ?? ((local.path as NSString).lastPathComponent as NSString).deletingPathExtension
        let key = apiKey ?? ProcessInfo.processInfo.environment["MAGI_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        // The CLI's own default: greedy unless the model card recommends sampling.
        let server = OpenAIServer(turn: turn, modelID: name, apiKey: key, strictModel: strictModel,
                                  defaults: sampling.parameters(recommended: turn.recommendedSampling),
                                  maxTokens: sampling.maxTokens, constrainsToolCalls: !noConstrain)
        var logger = Logger(label: "magi serve")
        logger.logLevel = verbose ? .info : .warning
        let connections = ConnectionCount(limit: maxConnections)
        let router = server.router(connections: connections)
        if verbose { router.add(middleware: LogRequestsMiddleware(.info)) }
        let configuration = ApplicationConfiguration(address: .hostname(host, port: port), serverName: "magi",
                                                     availableConnectionsDelegate: CountedConnections(count: connections))
        let app = Application(router: router, server: .http1(configuration: .init(idleTimeout: .nanoseconds(Int64(idleTimeout * 1e9))),
                                                      headerTimeout: .nanoseconds(Int64(headerTimeout * 1e9))),
                              configuration: configuration,
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
