import Foundation
import Synchronization

/// A small watcher process that kills the process groups magi registered (``ChildProcessGroups``)
/// once magi is gone, however it went — also killed with SIGKILL, when no handler of magi's runs.
///
/// The kernel's death signal (``ChildSpawner``) reaches only the programs magi started itself;
/// what those started in their groups would live on. So magi tells the watcher, a `/bin/sh` loop
/// reading a pipe, each group it registers (`+ PGID`) and forgets (`- PGID`); when the pipe ends —
/// magi's end, the only holder of its write end (close-on-exec) — the watcher kills the groups
/// still listed and exits. It ignores the terminal's signals (Ctrl-C, hang-up) so that it outlives
/// magi by that moment.
enum ChildGuardian {
    /// The write end of the watcher's pipe, or -1 when it could not start.
    private static let pipeEnd = Atomic<Int32>(-1)

    private static let script = """
        trap '' INT HUP TERM QUIT TSTP
        groups=' '
        while read -r op pgid; do
          case $op in
            +) groups="$groups$pgid " ;;
            -) case $groups in *" $pgid "*) groups="${groups%% $pgid *} ${groups#* $pgid }" ;; esac ;;
          esac
        done
        for group in $groups; do kill -KILL "-$group" 2>/dev/null; done
        """

    /// Starts the watcher, once.
    private static let started: Void = {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { return }
        // Neither end may reach another program: the watcher gets its own copy as stdin.
        ends.forEach { _ = fcntl($0, F_SETFD, FD_CLOEXEC) }
        let watcher = Process()
        watcher.executableURL = URL(fileURLWithPath: "/bin/sh")
        watcher.arguments = ["-c", script, "magi-guardian"]
        watcher.environment = ["PATH": "/usr/bin:/bin"]
        watcher.standardInput = FileHandle(fileDescriptor: ends[0], closeOnDealloc: false)
        watcher.standardOutput = FileHandle.nullDevice
        watcher.standardError = FileHandle.nullDevice
        do {
            try watcher.run()
            pipeEnd.store(ends[1], ordering: .releasing)
        } catch {
            close(ends[1])
        }
        close(ends[0])
    }()

    /// Tells the watcher of group `pgid` (`+`) or that it is gone (`-`).
    static func tell(_ operation: Character, _ pgid: pid_t) {
        _ = started
        let fd = pipeEnd.load(ordering: .acquiring)
        guard fd >= 0 else { return }
        let line = Array("\(operation) \(pgid)\n".utf8)
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }  // one write under PIPE_BUF: atomic
    }
}
