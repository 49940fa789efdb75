import Foundation
import Synchronization

/// `python`: a stateful Python interpreter in a bubblewrap sandbox (``PythonSandbox``), one per
/// conversation, started on first use. Each call runs like a notebook cell: its stdout, stderr, the
/// exception's traceback and the value of a final expression come back; variables, imports and
/// files in the working folder stay for the next call.
///
/// A call that passes a limit (wall time, CPU time, output, memory, disk, processes), crashes the
/// interpreter or is stopped by the user ends the interpreter (a new one has a fresh working folder); the result says so, and so does the next call's, which starts
/// a new one. Without bubblewrap, or when it cannot create its namespaces, the tool says so and runs
/// nothing: code never runs unsandboxed. Images the code writes (PNG, JPEG, GIF) are saved on the
/// host (``SandboxHostFolder``), named in the result and passed to `showImage`.
public struct PythonSandboxTool: StatefulTool {
    public let name = "python"
    public let description = "Run Python 3 code in a persistent sandboxed interpreter without network access, like a notebook cell: returns stdout, stderr, any exception, and the value of the last expression. Variables, imports and files in the current folder are kept between calls. Images saved as files (e.g. plt.savefig('plot.png')) are shown to the user."
    public let parametersSchema = #"""
        {"type": "object", "properties": {"code": {"type": "string", "description": "The Python code to run."}}, "required": ["code"]}
        """#
    public let access: ToolAccess = .code
    public var timeout: Duration { sandbox.limits.wallTime + .seconds(5) }

    public let sandbox: PythonSandbox
    private let session: PythonSession

    /// - Parameters:
    ///   - hostFolder: where images are saved on the host (default: `${MAGI_HOME:-~/.cache/magi}/python`).
    ///   - showImage: called with the host path of each image a call saved (to draw it on a terminal).
    public init(limits: PythonSandbox.Limits = .init(), bubblewrap: String = "/usr/bin/bwrap", python: String = "/usr/bin/python3",
                hostFolder: String? = nil, showImage: (@Sendable (String) -> Void)? = nil) {
        sandbox = PythonSandbox(limits: limits, bubblewrap: bubblewrap, python: python)
        session = PythonSession(sandbox: sandbox, hostFolder: SandboxHostFolder(root: hostFolder ?? SandboxHostFolder.standardRoot()),
                                showImage: showImage)
    }

    public func run(arguments: String) async throws -> String {
        guard let code = try JSONValue(parsingToolJSON: arguments)["code"]?.string else { throw ToolError.invalidArguments("code is required") }
        guard FileManager.default.isExecutableFile(atPath: sandbox.bubblewrap) else {
            throw ToolError.failed("bubblewrap (bwrap) is not installed, and code is never run unsandboxed; install the bubblewrap package")
        }
        return try await session.run(code)
    }

    public func restart() -> String { session.restart() }

    /// Removes the host folders (``SandboxHostFolder``) that a killed magi left under `root`
    /// (default: `${MAGI_HOME:-~/.cache/magi}/python`); those of a running magi stay. Cheap when
    /// the folder does not exist: magi calls it at every start.
    public static func removeAbandonedFolders(in root: String? = nil) {
        SandboxHostFolder.removeAbandoned(in: root ?? SandboxHostFolder.standardRoot())
    }

    public func end() { session.end() }

    /// The process id of the running sandbox (bubblewrap's), if one runs.
    public var sandboxProcess: pid_t? { session.runningProcess }
}

/// Why an interpreter ended before its conversation did.
enum InterpreterLoss: Equatable {
    case wallTime(Duration), cpuTime(Int), output(Int), memory(Int), disk(Int), processes(Int)
    case crashed(Int32), cancelled, restarted, brokenProtocol

    var reason: String {
        switch self {
        case .wallTime(let limit): return "the wall-time limit of \(limit.components.seconds) s was reached"
        case .cpuTime(let seconds): return "the CPU time limit of \(seconds) s was reached"
        case .output(let bytes): return "the output passed \(bytes >> 10) KB"
        case .memory(let bytes): return "the memory limit of \(bytes >> 20) MB per process was reached"
        case .disk(let bytes): return "the working folder's limit of \(bytes >> 20) MB was reached"
        case .processes(let count): return "the limit of \(count) processes and threads was reached"
        case .crashed(let status) where status > 128: return "the interpreter was killed by signal \(status - 128)"
        case .crashed(let status): return "the interpreter exited with status \(status)"
        case .cancelled: return "the user stopped the call"
        case .restarted: return "it was restarted on request"
        case .brokenProtocol: return "the interpreter sent a reply magi could not read"
        }
    }
}

/// The interpreter of one conversation: started on first use, restarted after it is lost. Calls
/// run one at a time on a queue of their own.
// Sendable by hand: calls run one at a time on `queue`; the fields read from other threads (`process`, `loss`, `swept`, `images`) are guarded by `lock`.
final class PythonSession: @unchecked Sendable {
    private let sandbox: PythonSandbox
    private let hostFolder: SandboxHostFolder
    private let showImage: (@Sendable (String) -> Void)?
    private let queue = DispatchQueue(label: "magi.python-session")
    private let lock = NSLock()
    private var process: InterpreterProcess?
    /// Why the last interpreter ended, told at the start of the next call's result.
    private var loss: InterpreterLoss?
    private var swept = false
    private var images = 0

    init(sandbox: PythonSandbox, hostFolder: SandboxHostFolder, showImage: (@Sendable (String) -> Void)?) {
        self.sandbox = sandbox
        self.hostFolder = hostFolder
        self.showImage = showImage
    }

    var runningProcess: pid_t? { lock.withLock { process?.pid } }

    func run(_ code: String) async throws -> String {
        let cancelled = CancelFlag()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                queue.async {
                    continuation.resume(with: Result { () throws(ToolError) -> String in try self.runCell(code, cancelled: cancelled) })
                }
            }
        } onCancel: {
            cancelled.set()
        }
    }

    func restart() -> String {
        let (had, swapped) = lock.withLock { () -> (Bool, InterpreterProcess?) in
            let old = process
            process = nil
            if old != nil { loss = .restarted }
            return (old != nil, old)
        }
        swapped?.kill()
        return had ? "python: the interpreter was restarted; its variables, imports and files are gone"
                   : "python: no interpreter runs; the next call starts one"
    }

    func end() {
        let old = lock.withLock { () -> InterpreterProcess? in
            defer { process = nil; loss = nil }
            return process
        }
        old?.kill()
        hostFolder.remove()
    }

    /// Runs one cell, starting the interpreter when none runs.
    private func runCell(_ code: String, cancelled: CancelFlag) throws(ToolError) -> String {
        let limits = sandbox.limits
        var notes: [String] = []
        let interpreter: InterpreterProcess
        if let running = lock.withLock({ process }) {
            interpreter = running
        } else {
            if let loss = lock.withLock({ loss }) {
                notes.append("note: this is a new Python interpreter, because the previous one ended (\(loss.reason)): the variables, imports and files of earlier calls are gone.")
            }
            interpreter = try start()
        }
        let request = try! JSONEncoder().encode(CellRequest(code: code, cpu: limits.cpuSeconds))
        let exchange = interpreter.exchange(Array(request), deadline: .now + limits.wallTime, outputLimit: limits.outputBytes,
                                            isCancelled: cancelled.isSet)
        var parts = notes
        if !exchange.stdout.isEmpty { parts.append("stdout:\n" + String(decoding: exchange.stdout, as: UTF8.self)) }
        if !exchange.stderr.isEmpty { parts.append("stderr:\n" + String(decoding: exchange.stderr, as: UTF8.self)) }
        let lost: InterpreterLoss
        switch exchange.ending {
        case .replied(let json):
            guard let reply = try? JSONDecoder().decode(CellReply.self, from: Data(json)) else {
                lost = .brokenProtocol
                break
            }
            if let error = reply.error { parts.append("error:\n" + error) }
            if let value = reply.value { parts.append("result:\n" + value) }
            parts += save(reply.images)
            switch reply.limit {
            case nil:
                if parts.isEmpty { parts.append("(no output)") }
                return parts.joined(separator: "\n")
            case .memory: lost = .memory(limits.memoryPerProcess)
            case .disk: lost = .disk(limits.diskBytes)
            case .processes: lost = .processes(limits.processes)
            }
        case .cancelled:
            forget(interpreter, because: .cancelled)
            throw .cancelled
        case .timedOut: lost = .wallTime(limits.wallTime)
        case .outputLimit: lost = .output(limits.outputBytes)
        case .oversizedReply: lost = .brokenProtocol
        case .exited(let status):
            if exchange.stdout.isEmpty, let problem = Self.startFailure(String(decoding: exchange.stderr, as: UTF8.self)) {
                forget(interpreter, because: nil)
                throw .failed("the sandbox could not start (\(problem)), so the code was not run")
            }
            // The driver dies of SIGXCPU at its CPU limit (bwrap reports it as 128 + the signal).
            lost = status == 128 + SIGXCPU ? .cpuTime(limits.cpuSeconds) : .crashed(status)
        }
        forget(interpreter, because: lost)
        parts.append("stopped: \(lost.reason). The interpreter was ended, so the variables, imports and files of earlier calls are lost; the next call starts a new one.")
        return parts.joined(separator: "\n")
    }

    /// bwrap's or setpriv's own complaint, when the sandbox failed before Python ran.
    private static func startFailure(_ stderr: String) -> String? {
        let line = stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        return line.hasPrefix("bwrap:") || line.hasPrefix("setpriv:") ? line : nil
    }

    private func start() throws(ToolError) -> InterpreterProcess {
        if !swept {
            swept = true
            SandboxHostFolder.removeAbandoned(in: hostFolder.root)
        }
        let filter = PythonSandbox.seccompFilter
        let command = sandbox.command(driver: PythonDriver.source, seccompFD: filter == nil ? nil : 5)
        let started = try InterpreterProcess(executable: command.executable, arguments: command.arguments, extraInput: filter)
        lock.withLock {
            process = started
            loss = nil
        }
        return started
    }

    /// Drops `interpreter` (killing it), remembering why for the next call.
    private func forget(_ interpreter: InterpreterProcess, because reason: InterpreterLoss?) {
        interpreter.kill()
        lock.withLock {
            if process === interpreter {
                process = nil
                loss = reason
            }
        }
    }

    /// Saves the images a cell wrote on the host, shows them, and names them for the model.
    private func save(_ images: [CellReply.Image]) -> [String] {
        images.map { image in
            guard let base64 = image.data, let bytes = Data(base64Encoded: base64) else {
                return "image: \(image.path) (too large to show)"
            }
            do {
                let folder = try hostFolder.path()
                self.images += 1
                let safeName = String(image.path.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "_" })
                let hostPath = folder + "/\(self.images)-" + safeName
                try bytes.write(to: URL(fileURLWithPath: hostPath))
                showImage?(hostPath)
                return "image: \(image.path) (saved on the host as \(hostPath)\(showImage == nil ? "" : ", shown to the user"))"
            } catch {
                return "image: \(image.path) (could not be saved on the host: \(error))"
            }
        }
    }
}

private struct CellRequest: Encodable {
    let code: String
    let cpu: Int
}

private struct CellReply: Decodable {
    struct Image: Decodable {
        let path: String
        let data: String?
    }
    /// A sandbox limit the cell hit.
    enum Limit: String, Decodable { case memory, disk, processes }
    let value: String?
    let error: String?
    let limit: Limit?
    let images: [Image]
}

/// Set once when the call is cancelled; read by the cell's wait loop.
private final class CancelFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    func isSet() -> Bool { value.load(ordering: .acquiring) }
}
