import Foundation

/// A `magi serve` on a free loopback port under an address-space limit, with its stderr drained
/// throughout; ``stop()`` ends it (SIGINT, then SIGKILL after 10 s). Requests go through `curl`.
final class LoopbackServer: @unchecked Sendable {
    let process = Process()
    private(set) var port = 0
    private let errors = Pipe()
    private let lock = NSLock()
    private var stderrText = Data()

    /// Starts the server with the default model, 2 threads and `arguments`; returns once it listens
    /// (or throws after 90 s, having killed it).
    init(arguments: [String], addressSpace: Int = 8 << 30) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
        process.arguments = ["--as=\(addressSpace)", "--", CommandLineTests.executable, "serve", "--port", "0", "-t", "2"] + arguments
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MAGI_") || $0.key == "MAGI_HOME" }
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let started = DispatchSemaphore(value: 0)
        let handle = errors.fileHandleForReading
        DispatchQueue.global().async { [self] in
            var signalled = false
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                lock.lock()
                stderrText += chunk
                let text = String(decoding: stderrText, as: UTF8.self)
                lock.unlock()
                if !signalled, let range = text.range(of: #"http://127\.0\.0\.1:\d+/v1"#, options: .regularExpression) {
                    port = Int(text[range].dropFirst("http://127.0.0.1:".count).dropLast(3))!
                    signalled = true
                    started.signal()
                }
            }
            if !signalled { started.signal() }
        }
        if started.wait(timeout: .now() + 90) == .timedOut || port == 0 {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw ServeError("magi serve did not start: \(stderr)")
        }
    }

    var isRunning: Bool { process.isRunning }

    /// What the server wrote to stderr so far.
    var stderr: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: stderrText, as: UTF8.self)
    }

    struct Reply {
        var status: Int
        var body: String
        /// The body as JSON, if it is.
        var json: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] }
        /// `error.param` of an OpenAI error body.
        var errorParam: String? { (json?["error"] as? [String: Any])?["param"] as? String }
        var errorMessage: String? { (json?["error"] as? [String: Any])?["message"] as? String }
    }

    /// POSTs `body` to `path` with curl (60 s at most); status 0 when no answer came.
    func post(_ path: String, body: Data, deadline: TimeInterval = 120) throws -> Reply {
        let file = NSTemporaryDirectory() + "magi-body-\(UUID().uuidString).json"
        try body.write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let run = try BoundedProcess(executable: "/usr/bin/curl",
                                     arguments: ["-s", "--max-time", String(Int(deadline)), "-o", "-", "-w", "\n%{http_code}",
                                                 "-H", "Content-Type: application/json", "--data-binary", "@" + file,
                                                 "http://127.0.0.1:\(port)" + path],
                                     addressSpace: nil, deadline: deadline + 10).run()
        let text = run.stdout
        guard let cut = text.lastIndex(of: "\n") else { return Reply(status: 0, body: text) }
        return Reply(status: Int(text[text.index(after: cut)...]) ?? 0, body: String(text[..<cut]))
    }

    func post(_ path: String, json: Any) throws -> Reply {
        try post(path, body: try JSONSerialization.data(withJSONObject: json))
    }

    func get(_ path: String) throws -> Reply {
        let run = try BoundedProcess(executable: "/usr/bin/curl",
                                     arguments: ["-s", "--max-time", "60", "-o", "-", "-w", "\n%{http_code}", "http://127.0.0.1:\(port)" + path],
                                     addressSpace: nil, deadline: 70).run()
        guard let cut = run.stdout.lastIndex(of: "\n") else { return Reply(status: 0, body: run.stdout) }
        return Reply(status: Int(run.stdout[run.stdout.index(after: cut)...]) ?? 0, body: String(run.stdout[..<cut]))
    }

    /// A raw TCP connection to the server (a file descriptor the caller closes).
    func connect() throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ServeError("socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(fd)
            throw ServeError("connect() failed: \(errno)")
        }
        return fd
    }

    /// Reads from `fd` until the peer closes it or `seconds` pass; returns what came and whether it closed.
    static func readUntilClosed(_ fd: Int32, seconds: Int) -> (data: Data, closed: Bool) {
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        let end = Date().addingTimeInterval(TimeInterval(seconds))
        while Date() < end {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { return (data, true) }
            if n > 0 { data.append(contentsOf: buffer[..<n]) } else if errno == ECONNRESET { return (data, true) }
        }
        return (data, false)
    }

    func stop() {
        guard process.isRunning else { return }
        process.interrupt()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }
}
