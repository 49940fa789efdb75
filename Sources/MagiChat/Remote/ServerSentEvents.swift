/// Splits a `text/event-stream` body into the data of its events, as bytes arrive in pieces of any
/// size (the HTML living standard's rules: `data:` lines joined by newlines, an event ends at a
/// blank line, comments and other fields ignored, CR, LF or CRLF line ends).
public struct ServerSentEvents: Sendable {
    private var line: [UInt8] = []
    private var data: [String] = []
    private var afterCR = false

    public init() {}

    /// Adds received bytes; returns the data of each event they complete, in order.
    public mutating func append(_ bytes: some Sequence<UInt8>) -> [String] {
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
        return events
    }

    private mutating func endLine(into events: inout [String]) {
        defer { line.removeAll(keepingCapacity: true) }
        guard !line.isEmpty else {
            if !data.isEmpty { events.append(data.joined(separator: "\n")) }
            data = []
            return
        }
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasPrefix("data") else { return }  // a comment (":…"), `event:`, `id:` or `retry:`
        var value = text.dropFirst(4)
        guard value.isEmpty || value.first == ":" else { return }
        value = value.dropFirst()
        if value.first == " " { value = value.dropFirst() }
        data.append(String(value))
    }
}
