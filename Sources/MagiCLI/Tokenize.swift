import ArgumentParser
import Foundation
import MagiChat
import MagiTokenizer

/// `magi tokenize`: the token ids of a text under a model's tokenizer.
struct Tokenize: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "magi tokenize",
        abstract: "Print the token ids of a text.")

    @Option(name: [.customShort("m"), .long], help: "Path to a GGUF model (default: the default model).")
    var model: String?
    @Flag(name: .long, help: "Add BOS (and EOS) as the vocabulary asks, as when prompting.")
    var bos = false
    @Flag(name: .customLong("no-parse-special"), help: "Treat special-token text such as <|im_start|> as plain text.")
    var noParseSpecial = false
    @Flag(name: .long, help: "Print a JSON array of ids.")
    var json = false
    @Flag(name: .customLong("show-pieces"), help: "Print each id with the text it stands for.")
    var showPieces = false
    @Argument(help: "The text, or - (the default) for standard input.")
    var text: String = "-"

    func run() async throws {
        var options = ModelOptions()
        options.model = model
        let local = try options.load()
        let input = text == "-" ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) : text
        let ids = local.tokenizer.encode(input, addSpecial: bos, parseSpecial: !noParseSpecial)
        var out: String
        if json {
            out = "[" + ids.map(String.init).joined(separator: ",") + "]\n"
        } else if showPieces {
            out = ids.map { "\($0) -> \(String(decoding: local.tokenizer.tokenBytes($0), as: UTF8.self).debugDescription)" }.joined(separator: "\n") + "\n"
        } else {
            out = ids.map(String.init).joined(separator: " ") + "\n"
        }
        FileHandle.standardOutput.write(Data(out.utf8))
    }
}
