import ArgumentParser

@main
struct Magi: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "magi",
        abstract: "A terminal for local reasoning models: chat, scripts and tools on GGUF models.",
        subcommands: [Chat.self, Tokenize.self, Perplexity.self, Bench.self],
        defaultSubcommand: Chat.self
    )
}
