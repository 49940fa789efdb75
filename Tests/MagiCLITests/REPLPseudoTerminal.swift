import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A program run on a pseudo-terminal, driven as a person at a keyboard drives it: keys in,
/// screen bytes out, every wait bounded.
///
/// The child gets the terminal as its standard input, output and error and as its controlling
/// terminal (a new session), so Ctrl-C typed here reaches it as SIGINT. The slave side stays open
/// here too, to read the terminal's modes after the child is gone.
final class PseudoTerminal {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The bytes read from the terminal, shared with the thread that reads them.
    private final class Output: @unchecked Sendable {
        let lock = NSLock()
        var bytes: [UInt8] = []
        var stopped = false
    }

    let pid: pid_t
    private let master: Int32
    private let slave: Int32
    private let output = Output()
    /// Where the next ``expect(_:timeout:)`` starts looking.
    private var cursor = 0
    private var exitStatus: Int32?

    /// The terminal's modes before the child started.
    let initialModes: termios

    init(executable: String, arguments: [String], environment: [String: String]) throws {
        master = Self.libc("posix_openpt", as: (@convention(c) (Int32) -> Int32).self)(O_RDWR | O_NOCTTY)
        let grantpt = Self.libc("grantpt", as: (@convention(c) (Int32) -> Int32).self)
        let unlockpt = Self.libc("unlockpt", as: (@convention(c) (Int32) -> Int32).self)
        let ptsname = Self.libc("ptsname", as: (@convention(c) (Int32) -> UnsafeMutablePointer<CChar>?).self)
        guard master >= 0, grantpt(master) == 0, unlockpt(master) == 0, let name = ptsname(master) else {
            throw Failure(description: "no pseudo-terminal: \(String(cString: strerror(errno)))")
        }
        let slavePath = String(cString: name)
        slave = open(slavePath, O_RDWR | O_NOCTTY)
        guard slave >= 0 else { throw Failure(description: "cannot open \(slavePath)") }
        var modes = termios()
        tcgetattr(slave, &modes)
        initialModes = modes
        var size = winsize(ws_row: 50, ws_col: 200, ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(slave, UInt(TIOCSWINSZ), &size)  // wide, so echoed lines are not wrapped

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // Opened after setsid (the spawn attribute), so the terminal becomes the controlling one.
        posix_spawn_file_actions_addopen(&actions, 0, slavePath, O_RDWR, 0)
        posix_spawn_file_actions_adddup2(&actions, 0, 1)
        posix_spawn_file_actions_adddup2(&actions, 0, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        posix_spawnattr_setsigmask(&attributes, &unblocked)
        let setsid: Int32 = 0x80  // POSIX_SPAWN_SETSID (glibc ≥ 2.26), not imported into Swift
        posix_spawnattr_setflags(&attributes, Int16(setsid | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var child: pid_t = 0
        let status = posix_spawn(&child, executable, &actions, &attributes, argv, envp)
        guard status == 0 else { throw Failure(description: "cannot run \(executable): \(String(cString: strerror(status)))") }
        pid = child

        Thread { [output, master] in Self.read(master, into: output) }.start()
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        output.lock.withLock { output.stopped = true }  // the reading thread closes the master
        close(slave)
    }

    /// A libc function by name: glibc declares the pseudo-terminal ones only under `_XOPEN_SOURCE`,
    /// which Swift's Glibc module does not define.
    private static func libc<T>(_ name: String, as type: T.Type) -> T {
        unsafeBitCast(dlsym(UnsafeMutableRawPointer(bitPattern: 0), name)!, to: type)
    }

    /// Everything the child has written so far.
    var screen: String { output.lock.withLock { String(decoding: output.bytes, as: UTF8.self) } }

    /// Types `keys`.
    func send(_ keys: String) {
        var bytes = Array(keys.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { write(master, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR || errno == EAGAIN { continue } else { return } }
            bytes = bytes.dropFirst(n)
        }
    }

    /// Waits until `text` appears after the previous match, and moves past it.
    @discardableResult
    func expect(_ text: String, timeout: Double = 30) throws -> String {
        let needle = Array(text.utf8)
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let found: Int? = output.lock.withLock {
                let received = output.bytes
                guard received.count >= cursor + needle.count else { return nil }
                var i = cursor
                while i + needle.count <= received.count {
                    if received[i] == needle[0] && Array(received[i..<(i + needle.count)]) == needle { return i }
                    i += 1
                }
                return nil
            }
            if let found {
                let skipped = output.lock.withLock { String(decoding: output.bytes[cursor..<found], as: UTF8.self) }
                cursor = found + needle.count
                return skipped
            }
            if Date() > deadline {
                throw Failure(description: "timed out after \(timeout) s waiting for \(text.debugDescription); screen after the last match: \(screenAfterCursor.debugDescription)")
            }
            usleep(20_000)
        }
    }

    /// Waits until at least `count` bytes arrived after the previous match.
    func expectOutput(atLeast count: Int, timeout: Double = 30) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while output.lock.withLock({ output.bytes.count - cursor }) < count {
            if Date() > deadline { throw Failure(description: "timed out waiting for \(count) bytes; got \(screenAfterCursor.debugDescription)") }
            usleep(20_000)
        }
    }

    private var screenAfterCursor: String {
        output.lock.withLock { String(decoding: output.bytes[min(cursor, output.bytes.count)...], as: UTF8.self) }
    }

    /// Waits for the child to exit and returns its exit status (128 + n when killed by signal n).
    func waitForExit(timeout: Double = 30) throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                let code = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
                exitStatus = code
                return code
            }
            if Date() > deadline { throw Failure(description: "the child did not exit within \(timeout) s; screen: \(screenAfterCursor.debugDescription)") }
            usleep(20_000)
        }
    }

    /// The terminal's modes now.
    var currentModes: termios {
        var modes = termios()
        tcgetattr(slave, &modes)
        return modes
    }

    private static func read(_ master: Int32, into output: Output) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !output.lock.withLock({ output.stopped }) {
            var descriptor = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 50) > 0 else { continue }
            let n = Glibc.read(master, &buffer, buffer.count)
            if n > 0 {
                output.lock.withLock { output.bytes.append(contentsOf: buffer[0..<n]) }
            } else {
                usleep(20_000)  // EIO once the child is gone and no one else holds the slave
            }
        }
        close(master)
    }
}
