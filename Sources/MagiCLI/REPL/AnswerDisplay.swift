import Foundation
import MagiRender

/// Streams an answer's Markdown to standard output as it is generated: rendered (headings, code,
/// tables, LaTeX as Unicode) on a colour terminal, laid out without escape codes under `NO_COLOR`
/// or `--color never`, and passed through unchanged when standard output is not a terminal
/// (unless `--color always`).
///
/// When the terminal is resized (SIGWINCH, counted by ``ResizeSignal``) the block still being
/// written is laid out again at the new width before the next piece is drawn.
// Sendable by hand: used only through ``TurnOutput``, one call at a time.
final class AnswerDisplay: @unchecked Sendable {
    private let environment: [String: String]
    private var options: RenderOptions
    private let mode: StreamingMarkdownRenderer.Mode
    private var renderer: StreamingMarkdownRenderer
    private var resizesSeen = ResizeSignal.count

    init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
        let terminal = isatty(STDOUT_FILENO) == 1
        let colors = Display.color.allowsColor(fileDescriptor: STDOUT_FILENO, environment: environment)
        options = RenderOptions(width: TerminalSize.columns(fileDescriptor: STDOUT_FILENO, environment: environment) ?? 80,
                                colors: colors, theme: Display.theme)
        // `--color always` on a pipe (into `less -R`, say): laid out and coloured, block by block.
        mode = terminal ? (colors ? .live : .finishedBlocksOnly) : (Display.color == .always ? .finishedBlocksOnly : .passthrough)
        renderer = StreamingMarkdownRenderer(options: options, mode: mode)
    }

    /// Adds a piece of answer text.
    func text(_ piece: String) {
        followResize()
        write(renderer.append(piece))
    }

    /// Draws the open block for good and starts afresh: before reasoning or a tool transcript
    /// interrupts the answer, and when it ends.
    func finish() {
        followResize()
        write(renderer.finish())
        renderer = StreamingMarkdownRenderer(options: options, mode: mode)
    }

    /// Lays the open block out again if the terminal changed width since the last piece.
    private func followResize() {
        let resizes = ResizeSignal.count
        guard resizes != resizesSeen else { return }
        resizesSeen = resizes
        guard let width = TerminalSize.columns(fileDescriptor: STDOUT_FILENO, environment: environment) else { return }
        write(renderer.resize(width: width))
        options.width = renderer.options.width
    }

    /// Writes the renderer's output: its own escape codes, the answer's control characters already
    /// written out (or, on a pipe, the answer as it came).
    private func write(_ s: String) {
        StandardOutput.writeFormatted(s)
    }
}
