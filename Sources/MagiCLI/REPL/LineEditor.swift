import CEdit
import Foundation

/// The terminal line editor: libedit through its readline-compatible API, which gives emacs keys,
/// history with reverse search (Ctrl-R) and tab completion, and reads `~/.editrc`.
///
/// libedit's own signal handling is turned off (it would re-send SIGINT to the whole process
/// group) and so is its terminal reading, which retries a read that Ctrl-C interrupted: the editor
/// reads characters itself and ends the line when ``InterruptSignal`` counts a Ctrl-C. One editor per process: libedit's readline
/// state is global.
final class LineEditor {
    /// Lines kept in the history file.
    static let historyLimit = 1000

    /// Decides what tab completes; set by ``init(historyPath:completion:)`` (libedit calls back
    /// through a C function, which cannot capture). Unsafe but sound: set before the first read
    /// and read by libedit's callbacks, all on the one thread that reads lines.
    nonisolated(unsafe) private static var completion: (_ before: String, _ word: String) -> SlashCommand.Completion = { _, _ in .filePaths }

    /// ``InterruptSignal/count`` when the current read began. Unsafe but sound, as ``completion``:
    /// written by ``readLine(prompt:)`` and read by libedit's character callback in that call.
    nonisolated(unsafe) private static var interruptsBefore = 0

    private let historyPath: String?
    private var lastRecorded: String?

    /// An editor whose history persists in `historyPath` (nil: none), completing with `completion`.
    init(historyPath: String?, completion: @escaping (_ before: String, _ word: String) -> SlashCommand.Completion) {
        self.historyPath = historyPath
        Self.completion = completion
        magi_editor_configure({ _ in LineEditor.readCharacter() }) { text, start, _ in
            LineEditor.complete(word: text.map { String(cString: $0) } ?? "", start: Int(start))
        }
        rl_initialize()
        using_history()
        stifle_history(Int32(Self.historyLimit))
        if let historyPath {
            try? FileManager.default.createDirectory(atPath: (historyPath as NSString).deletingLastPathComponent,
                                                     withIntermediateDirectories: true)
            read_history(historyPath)
            if let line = magi_history_newest() { lastRecorded = String(cString: line) }
        }
    }

    /// Reads one line, recording it in the history when it is not blank.
    func readLine(prompt: String) -> LineRead {
        Self.interruptsBefore = InterruptSignal.count
        guard let raw = InterruptSignal.interruptingReads({ readline(prompt) }) else {
            if InterruptSignal.count != Self.interruptsBefore {
                // libedit leaves the cursor on the abandoned line.
                StandardOutput.write("\n")
                return .interrupt
            }
            return .end
        }
        defer { free(raw) }
        let line = String(cString: raw)
        record(line)
        return .line(line)
    }

    /// Adds `line` to the history and saves the history file (readable by its owner only).
    private func record(_ line: String) {
        guard !line.trimmingWhitespace().isEmpty, line != lastRecorded else { return }
        lastRecorded = line
        add_history(line)
        guard let historyPath else { return }
        write_history(historyPath)
        chmod(historyPath, 0o600)
    }

    /// libedit's completion callback: a malloc'd, NULL-terminated list whose first entry replaces
    /// `word` (the candidates' common prefix) and whose others are the candidates; nil with
    /// `rl_attempted_completion_over` unset lets libedit complete a file name.
    private static func complete(word: String, start: Int) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
        // libedit counts `start` in characters (it edits wide characters); the buffer is UTF-8.
        let line = magi_editor_line().map { String(cString: $0) } ?? ""
        let before = String(String.UnicodeScalarView(line.unicodeScalars.prefix(start)))
        switch completion(before, word) {
        case .filePaths:
            magi_editor_set_completion_over(0)
            return nil
        case .words(let candidates):
            magi_editor_set_completion_over(1)
            guard !candidates.isEmpty else { return nil }
            // libedit reads the third entry even for a single candidate, so that one is listed too.
            let entries = [commonPrefix(of: candidates)] + candidates
            // libedit frees the list and its entries with free().
            let list = malloc((entries.count + 1) * MemoryLayout<UnsafeMutablePointer<CChar>?>.stride)!
                .bindMemory(to: UnsafeMutablePointer<CChar>?.self, capacity: entries.count + 1)
            for (i, entry) in entries.enumerated() { list[i] = strdup(entry) }
            list[entries.count] = nil
            return list
        }
    }

    /// libedit's character source: one Unicode scalar decoded from standard input's UTF-8, or -1
    /// (end of input, which ends the line) at end of file, on an error, or after a Ctrl-C.
    private static func readCharacter() -> Int32 {
        func nextByte() -> UInt8? {
            var byte: UInt8 = 0
            while true {
                let n = read(STDIN_FILENO, &byte, 1)
                if n == 1 { return byte }
                if n < 0 && errno == EINTR && InterruptSignal.count == interruptsBefore { continue }
                return nil
            }
        }
        guard let lead = nextByte() else { return -1 }
        let length = lead < 0x80 ? 1 : lead >> 5 == 0b110 ? 2 : lead >> 4 == 0b1110 ? 3 : lead >> 3 == 0b11110 ? 4 : 1
        var bytes = [lead]
        while bytes.count < length {
            guard let next = nextByte() else { return -1 }
            bytes.append(next)
        }
        let scalar = String(decoding: bytes, as: UTF8.self).unicodeScalars.first ?? "\u{FFFD}"
        return Int32(scalar.value)
    }

    private static func commonPrefix(of words: [String]) -> String {
        guard var prefix = words.first else { return "" }
        for word in words.dropFirst() {
            while !word.hasPrefix(prefix) { prefix.removeLast() }
        }
        return prefix
    }
}
