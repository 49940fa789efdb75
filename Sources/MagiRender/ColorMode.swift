#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether output gets colour and other escape codes (`--color auto|always|never`).
public enum ColorMode: String, Sendable, CaseIterable {
    case auto, always, never

    /// Resolves the mode for a file descriptor: `auto` means colour only on a terminal, and
    /// never when `NO_COLOR` is set (to anything non-empty) or `TERM` is `dumb`.
    public func allowsColor(fileDescriptor: Int32, environment: [String: String]) -> Bool {
        switch self {
        case .always: return true
        case .never: return false
        case .auto:
            if let v = environment["NO_COLOR"], !v.isEmpty { return false }
            if environment["TERM"] == "dumb" { return false }
            return isatty(fileDescriptor) == 1
        }
    }

    /// Whether text for `fileDescriptor` must have its control characters written out
    /// (``TerminalText/visible(_:)``): on a terminal whatever the colours, and with `always`, whose
    /// output is meant for one (`less -R`). On a pipe otherwise text passes unchanged.
    public func showsControlCharacters(fileDescriptor: Int32) -> Bool {
        self == .always || isatty(fileDescriptor) == 1
    }
}
