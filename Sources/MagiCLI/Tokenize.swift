import ArgumentParser
import Foundation
import MagiChat
import MagiTokenizer

/// `magi tokenize`: the token ids of a text under a model's tokenizer, or a tekken.json's (`--tokenizer`).
struct Tokenize: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "magi tokenize",
        abstract: "Print the token ids of a text.")

    @Option(name: [.customShort("m"), .long], help: "Path to a GGUF model, or one with only its vocabulary (default: the default model).")
    var model: String?
    @Option(name: .long, help: ArgumentHelp(
        "Path to a tekken.json (mistral-common's format) to use instead of a model's tokenizer; no model is loaded.",
        discussion: "With --no-parse-special (and without --bos) the ids are mistral-common's encode(text, bos=False, eos=False), "
            + "which never parses special tokens; without it, texts such as [INST] become control tokens, as for a model."))
    var tokenizer: String?
    @Flag(name: .long, help: "Add BOS (and EOS) as the vocabulary asks, as when prompting.")
    var bos = false
    @Flag(name: .customLong("no-parse-special"), help: "Treat special-token text such as <|im_start|> or [INST] as plain text.")
    var noParseSpecial = false
    @Flag(name: .long, help: "Print a JSON array of ids.")
    var json = false
    @Flag(name: .customLong("show-pieces"), help: "Print each id with the text it stands for.")
    var showPieces = false
    @Argument(help: "The text, or - (the default) for standard input.")
    var text: String = "-"

    func validate() throws {
        if model != nil && tokenizer != nil { throw ValidationError("give either --model or --tokenizer, not both") }
    }

    func run() async throws {
        let tokenizer: Tokenizer
        if let path = self.tokenizer {
            tokenizer = try Tokenizer(tekkenFile: path)
        } else {
            tokenizer = try ModelLoader.tokenizer(model)
        }
        let input = text == "-" ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) : text
        let ids = tokenizer.encode(input, addSpecial: bos, parseSpecial: !noParseSpecial)
        var out: String
        if json {
            out = "[" + ids.map(String.init).joined(separator: ",") + "]\n"
        } else if showPieces {
            out = ids.map { "\($0) -> \(String(decoding: tokenizer.tokenBytes($0), as: UTF8.self).debugDescription)" }.joined(separator: "\n") + "\n"
        } else {
            out = ids.map(String.init).joined(separator: " ") + "\n"
        }
        StandardOutput.write(out)
    }
}
