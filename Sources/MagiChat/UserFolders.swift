import Foundation

/// The user's folders as Unix tools find them: the home folder from `$HOME` (the password database
/// only when it is unset or empty), and the XDG base directories, whose variables count only when
/// they hold an absolute path, as the XDG specification says.
///
/// Foundation's `NSHomeDirectory()` and `~` expansion on Linux read the password database, so
/// `HOME=/elsewhere magi` would still use the real home; every path magi derives goes through here.
public struct UserFolders: Sendable {
    public let environment: [String: String]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    /// `$HOME`, else the password database's home of the current user.
    public var home: String {
        if let home = environment["HOME"], !home.isEmpty { return home }
        if let entry = getpwuid(getuid()), let dir = entry.pointee.pw_dir { return String(cString: dir) }
        return "/"
    }

    /// `${XDG_CONFIG_HOME:-~/.config}`.
    public var configHome: String { xdg("XDG_CONFIG_HOME", else: "/.config") }
    /// `${XDG_DATA_HOME:-~/.local/share}`.
    public var dataHome: String { xdg("XDG_DATA_HOME", else: "/.local/share") }
    /// `${XDG_CACHE_HOME:-~/.cache}`.
    public var cacheHome: String { xdg("XDG_CACHE_HOME", else: "/.cache") }

    /// `path` with a leading `~` or `~/` replaced by ``home`` (`~user` is left as it is).
    public func expandingTilde(_ path: String) -> String {
        if path == "~" { return home }
        if path.hasPrefix("~/") { return home + path.dropFirst() }
        return path
    }

    private func xdg(_ variable: String, else fallback: String) -> String {
        if let value = environment[variable], value.hasPrefix("/") { return value }
        return home + fallback
    }
}
