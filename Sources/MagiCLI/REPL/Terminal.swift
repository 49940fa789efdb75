import Foundation
import MagiChat
import MagiRender
import MagiTools
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

/// The signals that end magi — SIGTERM, SIGHUP, SIGQUIT, and SIGINT outside the REPL — and its
/// exit: every program magi started is killed, with its whole process group
/// (``ChildProcessGroups``), and the terminal is put back as ``TerminalRestorer`` saved it.
///
/// Plugins and MCP servers run in process groups of their own, so the terminal's Ctrl-C or hang-up
/// never reaches them: these handlers are what ends them.
enum EndingSignals {
    /// Installs the handlers (each kills the children, then ends magi by the signal's default
    /// action) and an exit hook that kills the children.
    static func install() {
        _ = ChildProcessGroups.shared  // initialise the registry before a signal handler can touch it
        _ = terminalModesSaved.load(ordering: .relaxed)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { signal in
            ChildProcessGroups.shared.killAll()
            if terminalModesSaved.load(ordering: .acquiring) { tcsetattr(STDIN_FILENO, TCSANOW, &savedModes) }
            Glibc.signal(signal, SIG_DFL)
            raise(signal)
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        for signal in [SIGTERM, SIGHUP, SIGQUIT, SIGINT] { sigaction(signal, &action, nil) }
        atexit { ChildProcessGroups.shared.killAll() }
    }
}

/// Puts the terminal back as it was found when magi is killed by a signal mid-edit.
///
/// libedit restores the terminal after every line it reads, so ordinary exits need nothing; this
/// covers SIGTERM, SIGHUP and SIGQUIT arriving while the terminal is in libedit's raw mode (the
/// handlers are ``EndingSignals``').
enum TerminalRestorer {
    /// Saves the terminal's current modes for the handlers to restore.
    static func install() {
        guard tcgetattr(STDIN_FILENO, &savedModes) == 0 else { return }
        terminalModesSaved.store(true, ordering: .releasing)
    }
}

// Unsafe but sound: written once before `terminalModesSaved` is set (release), read by the signal
// handlers only after they see it set (acquire); a handler cannot take a lock.
nonisolated(unsafe) private var savedModes = termios()
private let terminalModesSaved = Atomic<Bool>(false)

/// The bar on standard error while a model's weights are read in, on a terminal only:
/// `loading Magistral-Small… ██████░░░░  61%  8.6 of 14.1 GB`, cleared when done.
enum LoadProgress {
    /// Reads `model`'s weights in with a progress bar when standard error is a terminal; does nothing
    /// otherwise (the weights then load lazily as the first answer touches them).
    static func readIn(_ model: LocalModel) {
        guard isatty(STDERR_FILENO) == 1 else { return }
        let name = TerminalText.visible((model.path as NSString).lastPathComponent)
        var shown = -1
        model.model.file.mapping.readIn { done, total in
            let percent = total > 0 ? done * 100 / total : 100
            guard percent != shown else { return }
            shown = percent
            StandardError.writeFormatted("\r\u{1B}[K" + line(name: name, done: done, total: total))
        }
        StandardError.writeFormatted("\r\u{1B}[K")
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

/// ANSI styling of standard output or standard error: on as ``Display/color`` says (by default on
/// a terminal without `NO_COLOR`, see no-color.org). The text styled may come from outside (a
/// model's reasoning, a tool's result): on a terminal its control characters are written out.
struct TerminalStyle {
    /// Colours and styles are drawn.
    let isEnabled: Bool
    /// Control characters in the styled text are written out (``TerminalText/visible(_:)``).
    let showsControlCharacters: Bool

    static var standardOutput: TerminalStyle { TerminalStyle(fileDescriptor: STDOUT_FILENO) }
    static var standardError: TerminalStyle { TerminalStyle(fileDescriptor: STDERR_FILENO) }

    /// The style for text written to `fileDescriptor`, as ``Display`` says.
    init(fileDescriptor: Int32) {
        isEnabled = Display.color.allowsColor(fileDescriptor: fileDescriptor, environment: ProcessInfo.processInfo.environment)
        showsControlCharacters = Display.color.showsControlCharacters(fileDescriptor: fileDescriptor)
    }

    /// `text` as it may reach the terminal, unstyled.
    func plain(_ text: String) -> String { showsControlCharacters ? TerminalText.visible(text) : text }

    func dim(_ text: String) -> String { isEnabled ? "\u{1B}[2m\(plain(text))\u{1B}[0m" : plain(text) }
}
