import Foundation

/// One running sandbox with the cell driver (``PythonDriver``) in it: started with `posix_spawn` in
/// a process group of its own (so a Ctrl-C at the terminal does not reach it), fed requests on its
/// fd 3, read for replies on its fd 4 and for output on its stdout and stderr.
///
/// Not thread-safe except ``kill()``: one caller runs the cells.
// Sendable by hand: one caller runs the cells (``PythonSession``'s queue); what ``kill()`` touches from other threads (`reaped`, `exitStatus`) is guarded by `lock`.
final class InterpreterProcess: @unchecked Sendable {
    /// The largest reply accepted (images travel in it, base64).
    static let maxReplyBytes = 64 << 20

    let pid: pid_t
    private let requests: Int32
    private let replies: Int32
    private let stdout: Int32
    private let stderr: Int32
    private let lock = NSLock()
    private var reaped = false
    private var exitStatus: Int32 = 0

    /// How one exchange ended.
    enum Ending {
        /// The driver replied with this JSON.
        case replied([UInt8])
        /// The wall time passed.
        case timedOut
        /// stdout or stderr passed the output limit.
        case outputLimit
        /// The caller gave up (Ctrl-C).
        case cancelled
        /// The sandbox ended with this exit status (bwrap reports a signal as 128 + signal).
        case exited(Int32)
        /// The driver sent a frame larger than ``maxReplyBytes``.
        case oversizedReply
    }

    struct Exchange {
        var ending: Ending
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
    }

    /// Starts `executable` with `arguments`, an empty environment, stdin from /dev/null, and
    /// `extraInput` readable on its fd 5 (the seccomp filter).
    init(executable: String, arguments: [String], extraInput: [UInt8]?) throws(ToolError) {
        signal(SIGPIPE, SIG_IGN)
        // Pipes: [read, write]; the parent's ends stay close-on-exec.
        func makePipe() throws(ToolError) -> (Int32, Int32) {
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else { throw .failed("cannot create a pipe: \(String(cString: strerror(errno)))") }
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            return (fds[0], fds[1])
        }
        let request = try makePipe(), reply = try makePipe(), out = try makePipe(), err = try makePipe()
        var extra: (Int32, Int32)?
        if let extraInput {
            let p = try makePipe()
            extra = p
            _ = extraInput.withUnsafeBytes { write(p.1, $0.baseAddress, $0.count) }  // a few hundred bytes: fits the pipe
            close(p.1)
        }
        // The child's descriptors 0…5, each moved high first so no dup2 overwrites a source.
        let sources: [Int32?] = [nil, out.1, err.1, request.0, reply.1, extra?.0]
        let high = sources.map { $0.map { fcntl($0, F_DUPFD_CLOEXEC, 100) } }
        defer {
            high.forEach { if let fd = $0 { close(fd) } }
            [request.0, reply.1, out.1, err.1].forEach { close($0) }
            if let extra { close(extra.0) }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        for (target, source) in high.enumerated() {
            if let source { posix_spawn_file_actions_adddup2(&actions, source, Int32(target)) }
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t(), empty = sigset_t()
        sigfillset(&defaults)
        sigemptyset(&empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var environment: [UnsafeMutablePointer<CChar>?] = [nil]
        var pid: pid_t = 0
        // bwrap's --die-with-parent follows the thread that started it: spawn from one that never ends.
        let status = SpawnThread.shared.run { posix_spawn(&pid, executable, &actions, &attributes, argv, &environment) }
        guard status == 0 else {
            [request.1, reply.0, out.0, err.0].forEach { close($0) }
            throw .failed("cannot start \(executable): \(String(cString: strerror(status)))")
        }
        self.pid = pid
        requests = request.1
        replies = reply.0
        stdout = out.0
        stderr = err.0
        for fd in [replies, stdout, stderr] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
    }

    deinit {
        kill()
        [requests, replies, stdout, stderr].forEach { close($0) }
    }

    /// Kills the sandbox (bubblewrap's `--die-with-parent` takes everything in it along) and reaps it.
    func kill() {
        lock.withLock {
            guard !reaped else { return }
            Glibc.kill(pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            reaped = true
            exitStatus = status
        }
    }

    /// The exit status once the sandbox has ended, reaping it; nil while it runs.
    private func ended(wait: Bool) -> Int32? {
        lock.withLock {
            if !reaped {
                var status: Int32 = 0
                var result: pid_t
                repeat { result = waitpid(pid, &status, wait ? 0 : WNOHANG) } while result < 0 && errno == EINTR
                guard result == pid else { return nil }
                reaped = true
                exitStatus = status
            }
            // WEXITSTATUS, or 128 + the signal as a shell reports it.
            return exitStatus & 0x7F == 0 ? (exitStatus >> 8) & 0xFF : 128 + (exitStatus & 0x7F)
        }
    }

    /// Sends `request` (one frame) and waits for the reply, collecting what the code prints, until
    /// `deadline`, `outputLimit` bytes on stdout or stderr, the end of the sandbox, or `isCancelled`.
    func exchange(_ request: [UInt8], deadline: ContinuousClock.Instant, outputLimit: Int,
                  isCancelled: () -> Bool) -> Exchange {
        var result = Exchange(ending: .timedOut)
        var frame = withUnsafeBytes(of: UInt32(request.count).bigEndian, Array.init) + request
        while !frame.isEmpty {
            let n = frame.withUnsafeBytes { write(requests, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                kill()
                result.ending = .exited(ended(wait: true) ?? 0)
                return result
            }
            frame.removeFirst(n)
        }
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        /// Reads what `fd` has now; false at its end.
        func drain(_ fd: Int32, into bytes: inout [UInt8]) -> Bool {
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n > 0 { bytes += buffer[..<n]; continue }
                if n < 0 && errno == EINTR { continue }
                return n < 0  // EAGAIN: open but empty
            }
        }
        let clock = ContinuousClock()
        while true {
            var fds = [replies, stdout, stderr].map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            _ = poll(&fds, nfds_t(fds.count), 50)
            let open = drain(replies, into: &reply)
            _ = drain(stdout, into: &result.stdout)
            _ = drain(stderr, into: &result.stderr)
            if result.stdout.count > outputLimit || result.stderr.count > outputLimit {
                result.ending = .outputLimit
                break
            }
            if reply.count >= 4 {
                let length = reply[..<4].reduce(0) { $0 << 8 | Int($1) }
                if length > Self.maxReplyBytes { result.ending = .oversizedReply; break }
                if reply.count >= 4 + length {
                    result.ending = .replied(Array(reply[4..<(4 + length)]))
                    return result
                }
            }
            if !open {
                // The driver is gone: the sandbox ends with it.
                result.ending = .exited(ended(wait: true) ?? 0)
                _ = drain(stdout, into: &result.stdout)
                _ = drain(stderr, into: &result.stderr)
                return trimmed(result, to: outputLimit)
            }
            if isCancelled() { result.ending = .cancelled; break }
            if clock.now >= deadline { result.ending = .timedOut; break }
        }
        return finish(trimmed(result, to: outputLimit))
    }

    /// Ends the sandbox after an exchange that did not get its reply.
    private func finish(_ result: Exchange) -> Exchange {
        kill()
        return result
    }

    private func trimmed(_ result: Exchange, to limit: Int) -> Exchange {
        var result = result
        result.stdout = Array(result.stdout.prefix(limit))
        result.stderr = Array(result.stderr.prefix(limit))
        return result
    }
}

/// A thread that lives as long as magi and starts the sandboxes: the kernel's parent-death signal
/// (bwrap's `--die-with-parent`) fires when the *thread* that forked a process ends, and the
/// threads of Dispatch's pool come and go.
// Sendable by hand: `work` is guarded by `condition`.
final class SpawnThread: @unchecked Sendable {
    static let shared = SpawnThread()
    private let condition = NSCondition()
    private var work: [Item] = []

    // Sendable by hand: `body` is called once, on the spawn thread, while its sender waits on `done`.
    private struct Item: @unchecked Sendable {
        let body: () -> Void
        let done: DispatchSemaphore
    }

    private init() {
        let thread = Thread { [self] in
            while true {
                condition.lock()
                while work.isEmpty { condition.wait() }
                var item: Item? = work.removeFirst()
                condition.unlock()
                let done = item!.done
                item!.body()
                item = nil  // the body is released before its caller goes on
                done.signal()
            }
        }
        thread.name = "magi sandbox spawner"
        thread.start()
    }

    /// Runs `body` on the thread and returns its result.
    func run<T>(_ body: () -> T) -> T {
        withoutActuallyEscaping(body) { body in
            var result: T?
            let done = DispatchSemaphore(value: 0)
            condition.withLock {
                work.append(Item(body: { result = body() }, done: done))
                condition.signal()
            }
            done.wait()
            return result!
        }
    }
}
