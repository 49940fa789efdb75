import Foundation

/// A tool provided by a plugin: a folder with a `plugin.json` manifest and an executable that reads
/// the call's arguments as JSON on stdin and writes `{"result": …}` or `{"error": "…"}` on stdout.
///
/// Manifest: `name`, `description`, `parameters` (a JSON Schema), `command` (the executable and its
/// arguments, relative to the folder), optional `timeout_seconds` (default 10), `network` /
/// `files` (booleans: what it reaches; either makes its calls need permission), and `env` (names
/// of variables of magi's environment the plugin needs, such as an API key).
///
/// The plugin runs in its folder, in a process group of its own, with only the variables
/// ``ChildEnvironment`` allows and those its `env` names.
///
/// Whatever the plugin does — hang, crash, print megabytes or garbage — the call ends with a
/// ``ToolError`` saying so, within its time limit.
public struct PluginTool: Tool {
    public let name: String
    public let description: String
    public let parametersSchema: String
    public let access: ToolAccess
    public var timeout: Duration { runTimeout + .seconds(2) }
    /// The plugin's folder.
    public let folder: String
    let command: [String]
    /// The variables of magi's environment passed on to the plugin besides the allow-listed ones.
    let passedVariables: [String]
    let runTimeout: Duration
    /// Bytes of output read; past it the plugin is stopped.
    static let outputLimit = 1 << 20

    /// The plugin in `folder`.
    ///
    /// - Throws: ``PluginError`` naming what is wrong with the manifest or the command.
    public init(folder: String) throws(PluginError) {
        let path = folder + "/plugin.json"
        guard let data = FileManager.default.contents(atPath: path) else { throw .unreadableManifest(path) }
        let manifest: JSONValue
        do { manifest = try JSONValue(parsingToolJSON: String(decoding: data, as: UTF8.self)) } catch { throw .invalidManifest(path, "not valid JSON") }
        guard let name = manifest["name"]?.string, !name.isEmpty,
              name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) else {
            throw .invalidManifest(path, "\"name\" must be letters, digits, _ and -")
        }
        guard let description = manifest["description"]?.string else { throw .invalidManifest(path, "\"description\" is missing") }
        guard let parameters = manifest["parameters"], case .object = parameters else {
            throw .invalidManifest(path, "\"parameters\" must be a JSON Schema object")
        }
        let command: [String]
        switch manifest["command"] {
        case .string(let c)?: command = [c]
        case .array(let parts)? where !parts.isEmpty && parts.allSatisfy({ $0.string != nil }): command = parts.compactMap(\.string)
        default: throw .invalidManifest(path, "\"command\" must be a string or a list of strings")
        }
        let executable = command[0].hasPrefix("/") ? command[0] : folder + "/" + command[0]
        guard FileManager.default.isExecutableFile(atPath: executable) else { throw .missingExecutable(executable) }
        var passed: [String] = []
        if let env = manifest["env"] {
            guard let names = env.array?.compactMap(\.string), names.count == env.array?.count,
                  names.allSatisfy(Self.isVariableName) else {
                throw .invalidManifest(path, "\"env\" must be a list of environment variable names")
            }
            passed = names
        }
        let seconds = manifest["timeout_seconds"]?.number ?? 10
        guard seconds > 0 && seconds <= 600 else { throw .invalidManifest(path, "\"timeout_seconds\" must be between 0 and 600") }
        self.name = name
        self.description = description
        self.parametersSchema = parameters.pythonText
        var access: ToolAccess = []
        if manifest["network"] == .bool(true) { access.insert(.network) }
        if manifest["files"] == .bool(true) { access.insert(.files) }
        self.access = access
        self.folder = folder
        self.command = [executable] + command.dropFirst()
        self.passedVariables = passed
        self.runTimeout = .milliseconds(Int(seconds * 1000))
    }

    public func run(arguments: String) async throws -> String {
        let child = ChildProcess(executable: command[0], arguments: Array(command.dropFirst()),
                                 environment: ChildEnvironment.make(passing: passedVariables), currentDirectory: folder,
                                 timeout: runTimeout, outputLimit: Self.outputLimit)
        let outcome = try await child.run(input: Array(arguments.utf8))
        switch outcome.ending {
        case .exited(0): break
        case .cancelled: throw ToolError.cancelled
        case .timedOut: throw ToolError.failed("plugin '\(name)' did not answer within \(runTimeout.components.seconds) s and was stopped")
        case .outputLimit: throw ToolError.failed("plugin '\(name)' wrote more than \(Self.outputLimit >> 20) MB and was stopped")
        case .exited(let status):
            throw ToolError.failed("plugin '\(name)' exited with status \(status)" + Self.lastLine(of: outcome.stderrText))
        case .signalled(let signal):
            throw ToolError.failed("plugin '\(name)' crashed (signal \(signal))" + Self.lastLine(of: outcome.stderrText))
        }
        let output = outcome.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let answer = try? JSONValue(parsingToolJSON: output) else {
            throw ToolError.failed("plugin '\(name)' wrote something that is not JSON: " + String(output.prefix(80)))
        }
        if let error = answer["error"]?.string { throw ToolError.failed(error) }
        switch answer["result"] {
        case .string(let text)?: return text
        case let value?: return value.pythonText
        case nil: return output
        }
    }

    /// Letters, digits and `_`, not starting with a digit.
    private static func isVariableName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_") }
    }

    private static func lastLine(of text: String) -> String {
        text.split(whereSeparator: \.isNewline).last.map { ": " + String($0.prefix(200)) } ?? ""
    }
}

/// Why a plugin folder was skipped.
public enum PluginError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadableManifest(String)
    case invalidManifest(String, String)
    case missingExecutable(String)
    case duplicateName(String, folder: String)

    public var description: String {
        switch self {
        case .unreadableManifest(let path): return "\(path): cannot read the manifest"
        case let .invalidManifest(path, reason): return "\(path): \(reason)"
        case .missingExecutable(let path): return "\(path): no executable there"
        case let .duplicateName(name, folder): return "\(folder): a tool named '\(name)' is already loaded"
        }
    }
}

/// Finds plugins: each folder under the given plugin folders that holds a `plugin.json`.
public enum PluginLoader {
    /// The plugins found in `folders` (missing folders are fine), in name order, and the folders
    /// that were skipped with the reason.
    public static func discover(in folders: [String], reserved: Set<String> = []) -> (tools: [PluginTool], problems: [PluginError]) {
        var tools: [PluginTool] = []
        var problems: [PluginError] = []
        var names = reserved
        for root in folders {
            let entries = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).sorted()
            for entry in entries {
                var isFolder: ObjCBool = false
                let folder = root + "/" + entry
                guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue,
                      FileManager.default.fileExists(atPath: folder + "/plugin.json") else { continue }
                do {
                    let tool = try PluginTool(folder: folder)
                    guard names.insert(tool.name).inserted else { throw PluginError.duplicateName(tool.name, folder: folder) }
                    tools.append(tool)
                } catch let error as PluginError {
                    problems.append(error)
                } catch {
                    problems.append(.invalidManifest(folder, "\(error)"))
                }
            }
        }
        return (tools, problems)
    }
}
