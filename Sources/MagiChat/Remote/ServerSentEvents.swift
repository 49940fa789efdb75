/// Splits a `text/event-stream` body into the data of its events, as bytes arrive in pieces of any
/// size (the HTML living standard's rules: `data:` lines joined by newlines, an event ends at a
/// blank line, comments and other fields ignored, CR, LF or CRLF line ends).
///
/// An event is held in memory until its blank line comes, so its size is capped: a server that
/// streams one line or one event without end is stopped at ``limit`` bytes, never read into
/// unbounded memory.
public struct ServerSentEvents: Sendable {
    /// An event (its data lines, and the line being read) went past ``ServerSentEvents/limit``.
    public struct EventTooLarge: Error, Equatable, CustomStringConvertible {
        public let limit: Int
        public init(limit: Int) { self.limit = limit }
        public var description: String { "remote event exceeds \(mebibytes(limit))" }
    }

    /// The most bytes one event may hold (8 MiB by default: far above any chunk of an answer).
    public let limit: Int
    private var line: [UInt8] = []
    private var data: [String] = []
    /// The bytes in ``data``.
    private var dataBytes = 0
    private var afterCR = false

    public init(limit: Int = 8 << 20) {
        self.limit = limit
    }

    /// Adds received bytes; returns the data of each event they complete, in order.
    ///
    /// - Throws: ``EventTooLarge`` once the event being read holds more than ``limit`` bytes; the
    ///   reader is of no more use then.
    public mutating func append(_ bytes: some Sequence<UInt8>) throws(EventTooLarge) -> [String] {
        var events: [String] = []
        for byte in bytes {
            if afterCR {
                afterCR = false
                if byte == 0x0A { continue }
            }
            switch byte {
            case 0x0D:
                afterCR = true
                endLine(into: &events)
            case 0x0A:
                endLine(into: &events)
            default:
                guard line.count + dataBytes < limit else { throw EventTooLarge(limit: limit) }
                line.append(byte)
            }
        }
        return events
    }

    /// The data of an event the stream ended without a blank line after, if any.
    public mutating func finish() -> [String] {
        var events: [String] = []
        if !line.isEmpty { endLine(into: &events) }
        if !data.isEmpty { events.append(data.joined(separator: "\n")) }
        data = []
        dataBytes = 0
        return events
    }

    private mutating func endLine(into events: inout [String]) {
        defer { line.removeAll(keepingCapacity: true) }
        guard !line.isEmpty else {
            if !data.isEmpty { events.append(data.joined(separator: "\n")) }
            data = []
            dataBytes = 0
            return
        }
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasPrefix("data") else { return }  // a comment (":…"), `event:`, `id:` or `retry:`
        var value = text.dropFirst(4)
        guard value.isEmpty || value.first == ":" else { return }
        value = value.dropFirst()
        if value.first == " " { value = value.dropFirst() }
        data.append(String(value))
        dataBytes += value.utf8.count + 1
    }
}

/// `8 MiB` for 8 << 20, else the count of bytes.
func mebibytes(_ bytes: Int) -> String {
    bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : "\(bytes) bytes"
}
