import Foundation

/// `python`: runs Python code in a bubblewrap sandbox — no network, a read-only system, a private
/// writable working folder as `/tmp` (the only writable place), no view of home folders, and limits
/// on CPU time, wall time, memory, processes, file size and output. When run as root, the sandbox
/// runs as `nobody` (so the process limit holds). Without bubblewrap, or when it cannot create its
/// namespaces, the tool says so and runs nothing: code never runs unsandboxed.
///
/// Each call is a fresh interpreter; files written in the working folder stay between calls.
public struct PythonSandboxTool: Tool {
    public let name = "python"
    public let description = "Run Python 3 code in a sandbox without network access and return its stdout, stderr and any exception. Print what you want to see. Files written in the current folder are kept between calls."
    public let parametersSchema = #"""
        {"type": "object", "properties": {"code": {"type": "string", "description": "The Python program to run."}}, "required": ["code"]}
        """#
    public let access: ToolAccess = .code
    public var timeout: Duration { limits.wallTime + .seconds(5) }

    /// The limits of one run.
    public struct Limits: Sendable {
        public var cpuSeconds = 10
        public var wallTime: Duration = .seconds(20)
        public var memoryBytes = 512 << 20
        public var processes = 32
        public var fileBytes = 16 << 20
        /// Bytes kept of stdout and of stderr; past it the program is stopped.
        public var outputBytes = 64 << 10
        public init() {}
    }

    public let limits: Limits
    /// The folder bound as the sandbox's `/tmp`, created on first use.
    public let workFolder: String
    let bubblewrap: String
    let python: String

    /// - Parameters:
    ///   - workFolder: the private working folder (default: a new folder under the system's temporary folder).
    ///   - bubblewrap: the `bwrap` executable; `python`: the interpreter inside the sandbox.
    public init(limits: Limits = Limits(), workFolder: String? = nil, bubblewrap: String = "/usr/bin/bwrap",
                python: String = "/usr/bin/python3") {
        self.limits = limits
        self.workFolder = workFolder ?? NSTemporaryDirectory() + "magi-python-\(getpid())-\(UUID().uuidString.prefix(8))"
        self.bubblewrap = bubblewrap
        self.python = python
    }

    /// Sets the limits inside the sandbox, then runs the code from stdin; an exception ends as a
    /// traceback on stderr and exit status 1.
    static let launcher = """
        import resource, sys
        def limit(kind, n): resource.setrlimit(kind, (n, n))
        # SIGXCPU at the soft CPU limit, SIGKILL a second later if it is caught.
        resource.setrlimit(resource.RLIMIT_CPU, (int(sys.argv[1]), int(sys.argv[1]) + 1)); limit(resource.RLIMIT_AS, int(sys.argv[2]))
        limit(resource.RLIMIT_NPROC, int(sys.argv[3])); limit(resource.RLIMIT_FSIZE, int(sys.argv[4]))
        limit(resource.RLIMIT_CORE, 0)
        source = sys.stdin.read()
        sys.argv = ["<code>"]
        exec(compile(source, "<code>", "exec"), {"__name__": "__main__"})
        """

    public func run(arguments: String) async throws -> String {
        guard let code = try JSONValue(parsingToolJSON: arguments)["code"]?.string else { throw ToolError.invalidArguments("code is required") }
        guard FileManager.default.isExecutableFile(atPath: bubblewrap) else {
            throw ToolError.failed("bubblewrap (bwrap) is not installed, and code is never run unsandboxed; install the bubblewrap package")
        }
        try prepareWorkFolder()
        let sandbox = [
            "--unshare-all", "--die-with-parent", "--new-session",
            "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
            "--tmpfs", "/home", "--tmpfs", "/root", "--tmpfs", "/run", "--tmpfs", "/var/tmp",
            "--bind", workFolder, "/tmp", "--chdir", "/tmp",
            "--clearenv", "--setenv", "HOME", "/tmp", "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "PYTHONDONTWRITEBYTECODE", "1",
            "--setenv", "LANG", "C.UTF-8",
            "--", python, "-I", "-c", Self.launcher,
            String(limits.cpuSeconds), String(limits.memoryBytes), String(limits.processes), String(limits.fileBytes),
        ]
        // Root is exempt from the process limit: drop to nobody first; bwrap then builds a user namespace.
        let asRoot = getuid() == 0
        let child = ChildProcess(executable: asRoot ? "/usr/bin/setpriv" : bubblewrap,
                                 arguments: (asRoot ? ["--reuid=65534", "--regid=65534", "--clear-groups", bubblewrap] : []) + sandbox,
                                 environment: [:], timeout: limits.wallTime, outputLimit: limits.outputBytes)
        let outcome = try await child.run(input: Array(code.utf8))
        let stderr = outcome.stderrText
        if case .exited(1) = outcome.ending, stderr.hasPrefix("bwrap:") || stderr.hasPrefix("setpriv:") {
            throw ToolError.failed("the sandbox could not start (\(stderr.trimmingCharacters(in: .whitespacesAndNewlines))), so the code was not run")
        }
        if outcome.ending == .cancelled { throw ToolError.cancelled }
        return report(outcome)
    }

    /// stdout, stderr (with any traceback) and how the run ended, each part only when there is something to say.
    private func report(_ outcome: ChildProcess.Outcome) -> String {
        var parts: [String] = []
        if !outcome.stdout.isEmpty { parts.append("stdout:\n" + outcome.stdoutText) }
        if !outcome.stderr.isEmpty { parts.append("stderr:\n" + outcome.stderrText) }
        switch outcome.ending {
        case .exited(0): if parts.isEmpty { parts.append("(no output)") }
        // bwrap passes on a signal that ended the program as status 128 + signal.
        case .signalled(SIGXCPU), .exited(128 + SIGXCPU), .exited(128 + SIGKILL):
            parts.append("stopped: the CPU time limit of \(limits.cpuSeconds) s was reached")
        case .signalled(SIGXFSZ), .exited(128 + SIGXFSZ): parts.append("stopped: a file grew past the limit of \(limits.fileBytes >> 20) MB")
        case .exited(let status) where status > 128: parts.append("stopped by signal \(status - 128)")
        case .exited(let status): parts.append("exit status \(status)")
        case .signalled(let signal): parts.append("stopped by signal \(signal)")
        case .timedOut: parts.append("stopped: the wall-time limit of \(limits.wallTime.components.seconds) s was reached")
        case .outputLimit: parts.append("stopped: the output passed \(limits.outputBytes >> 10) KB; only its beginning is shown")
        case .cancelled: break
        }
        return parts.joined(separator: "\n")
    }

    /// Deletes the working folder and what the code left in it (when the conversation ends).
    public func removeWorkFolder() {
        try? FileManager.default.removeItem(atPath: workFolder)
    }

    private func prepareWorkFolder() throws {
        let fm = FileManager.default
        if !fm.fileExists(atPath: workFolder) {
            do {
                try fm.createDirectory(atPath: workFolder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw ToolError.failed("cannot create the sandbox's working folder \(workFolder): \(error.localizedDescription)")
            }
            if getuid() == 0 { chown(workFolder, 65534, 65534) }
        }
    }
}
