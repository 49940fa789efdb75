import Foundation

/// A program a test runs: stdin written, stdout and stderr drained as they come (so a chatty program
/// cannot block on a full pipe), and killed with SIGKILL, its whole process group, at a deadline, so a
/// hung program fails its test instead of hanging the suite.
enum TestProcess {
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
        /// True when the deadline passed and the program was killed.
        var timedOut: Bool
    }

    /// Runs `executable` with `arguments` and `environment` (nil: this process's), `input` on stdin.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, input: Data = Data(),
                    currentDirectory: String? = nil, deadline: Duration = .seconds(300)) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        let out = Pipe(), err = Pipe(), stdin = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = stdin
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        let pid = process.processIdentifier
        let drained = DispatchGroup()
        final class Box: @unchecked Sendable { var data = Data() }
        let (o, e) = (Box(), Box())
        for (pipe, box) in [(out, o), (err, e)] {
            drained.enter()
            Thread {
                box.data = pipe.fileHandleForReading.readDataToEndOfFile()
                drained.leave()
            }.start()
        }
        Thread {
            try? stdin.fileHandleForWriting.write(contentsOf: input)
            try? stdin.fileHandleForWriting.close()
        }.start()
        let seconds = Double(deadline.components.seconds) + Double(deadline.components.attoseconds) / 1e18
        var timedOut = false
        if exited.wait(timeout: .now() + seconds) == .timedOut {
            timedOut = true
            kill(-pid, SIGKILL)
            kill(pid, SIGKILL)
            exited.wait()
        }
        // Grandchildren that kept the pipes open get a moment, then lose their output.
        _ = drained.wait(timeout: .now() + 10)
        return Outcome(status: process.terminationStatus, stdout: String(decoding: o.data, as: UTF8.self),
                       stderr: String(decoding: e.data, as: UTF8.self), timedOut: timedOut)
    }
}
