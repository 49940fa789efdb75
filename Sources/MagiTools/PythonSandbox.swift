import Foundation

/// What the `python` tool's bubblewrap sandbox shows and allows: the limits of one interpreter and
/// the `bwrap` arguments that build it.
///
/// Visible inside: `/usr` and the merged-`/usr` links (`/bin`, `/lib`, `/lib64`, `/sbin`) read-only,
/// `/etc/ld.so.cache` and `/etc/localtime`, a private `/dev` (read-only, with a small `/dev/shm`),
/// `/proc` of its own PID namespace, and a size-limited `/tmp` (the working folder and `HOME`).
/// Nothing else of the host: no home folders, `/var`, `/run`, `/srv`, `/opt`, `/mnt`, host `/tmp`
/// or checkout. Every namespace is unshared (no network at all, no host unix sockets), the
/// environment is empty but for what Python needs, and the root is read-only.
///
/// Memory over all processes together is bounded without cgroups (which ordinary users cannot use
/// on machines without cgroup v2 delegation): the interpreter may have at most
/// ``Limits/processes`` tasks (RLIMIT_NPROC, counted per user namespace, threads included), each
/// with ``Limits/memoryBytes`` / ``Limits/processes`` of address space (RLIMIT_AS), so all of them
/// hold at most ``Limits/memoryBytes``, plus the working folder's ``Limits/diskBytes`` and 16 MB
/// of `/dev/shm`. A seccomp filter refuses the memory that no process's address space counts:
/// SysV shared memory and message queues, and `memfd_create`.
public struct PythonSandbox: Sendable {
    /// The limits of one call and of the interpreter as a whole.
    public struct Limits: Sendable {
        /// CPU seconds one call may use (the interpreter is stopped past it).
        public var cpuSeconds = 10
        /// Wall time of one call.
        public var wallTime: Duration = .seconds(30)
        /// Bytes kept of one call's stdout and of its stderr; past it the call is stopped.
        public var outputBytes = 64 << 10
        /// The memory of all the interpreter's processes together.
        public var memoryBytes = 2 << 30
        /// The most processes and threads at once, the sandbox's init included.
        public var processes = 8
        /// The size of the working folder `/tmp` (and the largest file).
        public var diskBytes = 256 << 20
        public init() {}

        /// The address space each process may have.
        public var memoryPerProcess: Int { memoryBytes / max(1, processes) }
    }

    /// The size of the sandbox's `/dev/shm`.
    static let sharedMemoryBytes = 16 << 20
    /// Most open files per process.
    static let openFiles = 256

    public var limits: Limits
    public var bubblewrap: String
    public var python: String

    public init(limits: Limits = Limits(), bubblewrap: String = "/usr/bin/bwrap", python: String = "/usr/bin/python3") {
        self.limits = limits
        self.bubblewrap = bubblewrap
        self.python = python
    }

    /// The program to start and its arguments: `bwrap …` (as root, `setpriv` to `nobody` first,
    /// so the process limit holds). `seccompFD` is the descriptor the filter is read from, if any.
    func command(driver: String, seccompFD: Int32?) -> (executable: String, arguments: [String]) {
        var sandbox = ["--unshare-all", "--die-with-parent", "--new-session", "--ro-bind", "/usr", "/usr"]
        for name in ["bin", "lib", "lib32", "lib64", "libx32", "sbin"] {
            let path = "/" + name
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path) {
                sandbox += ["--symlink", target, path]
            } else if FileManager.default.fileExists(atPath: path) {
                sandbox += ["--ro-bind", path, path]
            }
        }
        for file in ["/etc/ld.so.cache", "/etc/localtime"] where FileManager.default.fileExists(atPath: file) {
            sandbox += ["--ro-bind", file, file]
        }
        sandbox += [
            "--dev", "/dev", "--size", String(Self.sharedMemoryBytes), "--tmpfs", "/dev/shm", "--remount-ro", "/dev",
            "--proc", "/proc",
            "--size", String(limits.diskBytes), "--tmpfs", "/tmp", "--remount-ro", "/", "--chdir", "/tmp",
            "--clearenv", "--setenv", "HOME", "/tmp", "--setenv", "TMPDIR", "/tmp", "--setenv", "PATH", "/usr/bin:/bin",
            "--setenv", "LANG", "C.UTF-8", "--setenv", "OPENBLAS_NUM_THREADS", "1", "--setenv", "MPLBACKEND", "Agg",
        ]
        if let seccompFD { sandbox += ["--seccomp", String(seccompFD)] }
        sandbox += ["--", python, "-I", "-c", driver,
                    String(limits.memoryPerProcess), String(limits.processes), String(limits.diskBytes), String(Self.openFiles)]
        if getuid() == 0 {
            return ("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", bubblewrap] + sandbox)
        }
        return (bubblewrap, sandbox)
    }

    /// A classic BPF seccomp program (as `bwrap --seccomp` reads it) that makes `shmget`, `msgget`,
    /// `memfd_create` and `memfd_secret` fail with EPERM and kills a process using another
    /// architecture's system calls; nil on architectures it does not know.
    static var seccompFilter: [UInt8]? {
        #if arch(x86_64)
        let (arch, denied): (UInt32, [UInt32]) = (0xC000_003E, [29, 68, 319, 447])
        #elseif arch(arm64)
        let (arch, denied): (UInt32, [UInt32]) = (0xC000_00B7, [194, 186, 279, 447])
        #else
        return nil
        #endif
        // (code, jump if true, jump if false, constant)
        var program: [(UInt16, UInt8, UInt8, UInt32)] = [
            (0x20, 0, 0, 4),            // load seccomp_data.arch
            (0x15, 1, 0, arch),         // the native architecture? skip the kill
            (0x06, 0, 0, 0x8000_0000),  // SECCOMP_RET_KILL_PROCESS
            (0x20, 0, 0, 0),            // load seccomp_data.nr
        ]
        let deny = program.count + 1 + denied.count + 1
        program.append((0x35, UInt8(deny - program.count - 1), 0, 0x4000_0000))  // x32 numbers: deny
        for number in denied { program.append((0x15, UInt8(deny - program.count - 1), 0, number)) }
        program.append((0x06, 0, 0, 0x7FFF_0000))  // SECCOMP_RET_ALLOW
        program.append((0x06, 0, 0, 0x0005_0000 | UInt32(EPERM)))  // SECCOMP_RET_ERRNO | EPERM
        return program.flatMap { code, jt, jf, k in
            [UInt8(code & 0xFF), UInt8(code >> 8), jt, jf] + withUnsafeBytes(of: k.littleEndian, Array.init)
        }
    }
}
