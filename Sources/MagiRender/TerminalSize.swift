#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The width of the terminal output goes to.
public enum TerminalSize {
    /// The columns of the terminal on `fileDescriptor`, else `COLUMNS` from the environment, else nil.
    public static func columns(fileDescriptor: Int32, environment: [String: String]) -> Int? {
        var size = winsize()
        if ioctl(fileDescriptor, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 { return Int(size.ws_col) }
        if let columns = environment["COLUMNS"].flatMap(Int.init), columns > 0 { return columns }
        return nil
    }

    /// The rows of the terminal on `fileDescriptor`, else nil.
    public static func rows(fileDescriptor: Int32) -> Int? {
        var size = winsize()
        return ioctl(fileDescriptor, UInt(TIOCGWINSZ), &size) == 0 && size.ws_row > 0 ? Int(size.ws_row) : nil
    }
}
