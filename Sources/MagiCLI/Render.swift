import ArgumentParser
import Foundation
import MagiRender

/// `magi render`: a Markdown file (with TeX math) drawn for the terminal by the renderer the
/// chat uses. Standard input streams through it when it goes to a terminal.
struct Render: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "magi render",
        abstract: "Render Markdown (with TeX math) for the terminal.")

    @Argument(help: "A Markdown file, or - (the default) for standard input.")
    var file: String = "-"
    @OptionGroup var display: DisplayOptions
    @Option(name: .long, help: "Wrap to this many columns (default: the terminal's width, else 80).")
    var width: Int?

    func validate() throws {
        // What the flags settle does not read the configuration file.
        if display.readsConfiguration { try MagiConfig.validate() }
        if let width, width < 8 { throw ValidationError("--width must be at least 8") }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let colors = display.color.allowsColor(fileDescriptor: STDOUT_FILENO, environment: environment)
        let options = RenderOptions(
            width: width ?? TerminalSize.columns(fileDescriptor: STDOUT_FILENO, environment: environment) ?? 80,
            colors: colors, theme: Theme.named(display.theme) ?? .dark)
        if file == "-" && colors && isatty(STDOUT_FILENO) == 1 {
            var renderer = StreamingMarkdownRenderer(options: options, mode: .live)
            var bytes: [UInt8] = []
            while case let data = FileHandle.standardInput.availableData, !data.isEmpty {
                bytes += data
                let complete = Self.completeUTF8Prefix(bytes)
                write(renderer.append(String(decoding: bytes[..<complete], as: UTF8.self)))
                bytes.removeFirst(complete)
            }
            write(renderer.append(String(decoding: bytes, as: UTF8.self)) + renderer.finish())
            return
        }
        let data: Data
        if file == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let contents = FileManager.default.contents(atPath: file) else {
                throw CLIError("cannot read \(file)")
            }
            data = contents
        }
        write(MarkdownRenderer(options: options).render(String(decoding: data, as: UTF8.self)))
    }

    /// How many leading bytes form whole UTF-8 characters (a read may end inside one).
    static func completeUTF8Prefix(_ bytes: [UInt8]) -> Int {
        var start = bytes.count
        while start > 0 && bytes.count - start < 4 {
            start -= 1
            let byte = bytes[start]
            if byte & 0xC0 != 0x80 {
                let length = byte < 0x80 ? 1 : byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : 2
                return start + length <= bytes.count ? bytes.count : start
            }
        }
        return bytes.count
    }

    private func write(_ text: String) {
        guard !text.isEmpty else { return }
        StandardOutput.writeFormatted(text)
    }
}
