import Foundation
import MagiJSON
import Testing
@testable import MagiCLI

/// The TOML parser against Python's `tomllib` over the documents in Fixtures/toml: the same
/// values for the valid ones, a rejection from both for the invalid ones, each of which names the
/// line of its error in its first line (`# line N: why`).
@Suite struct TOMLParserTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/toml")
    static let hasTomllib = (try? run(["python3", "-c", "import tomllib"]))?.status == 0

    static func files(_ folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: fixtures.appendingPathComponent(folder).path)
            .filter { $0.hasSuffix(".toml") }.sorted().map { folder + "/" + $0 }
    }

    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.currentDirectoryURL = fixtures
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// tomllib's verdict on each file: its tagged value, or nil when it rejects the file.
    static func reference(_ files: [String]) throws -> [String: JSONValue?] {
        let result = try run(["python3", "tomllib_json.py"] + files)
        #expect(result.status == 0)
        var verdicts: [String: JSONValue?] = [:]
        for line in result.output.split(separator: "\n") {
            let entry = try JSONValue(parsing: String(line))
            verdicts[entry["file"]?.string ?? ""] = .some(entry["value"])
        }
        return verdicts
    }

    static func parse(_ file: String) throws -> TOMLDocument {
        try TOMLParser.parse(Data(contentsOf: fixtures.appendingPathComponent(file)), file: file)
    }

    @Test(.enabled(if: hasTomllib)) func validDocumentsGiveTomllibsValues() throws {
        let files = try Self.files("valid")
        #expect(files.count >= 40)
        let expected = try Self.reference(files)
        for file in files {
            let document: TOMLDocument
            do {
                document = try Self.parse(file)
            } catch {
                Issue.record("\(file): \(error)")
                continue
            }
            guard case let reference?? = expected[file] else {
                Issue.record("\(file): tomllib rejects it")
                continue
            }
            let ours = Self.tagged(document.value, path: [], dateTimes: document.dateTimes)
            if let difference = Self.difference(ours, reference, at: file) { Issue.record("\(difference)") }
        }
    }

    @Test(.enabled(if: hasTomllib)) func invalidDocumentsAreRejectedOnTheirLine() throws {
        let files = try Self.files("invalid")
        #expect(files.count >= 30)
        let expected = try Self.reference(files)
        for file in files {
            #expect(expected[file] == .some(nil), "tomllib accepts \(file)")
            let text = try String(decoding: Data(contentsOf: Self.fixtures.appendingPathComponent(file)), as: UTF8.self)
            let line = Int(text.dropFirst("# line ".count).prefix { $0.isNumber })
            do {
                let document = try Self.parse(file)
                Issue.record("\(file) parsed as \(document.value.compactText)")
            } catch let error as TOMLError {
                #expect(error.line == line, "\(error)")
                #expect(error.description.hasPrefix("\(file):\(error.line):\(error.column): "))
                #expect(!error.description.contains("\n"))
            }
        }
    }

    @Test func errorsNameTheirLineColumnAndProblem() {
        func message(_ text: String) -> String {
            do {
                _ = try TOMLParser.parse(text)
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        #expect(message("a = 1\nb = 2\na = 3\n") == "config.toml:3:1: a is defined twice (first on line 1)")
        #expect(message("[t]\nx = 1\n[t]\n") == "config.toml:3:1: table [t] is defined twice (first on line 1)")
        #expect(message("x = \"a\\qb\"") == "config.toml:1:7: invalid escape \\q")
        #expect(message("\n\nport = 08080") == "config.toml:3:8: invalid number '08080': leading zeros are not allowed")
        #expect(message("name = magi") == "config.toml:1:8: invalid value 'magi' (a string needs quotes)")
        #expect(message("a = 1 b = 2") == "config.toml:1:7: expected the end of the line after the value of a, found 'b'")
        #expect(message("a = {x = 1,\n}") == "config.toml:1:12: an inline table must be on one line")
        #expect(message("é = 1") == "config.toml:1:1: expected a key, a [table] or a comment, found 'é'")
    }

    @Test func keepsKeyOrderLinesAndNumberKinds() throws {
        let document = try TOMLParser.parse("z = 1\na = 2.0\n\n[t]\nm.n = 0x10\nd = 1979-05-27\n")
        #expect(document.value == .object([("z", .number("1")), ("a", .number("2.0")),
                                           ("t", .object([("m", .object([("n", .number("16"))])), ("d", .string("1979-05-27"))]))]))
        #expect(document.lines[["a"]] == 2 && document.lines[["t"]] == 4 && document.lines[["t", "m", "n"]] == 5)
        #expect(document.dateTimes == [["t", "d"]])
    }

    // MARK: Comparison with tomllib

    /// Our value in the reference script's tagged form (dates and times as Python's isoformat()).
    static func tagged(_ value: JSONValue, path: [String], dateTimes: Set<[String]>) -> JSONValue {
        func tag(_ type: String, _ text: String) -> JSONValue { .object([("type", .string(type)), ("value", .string(text))]) }
        switch value {
        case .object(let members):
            return .object(members.map { ($0.key, tagged($0.value, path: path + [$0.key], dateTimes: dateTimes)) })
        case .array(let items):
            return .array(items.enumerated().map { tagged($0.element, path: path + [String($0.offset)], dateTimes: dateTimes) })
        case .bool(let b): return tag("bool", b ? "true" : "false")
        case .number(let text):
            let isFloat = text.contains { ".einf".contains($0) }
            return tag(isFloat ? "float" : "integer", text)
        case .string(let s) where dateTimes.contains(path): return isoformat(s)
        case .string(let s): return tag("string", s)
        case .null: return .null
        }
    }

    /// A TOML date-time as Python writes the `datetime` tomllib makes of it.
    static func isoformat(_ text: String) -> JSONValue {
        var rest = Substring(text)
        var date = "", time = "", offset = ""
        if rest.count >= 10, rest[rest.index(rest.startIndex, offsetBy: 4)] == "-" {
            date = String(rest.prefix(10))
            rest = rest.dropFirst(10).drop { $0 == "T" || $0 == "t" || $0 == " " }
        }
        if !rest.isEmpty {
            var clock = rest.prefix { $0.isNumber || $0 == ":" || $0 == "." }
            rest = rest.dropFirst(clock.count)
            if let dot = clock.firstIndex(of: ".") {
                let micros = String(clock[clock.index(after: dot)...].prefix(6)).padding(toLength: 6, withPad: "0", startingAt: 0)
                clock = clock[..<dot] + (micros == "000000" ? "" : "." + micros)
            }
            time = String(clock)
            offset = rest.uppercased() == "Z" || rest == "-00:00" ? "+00:00" : String(rest)
        }
        let type = date.isEmpty ? "time-local" : time.isEmpty ? "date-local" : offset.isEmpty ? "datetime-local" : "datetime"
        let value = [date, time].filter { !$0.isEmpty }.joined(separator: "T") + offset
        return .object([("type", .string(type)), ("value", .string(value))])
    }

    /// Where `ours` and `reference` differ, if anywhere; floats compare as numbers (the texts of
    /// Swift's and Python's shortest forms differ, as in `1e+16` and `1e16`).
    static func difference(_ ours: JSONValue, _ reference: JSONValue, at path: String) -> String? {
        switch (ours, reference) {
        case let (.object(a), .object(b)) where a.count == 2 && a[0].key == "type" && b.count == 2 && b[0].key == "type":
            if a[0].value == .string("float") && b[0].value == .string("float") {
                let x = Double(a[1].value.string ?? "") ?? 0, y = Double(b[1].value.string ?? "") ?? 1
                return x == y && x.sign == y.sign || x.isNaN && y.isNaN ? nil : "\(path): \(x) is not \(y)"
            }
            return ours == reference ? nil : "\(path): \(ours.compactText) is not \(reference.compactText)"
        case let (.object(a), .object(b)):
            guard a.map(\.key) == b.map(\.key) else { return "\(path): keys \(a.map(\.key)) are not \(b.map(\.key))" }
            return zip(a, b).lazy.compactMap { difference($0.value, $1.value, at: path + "." + $0.key) }.first
        case let (.array(a), .array(b)):
            guard a.count == b.count else { return "\(path): \(a.count) elements, not \(b.count)" }
            return zip(a, b).enumerated().lazy.compactMap { difference($1.0, $1.1, at: path + "[\($0)]") }.first
        default:
            return "\(path): \(ours.compactText) is not \(reference.compactText)"
        }
    }
}
