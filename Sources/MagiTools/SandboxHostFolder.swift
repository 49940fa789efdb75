import Foundation

/// The one folder on the host the `python` tool writes: images the code made, saved for the user
/// to open. One per magi process, `ROOT/ID/`, claimed by an `flock` held on `ROOT/ID.lock` for as
/// long as magi lives; a folder whose lock nobody holds was left by a killed magi and is removed by
/// ``removeAbandoned(in:)``. Created only when the first image arrives.
// Sendable by hand: `claimed` is guarded by `lock`.
final class SandboxHostFolder: @unchecked Sendable {
    let root: String
    private let lock = NSLock()
    private var claimed: (path: String, lockFile: String, fd: Int32)?

    init(root: String) { self.root = root }

    /// `${MAGI_HOME:-$HOME/.cache/magi}/python`.
    static func standardRoot(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let home = environment["MAGI_HOME"], !home.isEmpty { return home + "/python" }
        return (environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()) + "/.cache/magi/python"
    }

    /// The folder, created and claimed on first use.
    func path() throws(ToolError) -> String {
        lock.lock()
        defer { lock.unlock() }
        if let claimed { return claimed.path }
        do { try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true) } catch {
            throw .failed("cannot create \(root): \(error.localizedDescription)")
        }
        let name = "\(getpid())-\(UUID().uuidString.prefix(8))"
        let lockFile = root + "/" + name + ".lock"
        let fd = open(lockFile, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0, flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            if fd >= 0 { close(fd) }
            throw .failed("cannot lock \(lockFile): \(String(cString: strerror(errno)))")
        }
        let path = root + "/" + name
        guard mkdir(path, 0o700) == 0 else {
            close(fd)
            unlink(lockFile)
            throw .failed("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        claimed = (path, lockFile, fd)
        return path
    }

    /// Deletes the folder and releases its lock (when magi leaves).
    func remove() {
        lock.withLock {
            guard let claimed else { return }
            try? FileManager.default.removeItem(atPath: claimed.path)
            unlink(claimed.lockFile)
            close(claimed.fd)
            self.claimed = nil
        }
    }

    /// Removes the folders under `root` that no running magi holds: those of a magi that was killed.
    static func removeAbandoned(in root: String) {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: root) else { return }
        let locks = Set(names.filter { $0.hasSuffix(".lock") })
        for name in names where !name.hasSuffix(".lock") {
            let lockFile = root + "/" + name + ".lock"
            if locks.contains(name + ".lock") {
                let fd = open(lockFile, O_RDWR | O_CLOEXEC)
                guard fd >= 0 else { continue }
                defer { close(fd) }
                guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { continue }  // its magi still runs
                try? fm.removeItem(atPath: root + "/" + name)
                unlink(lockFile)
            } else {
                // A lock is taken before its folder is made, so a folder without one is abandoned.
                try? fm.removeItem(atPath: root + "/" + name)
            }
        }
        // Locks whose folder is gone (a magi killed between the two steps).
        for name in locks where !names.contains(String(name.dropLast(5))) {
            let fd = open(root + "/" + name, O_RDWR | O_CLOEXEC)
            guard fd >= 0 else { continue }
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { unlink(root + "/" + name) }
            close(fd)
        }
    }
}
