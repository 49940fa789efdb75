import Foundation

/// The environment of a program magi starts (a plugin, an MCP server): built from an allow-list,
/// never magi's whole environment, so API keys and tokens reach only the programs configured to
/// get them.
public enum ChildEnvironment {
    /// The variables passed on from magi's environment to every program: `PATH`, `HOME`, `LANG`,
    /// `TERM`, `TMPDIR` and every `LC_*`.
    public static let allowedNames: Set<String> = ["PATH", "HOME", "LANG", "TERM", "TMPDIR"]

    /// The environment for a program: the allow-listed variables of `environment`, the variables
    /// `passing` names (a plugin manifest's `env` list) when `environment` has them, `PWD` set to
    /// magi's working folder (where relative paths the user gives are meant from), then `adding`
    /// (an MCP server's `env` table), which wins over all of these.
    public static func make(passing names: [String] = [], adding extra: [String: String] = [:],
                            from environment: [String: String] = ProcessInfo.processInfo.environment) -> [String: String] {
        var out = environment.filter { allowedNames.contains($0.key) || $0.key.hasPrefix("LC_") }
        for name in names { out[name] = environment[name] }
        out["PWD"] = FileManager.default.currentDirectoryPath
        out.merge(extra) { $1 }
        return out
    }
}
