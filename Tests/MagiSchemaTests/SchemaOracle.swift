import Foundation
import MagiJSON

/// Python's `jsonschema` (Draft 2020-12, formats asserted), driven by MagiEngineTests' `validate_json.py`
/// in one process with a deadline: an oracle independent of MagiSchema.
enum SchemaOracle {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("MagiEngineTests/Fixtures/validate_json.py").path

    /// `MAGI_PYTHON`, else the oracle venv's python (under `MAGI_HOME`, else `$HOME/.cache/magi`).
    static var python: String {
        let environment = ProcessInfo.processInfo.environment
        let home = environment["MAGI_HOME"] ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.cache/magi"
        return environment["MAGI_PYTHON"] ?? home + "/venv/bin/python"
    }

    /// In CI the oracle must be there: a missing one fails instead of skipping.
    static let available = ProcessInfo.processInfo.environment["CI"] != nil || FileManager.default.isExecutableFile(atPath: python)

    struct Failure: Error, CustomStringConvertible { let description: String }

    /// jsonschema's verdict on each (schema, instance) pair, in order; throws unless the script exits 0
    /// within `deadline` seconds and answers every pair.
    static func verdicts(_ pairs: [(schema: String, instance: String)], deadline: Double = 120) throws -> [Bool] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        signal(SIGPIPE, SIG_IGN)
        try process.run()
        let killer = DispatchWorkItem { kill(process.processIdentifier, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + deadline, execute: killer)
        defer { killer.cancel() }
        let lines = pairs.map { #"{"schema":\#($0.schema),"output":\#(JSONValue.quoted($0.instance))}"# + "\n" }.joined()
        let writer = Thread {
            try? input.fileHandleForWriting.write(contentsOf: Data(lines.utf8))
            try? input.fileHandleForWriting.close()
        }
        writer.start()
        let answer = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            throw Failure(description: "validate_json.py ended with \(process.terminationStatus): \(String(decoding: stderr, as: UTF8.self))")
        }
        let results = try String(decoding: answer, as: UTF8.self).split(separator: "\n").map { line -> Bool in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  object["parsed"] as? Bool == true, let valid = object["valid"] as? Bool else {
                throw Failure(description: "validate_json.py answered \(line)")
            }
            return valid
        }
        guard results.count == pairs.count else { throw Failure(description: "validate_json.py answered \(results.count) of \(pairs.count) pairs") }
        return results
    }
}

