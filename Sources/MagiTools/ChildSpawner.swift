import Foundation

/// Starts the programs magi runs (plugins, MCP servers) so that none outlives magi, even when
/// magi is killed with SIGKILL and no handler of its own can run.
///
/// Each program is started through util-linux's `setpriv --pdeathsig KILL`, which asks the kernel
/// (`PR_SET_PDEATHSIG`) to kill it when its parent goes, then execs it (same pid, same process
/// group). The kernel counts the *thread* that forked the program as its parent, so each program
/// is forked from a thread of its own that then watches it until it has exited: the death signal
/// can fire only once the program is gone, or when magi is. (`posix_spawn`, which Foundation's
/// `Process` uses, cannot call `prctl` itself; `setpriv` spares a C shim.) Where `setpriv` is
/// missing, programs start directly, without the death signal.
///
/// ```swift
/// let process = Process()
/// ChildSpawner.prepare(process, executable: path, arguments: args)
/// try await ChildSpawner.run(process) { pid in /* waitid(pid…): returns once it has exited */ }
/// ```
public enum ChildSpawner {
    /// `setpriv`, when this system has it.
    public static let setpriv: String? = ["/usr/bin/setpriv", "/bin/setpriv"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Sets `process` to run `executable` with `arguments`, through `setpriv --pdeathsig KILL`
    /// when there is one.
    public static func prepare(_ process: Process, executable: String, arguments: [String]) {
        if let setpriv {
            process.executableURL = URL(fileURLWithPath: setpriv)
            process.arguments = ["--pdeathsig", "KILL", "--", executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
    }

    /// Starts `process` (the leader of a process group of its own) from a new thread, registers
    /// its group in ``ChildProcessGroups/shared``, and returns; the thread then runs `watch` with
    /// the pid, which must return only once the program has exited.
    public static func run(_ process: Process, watch: @escaping @Sendable (pid_t) -> Void) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let thread = Thread {
                do {
                    try process.run()
                } catch {
                    return continuation.resume(throwing: error)
                }
                let pid = process.processIdentifier
                ChildProcessGroups.shared.register(pid)
                continuation.resume()
                watch(pid)
            }
            thread.name = "magi-child"
            thread.start()
        }
    }
}
