import Foundation
import MagiChat
import Synchronization

/// Ctrl-C while the REPL runs: a SIGINT handler that only counts.
///
/// The handler is installed without `SA_RESTART`, so a terminal read blocked in libedit returns
/// (libedit then returns no line) and the REPL tells an interrupt from end of input by whether the
/// count moved. The kernel may deliver the signal to any thread, so the handler forwards it to the
/// thread that is reading, if any, whose read it must interrupt. The generation loop polls the
/// count between tokens, which stops an answer without ending the process.
enum InterruptSignal {
    /// How many SIGINTs have arrived since ``install()``.
    static var count: Int { interruptCount.load(ordering: .acquiring) }

    /// Replaces SIGINT's default action (terminate) by counting.
    static func install() {
        _ = interruptCount.load(ordering: .relaxed)  // initialise the globals before a signal can touch them
        _ = readingThread.load(ordering: .relaxed)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { signal in
            let reader = readingThread.load(ordering: .acquiring)
            if reader != 0 && pthread_equal(reader, pthread_self()) == 0 {
                pthread_kill(reader, signal)
            } else {
                interruptCount.add(1, ordering: .releasing)
            }
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(SIGINT, &action, nil)
    }

    /// Counts a Ctrl-C typed while libedit has the terminal: its raw mode turns signal keys off,
    /// so the key arrives as a character, not a signal.
    static func recordKeyPress() {
        interruptCount.add(1, ordering: .releasing)
    }

    /// Runs `read` (a blocking terminal read) so that Ctrl-C interrupts it. The calling thread may be
    /// one of the concurrency pool's, which block signals; SIGINT is unblocked while it reads.
    static func interruptingReads<T>(_ read: () -> T) -> T {
        var sigint = sigset_t(), previous = sigset_t()
        sigemptyset(&sigint)
        sigaddset(&sigint, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &sigint, &previous)
        readingThread.store(pthread_self(), ordering: .releasing)
        defer {
            readingThread.store(0, ordering: .releasing)
            pthread_sigmask(SIG_SETMASK, &previous, nil)
        }
        return read()
    }
}

private let interruptCount = Atomic<Int>(0)
/// The thread blocked reading the terminal, or 0.
private let readingThread = Atomic<pthread_t>(0)

/// The terminal was resized: a SIGWINCH handler that only counts, so the answer on screen can be
/// laid out again at the new width before its next piece is drawn.
enum ResizeSignal {
    /// How many SIGWINCHs have arrived since ``install()``.
    static var count: Int { resizeCount.load(ordering: .acquiring) }

    /// Counts SIGWINCH (whose default action is to ignore it). `SA_RESTART` keeps reads going.
    static func install() {
        _ = resizeCount.load(ordering: .relaxed)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in resizeCount.add(1, ordering: .releasing) }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        sigaction(SIGWINCH, &action, nil)
    }
}

private let resizeCount = Atomic<Int>(0)

/// Puts the terminal back as it was found when the process is killed by a signal mid-edit.
///
/// libedit restores the terminal after every line it reads, so ordinary exits need nothing; this
/// covers SIGTERM, SIGHUP and SIGQUIT arriving while the terminal is in libedit's raw mode.
enum TerminalRestorer {
    /// Saves the terminal's current modes and installs the handlers.
    static func install() {
        guard tcgetattr(STDIN_FILENO, &savedModes) == 0 else { return }
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { signal in
            tcsetattr(STDIN_FILENO, TCSANOW, &savedModes)
            Glibc.signal(signal, SIG_DFL)
            raise(signal)
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        for signal in [SIGTERM, SIGHUP, SIGQUIT] { sigaction(signal, &action, nil) }
    }
}

nonisolated(unsafe) private var savedModes = termios()

/// The bar on standard error while a model's weights are read in, on a terminal only:
/// `loading Magistral-Small… ██████░░░░  61%  8.6 of 14.1 GB`, cleared when done.
enum LoadProgress {
    /// Reads `model`'s weights in with a progress bar when standard error is a terminal; does nothing
    /// otherwise (the weights then load lazily as the first answer touches them).
    static func readIn(_ model: LocalModel) {
        guard isatty(STDERR_FILENO) == 1 else { return }
        let name = (model.path as NSString).lastPathComponent
        var shown = -1
        model.model.file.mapping.readIn { done, total in
            let percent = total > 0 ? done * 100 / total : 100
            guard percent != shown else { return }
            shown = percent
            StandardError.write("\r\u{1B}[K" + line(name: name, done: done, total: total))
        }
        StandardError.write("\r\u{1B}[K")
    }

    /// One frame of the bar.
    static func line(name: String, done: Int, total: Int, width: Int = 20) -> String {
        let fraction = total > 0 ? Double(done) / Double(total) : 1
        let filled = Int((fraction * Double(width)).rounded(.down))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        func size(_ bytes: Int) -> String {
            bytes >= 1 << 30 ? String(format: "%.1f GB", Double(bytes) / 1e9) : String(format: "%.0f MB", Double(bytes) / 1e6)
        }
        return "loading \(name) \(bar) \(String(format: "%3d", Int(fraction * 100)))%  \(size(done)) of \(size(total))"
    }
}

/// ANSI styling of standard output: on as ``Display/color`` says (by default on a terminal
/// without `NO_COLOR`, see no-color.org).
struct TerminalStyle {
    let isEnabled: Bool

    static var standardOutput: TerminalStyle { TerminalStyle(isEnabled: Display.colorsStandardOutput) }

    func dim(_ text: String) -> String { isEnabled ? "\u{1B}[2m\(text)\u{1B}[0m" : text }
}
