import Foundation

/// A child process run to completion under limits: an address-space limit (`prlimit --as`) and a
/// deadline after which it is killed with SIGKILL. Both pipes are drained while it runs, so a chatty
/// child never blocks.
struct BoundedProcess {
    struct Outcome {
        var status: Int32
        /// The signal that ended the process, if one did (SIGKILL when the deadline passed).
        var signal: Int32?
        var timedOut: Bool
        var stdout: String
        var stderr: String

        /// The process exited by itself (no signal, no deadline) with status `status` ≠ 0 and one line on stderr.
        var isOneLineFailure: Bool {
            signal == nil && !timedOut && status != 0 && stderr.split(separator: "\n").count == 1
        }
    }

    var executable: String
    var arguments: [String]
    var environment: [String: String]? = nil
    var stdin: Data? = nil
    /// Bytes of address space the child may map (nil: no limit).
    var addressSpace: Int? = 8 << 30
    var deadline: TimeInterval = 60

    func run() throws -> Outcome {
        let process = Process()
        if let addressSpace {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
            process.arguments = ["--as=\(addressSpace)", "--", executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        let collected = Collected()
        let group = DispatchGroup()
        for (pipe, isError) in [(out, false), (err, true)] {
            group.enter()
            DispatchQueue.global().async {
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                collected.set(data, isError: isError)
                group.leave()
            }
        }
        DispatchQueue.global().async {
            if let stdin { try? input.fileHandleForWriting.write(contentsOf: stdin) }
            try? input.fileHandleForWriting.close()
        }
        var timedOut = false
        if group.wait(timeout: .now() + deadline) == .timedOut {
            timedOut = true
            kill(process.processIdentifier, SIGKILL)
            _ = group.wait(timeout: .now() + 10)
        }
        process.waitUntilExit()
        let signal = process.terminationReason == .uncaughtSignal ? process.terminationStatus : nil
        return Outcome(status: process.terminationStatus, signal: signal, timedOut: timedOut,
                       stdout: String(decoding: collected.stdout, as: UTF8.self), stderr: String(decoding: collected.stderr, as: UTF8.self))
    }

    /// Runs the built `magi` with `arguments`, in this environment without its MAGI_ variables but
    /// MAGI_HOME, plus `environment`.
    static func magi(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:],
                     deadline: TimeInterval = 120) throws -> Outcome {
        let base = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MAGI_") || $0.key == "MAGI_HOME" }
        return try BoundedProcess(executable: CommandLineTests.executable, arguments: arguments,
                                  environment: base.merging(environment) { $1 }, stdin: stdin.map { Data($0.utf8) },
                                  deadline: deadline).run()
    }

    private final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var stdout = Data(), stderr = Data()
        func set(_ data: Data, isError: Bool) {
            lock.lock()
            defer { lock.unlock() }
            if isError { stderr = data } else { stdout = data }
        }
    }
}
