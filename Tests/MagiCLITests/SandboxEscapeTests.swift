import Foundation
import Testing

/// The `python` sandbox attacked through the real binary (`magi tool python`, one cell per line of
/// stdin), once as root and once as an unprivileged user the test creates (home under /var/lib,
/// run through `setpriv`). Canaries: a secret in that home, a unix socket listening beside it, a
/// file in host /tmp, this checkout's files, and TCP and UDP listeners on loopback. Every attack
/// must be contained, checked inside and on the host, and the machine left as it was.
@Suite(.serialized, .enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/bwrap")
                                && FileManager.default.isExecutableFile(atPath: "/usr/sbin/useradd")))
struct SandboxEscapeTests {
    @Test func containedForRoot() throws {
        let home = "/var/lib/magi-escape-root-\(UUID().uuidString.prefix(6).lowercased())"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: home) }
        try EscapeRun(home: home, user: nil).attack()
    }

    @Test func containedForAnUnprivilegedUser() throws {
        let name = "magi-escape-\(UUID().uuidString.prefix(6).lowercased())"
        let home = "/var/lib/" + name
        let added = try Run.command("/usr/sbin/useradd", ["--system", "--home-dir", home, "--create-home", "--shell", "/usr/sbin/nologin", name])
        try #require(added.status == 0, "\(added.output)")
        defer {
            _ = try? Run.command("/usr/bin/pkill", ["-KILL", "-u", name])
            _ = try? Run.command("/usr/sbin/userdel", ["--remove", name])
        }
        let uid = try #require(Int32(try Run.command("/usr/bin/id", ["-u", name]).output.trimmingCharacters(in: .whitespacesAndNewlines)))
        let gid = try #require(Int32(try Run.command("/usr/bin/id", ["-g", name]).output.trimmingCharacters(in: .whitespacesAndNewlines)))
        try EscapeRun(home: home, user: (uid, gid)).attack()
    }
}

/// One run of the suite: as root (`user` nil) or as `user`, whose home `home` is.
struct EscapeRun {
    let home: String
    let user: (uid: Int32, gid: Int32)?
    let marker = "9\(Int.random(in: 10_000_000...99_999_999)).5"
    let limits = (memory: 2 << 30, disk: 256 << 20, processes: 8)

    func attack() throws {
        // Canaries.
        let secret = home + "/.ssh/id_rsa", checkoutSecret = home + "/checkout/secret.txt"
        let repositoryFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Package.swift").standardized.path
        let hostTmpCanary = NSTemporaryDirectory() + "magi-escape-canary-\(UUID().uuidString.prefix(6))"
        for (path, text) in [(secret, "-----BEGIN PRIVATE KEY-----"), (checkoutSecret, "checkout secret"), (hostTmpCanary, "host tmp")] {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: false, encoding: .utf8)
        }
        defer { try? FileManager.default.removeItem(atPath: hostTmpCanary) }
        if let user { _ = try Run.command("/usr/bin/chown", ["-R", "\(user.uid):\(user.gid)", home]) }
        let unixSocket = try Listener.unix(path: home + "/agent.sock")
        let abstractName = "magi-escape-\(marker)"
        let abstractSocket = try Listener.unix(path: "\0" + abstractName)
        let tcp = try Listener.inet(type: SOCK_STREAM), udp = try Listener.inet(type: SOCK_DGRAM)
        let tmpBefore = Set((try? FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory())) ?? [])
        let (sharedBefore, diskBefore) = (Machine.sharedMemory(), Machine.freeDisk())
        let sandboxUIDs: Set<uid_t> = user.map { [uid_t($0.uid)] } ?? [0, 65534]

        var session = try MagiTool(home: home, user: user)
        // Reading.
        let read = try session.call("""
            import os
            paths = [\(python: secret), \(python: checkoutSecret), \(python: repositoryFile), \(python: hostTmpCanary), \(python: home),
                     '/etc/shadow', '/etc/passwd', '/root', '/home', '/var', '/run', '/srv', '/opt', '/mnt', '/work', '/sys', '/boot']
            print('visible:', [p for p in paths if os.path.exists(p)])
            """)
        #expect(read == "stdout:\nvisible: []\n", "\(read)")
        // Writing.
        let write = try session.call("""
            wrote = []
            for p in ['/x', '/usr/x', '/etc/x', '/dev/x', '/proc/x', \(python: home + "/x"), '/tmp/../x', '/dev/shm/../x']:
                try: open(p, 'w').write('x'); wrote.append(p)
                except OSError: pass
            print('wrote:', wrote)
            """)
        #expect(write == "stdout:\nwrote: []\n", "\(write)")
        #expect(!FileManager.default.fileExists(atPath: home + "/x") && !FileManager.default.fileExists(atPath: "/x"))
        // Sockets: unix (by path and abstract), TCP and UDP to the host's loopback listeners.
        let sockets = try session.call("""
            import socket
            out = []
            for address in [\(python: home + "/agent.sock"), '\\0' + \(python: abstractName)]:
                try: socket.socket(socket.AF_UNIX).connect(address); out.append('connected')
                except OSError as e: out.append(type(e).__name__)
            try: socket.create_connection(('127.0.0.1', \(tcp.port)), timeout=3); out.append('tcp connected')
            except OSError as e: out.append(e.strerror)
            try: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'escape', ('127.0.0.1', \(udp.port))); out.append('udp sent')
            except OSError as e: out.append(e.strerror)
            print(out)
            """)
        #expect(sockets == "stdout:\n['FileNotFoundError', 'ConnectionRefusedError', 'Connection refused', 'udp sent']\n", "\(sockets)")
        // The datagram went to the sandbox's own loopback; the host's listeners got nothing.
        for listener in [unixSocket, abstractSocket, tcp, udp] { #expect(!listener.hasPendingInput, "\(listener.name) was reached") }
        // Memory held by many processes: each child holds what it can and reports it.
        let memory = try session.call("""
            import os, time
            r, w = os.pipe()
            kids = []
            for i in range(12):
                try: pid = os.fork()
                except OSError: break
                if pid == 0:
                    held, blocks = 0, []
                    try:
                        while held < (1 << 30):
                            blocks.append(bytearray(b'x') * (32 << 20)); held += 32 << 20
                    except MemoryError: pass
                    os.write(w, b'%d\\n' % held); time.sleep(1); os._exit(0)
                kids.append(pid)
            os.close(w)
            total = sum(int(x) for x in os.fdopen(r).read().split())
            for k in kids: os.waitpid(k, 0)
            print('children:', len(kids), 'bounded:', total <= \(limits.memory))
            """)
        #expect(memory.hasPrefix("stdout:\nchildren: ") && memory.contains(" bounded: True\n"), "\(memory.suffix(800))")
        // A fork bomb: every child forks on.
        let bomb = try session.call("""
            import os, time
            def bomb():
                while True:
                    try:
                        if os.fork() == 0: continue
                    except OSError:
                        time.sleep(1); os._exit(0)
            peak = 0
            if os.fork() == 0: bomb()
            for _ in range(20):
                peak = max(peak, sum(name.isdigit() for name in os.listdir('/proc'))); time.sleep(0.05)
            try: os.wait()
            except ChildProcessError: pass
            print('processes at most:', peak <= \(limits.processes))
            """)
        // Grandchildren still alive when the cell ends fill the process count: that restarts the interpreter.
        #expect(bomb.hasPrefix("stdout:\nprocesses at most: True\n"), "\(bomb)")
        // Filling the disk and every other writable place, and memory no process's limit counts.
        let disk = try session.call("""
            import os, ctypes
            def fill(path):
                n = 0
                try:
                    with open(path, 'wb') as f:
                        while n < 4096: f.write(b'x' * (1 << 20)); f.flush(); n += 1
                except OSError: pass
                os.remove(path)
                return n
            libc = ctypes.CDLL(None, use_errno=True)
            try: os.memfd_create('m'); memfd = 'made'
            except OSError: memfd = 'refused'
            print(fill('/tmp/fill') <= 256, fill('/dev/shm/fill') <= 16, memfd, libc.shmget(0, 1 << 30, 0o1600))
            """)
        #expect(disk.hasSuffix("stdout:\nTrue True refused -1\n"), "\(disk)")
        // Endless output.
        let output = try session.call("while True: print('x' * 100)")
        #expect(output.hasSuffix("stopped: the output passed 64 KB. The interpreter was ended, so the variables, imports and files of earlier calls are lost; the next call starts a new one."))
        // Processes left behind: a new session's daemon and a double-forked one.
        let left = try session.call("""
            import os, subprocess
            subprocess.Popen(['/usr/bin/sleep', \(python: marker)], start_new_session=True)
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0: os.execv('/usr/bin/sleep', ['sleep', \(python: marker)])
                os._exit(0)
            print('started')
            """)
        #expect(left.hasPrefix("note: this is a new Python interpreter") && left.hasSuffix("stdout:\nstarted\n"), "\(left)")
        #expect(Machine.waitUntil { Machine.processes(with: marker).count == 2 })
        session.finish()
        #expect(Machine.waitUntil { Machine.processes(with: marker).isEmpty }, "processes outlived magi")

        // kill -9 of magi in the middle of a call: everything in the sandbox ends with it; the
        // image folder it left is removed by the next magi.
        var killed = try MagiTool(home: home, user: user)
        let image = try killed.call("open('plot.png', 'wb').write(b'\\x89PNG\\r\\n\\x1a\\n')")
        #expect(image.contains("image: plot.png (saved on the host as \(home)/.cache/magi/python/"), "\(image)")
        let folders = try FileManager.default.contentsOfDirectory(atPath: home + "/.cache/magi/python")
        #expect(folders.count == 2)  // the folder and its lock
        killed.send("import subprocess, time\nsubprocess.Popen(['/usr/bin/sleep', \(python: marker)], start_new_session=True)\ntime.sleep(60)")
        #expect(Machine.waitUntil { Machine.processes(with: marker).count == 1 })
        killed.kill()
        #expect(Machine.waitUntil { Machine.processes(with: marker).isEmpty }, "the sandbox outlived kill -9 of magi")
        #expect(try FileManager.default.contentsOfDirectory(atPath: home + "/.cache/magi/python") == folders)
        var next = try MagiTool(home: home, user: user)
        #expect(try next.call("1") == "result:\n1")
        #expect(try FileManager.default.contentsOfDirectory(atPath: home + "/.cache/magi/python").isEmpty)
        next.finish()

        // The machine as it was: no process of the sandbox's users left, nothing new in /tmp,
        // memory and disk back (within what other work on the machine moves them).
        if let user {
            var left: [String] = []
            #expect(Machine.waitUntil { left = Machine.processes(ownedBy: [uid_t(user.uid)]); return left.isEmpty }, "\(left.map { (try? String(contentsOfFile: "/proc/\($0)/cmdline", encoding: .utf8)) ?? $0 })")
        }
        let tmpAfter = Set((try? FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory())) ?? [])
        let added = tmpAfter.subtracting(tmpBefore).filter { name in
            guard let owner = (try? FileManager.default.attributesOfItem(atPath: NSTemporaryDirectory() + name))?[.ownerAccountID] as? UInt else { return false }
            return sandboxUIDs.subtracting([0]).contains(uid_t(owner)) || name.hasPrefix("magi-python")
        }
        #expect(added.isEmpty, "\(added)")
        #expect(Machine.sharedMemory() < sharedBefore + (256 << 20))
        #expect(Machine.freeDisk() > diskBefore - (1 << 30))
        #expect(try String(contentsOfFile: secret, encoding: .utf8) == "-----BEGIN PRIVATE KEY-----")
    }
}

/// `magi tool python` as root or as a user, one JSON line in and one out per call.
struct MagiTool {
    let process = Process()
    let input = Pipe()
    let lines = LineReader()

    init(home: String, user: (uid: Int32, gid: Int32)?) throws {
        let magi = CommandLineTests.executable
        if let user {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=\(user.uid)", "--regid=\(user.gid)", "--clear-groups", magi, "tool", "python"]
        } else {
            process.executableURL = URL(fileURLWithPath: magi)
            process.arguments = ["tool", "python"]
        }
        process.environment = ["HOME": home, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"]
        process.currentDirectoryURL = URL(fileURLWithPath: home)
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        try process.run()
        lines.start(output.fileHandleForReading)
    }

    func send(_ code: String) {
        let line = String(decoding: try! JSONSerialization.data(withJSONObject: ["code": code]), as: UTF8.self) + "\n"
        input.fileHandleForWriting.write(Data(line.utf8))
    }

    /// Runs one cell and returns its result (or error) text; a call that takes over 60 s kills magi.
    mutating func call(_ code: String) throws -> String {
        send(code)
        guard let line = lines.next(timeout: 60) else {
            kill()
            throw EscapeError("no answer from magi tool python")
        }
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String] ?? [:]
        return object["result"] ?? "error: " + (object["error"] ?? line)
    }

    /// Closes stdin, so magi ends the session and exits (killed after 20 s).
    func finish() {
        try? input.fileHandleForWriting.close()
        if !Machine.waitUntil(seconds: 20, { !process.isRunning }) { kill() }
        process.waitUntilExit()
    }

    func kill() {
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// Lines of a pipe, read on a thread of their own.
final class LineReader: @unchecked Sendable {
    private let lock = NSCondition()
    private var lines: [String] = []
    private var ended = false

    func start(_ handle: FileHandle) {
        Thread { [self] in
            var pending = Data()
            while case let chunk = handle.availableData, !chunk.isEmpty {
                pending += chunk
                while let newline = pending.firstIndex(of: 0x0A) {
                    let line = String(decoding: pending[..<newline], as: UTF8.self)
                    pending = pending[(newline + 1)...]
                    lock.withLock { lines.append(line); lock.broadcast() }
                }
            }
            lock.withLock { ended = true; lock.broadcast() }
        }.start()
    }

    func next(timeout: TimeInterval) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        return lock.withLock {
            while lines.isEmpty && !ended { if !lock.wait(until: deadline) { return nil } }
            return lines.isEmpty ? nil : lines.removeFirst()
        }
    }
}

/// A listening socket on the host, to see whether the sandbox reached it.
struct Listener {
    let fd: Int32
    let port: UInt16
    let name: String

    static func unix(path: String) throws -> Listener {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[i] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.utf8.count)
        guard withUnsafePointer(to: &address, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }) == 0,
              listen(fd, 8) == 0 else { throw EscapeError("cannot listen on \(path)") }
        if !path.hasPrefix("\0") { chmod(path, 0o777) }
        return Listener(fd: fd, port: 0, name: path.hasPrefix("\0") ? "abstract unix socket" : path)
    }

    static func inet(type: __socket_type) throws -> Listener {
        let fd = socket(AF_INET, Int32(type.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        guard withUnsafeMutablePointer(to: &address, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
        } }) else { throw EscapeError("cannot bind a loopback socket") }
        if type == SOCK_STREAM { listen(fd, 8) }
        return Listener(fd: fd, port: UInt16(bigEndian: address.sin_port), name: type == SOCK_STREAM ? "TCP listener" : "UDP socket")
    }

    /// A connection waits to be accepted, or a datagram to be read.
    var hasPendingInput: Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 200) > 0
    }
}

/// What the suite reads of the machine.
enum Machine {
    /// Memory held by tmpfs and shared memory (`Shmem` in /proc/meminfo): what a sandbox could
    /// leave behind. Unlike available memory, it does not move with the tests running beside this one.
    static func sharedMemory() -> Int {
        let text = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix("Shmem:") } ?? ""
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }

    static func freeDisk() -> Int {
        var info = statvfs()
        statvfs("/", &info)
        return Int(info.f_bavail) * Int(info.f_frsize)
    }

    /// Processes whose command line holds `text`.
    static func processes(with text: String) -> [String] {
        pids().filter { pid in
            let arguments = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
            return String(decoding: arguments.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self).contains(text)
        }
    }

    /// Live processes (not zombies, which the container's init reaps late) of these users.
    static func processes(ownedBy uids: Set<uid_t>) -> [String] {
        pids().filter { pid in
            var info = stat()
            guard stat("/proc/\(pid)", &info) == 0, uids.contains(info.st_uid),
                  let status = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
            return status.split(separator: ")").last?.split(separator: " ").first != "Z"
        }
    }

    private static func pids() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).filter { $0.allSatisfy(\.isNumber) }
    }

    static func waitUntil(seconds: Double = 10, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(100_000)
        }
        return condition()
    }
}

/// Runs a short host command (tests' setup), killed after 30 s.
enum Run {
    static func command(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let timer = DispatchWorkItem { [process] in if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 30, execute: timer)
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        timer.cancel()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

struct EscapeError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension DefaultStringInterpolation {
    /// A Python string literal of `text`.
    mutating func appendInterpolation(python text: String) {
        appendLiteral(String(String(decoding: try! JSONSerialization.data(withJSONObject: [text], options: .withoutEscapingSlashes), as: UTF8.self).dropFirst().dropLast()))
    }
}
