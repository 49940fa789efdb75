import Foundation
import Logging
import MCP

/// The SDK's `Transport` over the pipes of a server magi started (``MCPServerProcess``).
///
/// The SDK's own `StdioTransport` is not used: it reads lines of any length into memory and knows
/// nothing of the process, while magi bounds each message, counts and reports text that is not
/// JSON-RPC, keeps the tail of stderr, notices the process's end (however its children hold the
/// pipes) and stops the whole process group.
actor MCPStdioTransport: Transport {
    nonisolated let logger = MCPChannel.silentLogger
    nonisolated let process: MCPServerProcess

    init(process: MCPServerProcess) {
        self.process = process
    }

    /// The server already runs.
    func connect() async throws {}

    /// Stopping the server is ``MCPClient``'s (it waits or not as the moment needs).
    func disconnect() async {}

    /// Queues `data` for the server; throws when the server is gone.
    func send(_ data: Data) async throws {
        if let failure = process.channel.failure { throw failure }
        process.send(data)
    }

    func receive() -> AsyncThrowingStream<Data, any Error> { process.channel.messages }
}
