import Foundation
import MagiChat

/// `--remote URL|NAME` resolved: the server (a URL, or a `[remotes.NAME]` profile of config.toml),
/// the model (`-m`, else the profile's, else the first the server lists), the API key (read from
/// an environment variable, never from a flag or a file) and the window to fit conversations into.
struct RemoteOptions {
    let remote: String
    let model: String?
    let apiKeyEnvironment: String?
    /// `-c`, MAGI_CONTEXT or config.toml's `context`.
    let context: Int?

    /// The context window when neither the flags nor the profile say: the 40k tokens Magistral's
    /// card advises, which most served models hold.
    static let defaultContext = 40_000

    func backend(environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> RemoteBackend {
        let profile = try MagiConfig.current.remotes[remote]?.value
        let url = profile?.url ?? remote
        guard let scheme = URL(string: url)?.scheme, scheme == "http" || scheme == "https" else {
            let names = try MagiConfig.current.remotes.keys.sorted()
            throw CLIError("--remote \(remote): neither an http(s) URL nor a remote of config.toml"
                           + (names.isEmpty ? " (it defines none)" : " (it defines \(names.joined(separator: ", ")))"))
        }
        let variable = apiKeyEnvironment ?? profile?.apiKeyEnvironment ?? (url.contains("api.mistral.ai") ? "MISTRAL_API_KEY" : "MAGI_API_KEY")
        let key = environment[variable].flatMap { $0.isEmpty ? nil : $0 }
        if key == nil && (apiKeyEnvironment != nil || profile?.apiKeyEnvironment != nil || variable == "MISTRAL_API_KEY") {
            throw CLIError("the API key for \(url) is not set: put it in the environment variable \(variable)")
        }
        var client = RemoteChatClient(baseURL: url, model: model ?? profile?.model ?? "", apiKey: key)
        if client.model.isEmpty {
            do {
                guard let first = try await client.models().first else { throw CLIError("\(url) lists no models; name one with -m") }
                client.model = first
            } catch let error as RemoteError {
                throw CLIError("\(error)")
            }
        }
        return RemoteBackend(client: client, contextSize: context ?? profile?.context ?? Self.defaultContext)
    }
}
