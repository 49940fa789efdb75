import Foundation

/// Starts the programs magi runs (plugins, MCP servers) so that none outlives magi, even when
/// magi is killed with SIGKILL and no handler of its own can run.
///
/// Each program is started through util-linux's `setpriv --pdeathsig KILL`, which asks the kernel
/// (`PR_SET_PDEATHSIG`) to kill it when its parent goes, then execs it (same pid, same process
/// group). The kernel counts the *thread* that forked the program as its parent, so every program
/// is forked from one thread that lives as long as magi, never from a worker thread that may end.
/// (`posix_spawn`, which Foundation's `Process` uses, cannot call `prctl` itself; `setpriv` spares
/// a C shim.) Where `setpriv` is missing, programs start directly, without the death signal.
///
/// ```swift
/// let process = Process()
/// ChildSpawner.shared.prepare(process, executable: path, arguments: args)
/// try await ChildSpawner.shared.run(process)
/// ```
public final class ChildSpawner: @unchecked Sendable {  // `jobs` is guarded by `condition`.
    /// The one spawner of this process.
    public static let shared = ChildSpawner()

    /// `setpriv`, when this system has it.
    public let setpriv: String? = ["/usr/bin/setpriv", "/bin/setpriv"].first { FileManager.default.isExecutableFile(atPath: $0) }

    private let condition = NSCondition()
    private var jobs: [() -> Void] = []

    private init() {
        let thread = Thread { [self] in serve() }
        thread.name = "magi-spawner"
        thread.start()
    }

    /// Sets `process` to run `executable` with `arguments`, through `setpriv --pdeathsig KILL`
    /// when there is one.
    public func prepare(_ process: Process, executable: String, arguments: [String]) {
        if let setpriv {
            process.executableURL = URL(fileURLWithPath: setpriv)
            process.arguments = ["--pdeathsig", "KILL", "--", executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
    }

    /// Starts `process` from the spawner's thread; returns once it has started (or failed to),
    /// without holding a thread of the caller's meanwhile.
    public func run(_ process: Process) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            condition.withLock {
                jobs.append {
                    do {
                        try process.run()
                        continuation.resume()
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
                condition.signal()
            }
        }
    }

    private func serve() {
        while true {
            let job: () -> Void = condition.withLock {
                while jobs.isEmpty { condition.wait() }
                return jobs.removeFirst()
            }
            job()
        }
    }
}
