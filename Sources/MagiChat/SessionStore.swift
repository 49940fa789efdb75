import Foundation

/// A conversation as it is kept on disk: the messages and tools, never token ids, so a session
/// loaded under another model is rendered again in that model's chat format.
public struct SavedSession: Sendable, Codable, Equatable {
    /// The version of the file layout this build writes; files of a later version are refused.
    public static let currentFormatVersion = 1

    public var formatVersion: Int
    /// The model the conversation was last held with (for information only).
    public var model: String?
    public var savedAt: Date
    public var conversation: Conversation

    public init(conversation: Conversation, model: String? = nil, savedAt: Date = Date()) {
        formatVersion = Self.currentFormatVersion
        self.model = model
        self.savedAt = savedAt
        self.conversation = conversation
    }

    private enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", model, savedAt = "saved_at", conversation
    }
}

/// The name of a saved session: 1 to 100 letters, digits, `-`, `_` or `.`, not starting with `.`,
/// so that it is always one plain file name inside the sessions directory.
public struct SessionName: Sendable, Hashable, CustomStringConvertible {
    public let description: String

    /// - Throws: ``SessionError/invalidName(_:)`` for anything that could leave the directory or hide a file.
    public init(_ name: String) throws(SessionError) {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
        guard (1...100).contains(name.count), name.first != ".", name.allSatisfy(allowed.contains) else {
            throw .invalidName(name)
        }
        description = name
    }

    /// A name for a new session from the time it started, such as `2026-11-23-184621`.
    public static func timestamp(_ date: Date = Date()) -> SessionName {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd-HHmmss"
        return try! SessionName(formatter.string(from: date))
    }
}

/// A saved session as `/sessions` lists it.
public struct SessionListing: Sendable, Equatable {
    public var name: SessionName
    public var modified: Date
    public var byteCount: Int
}

/// Sessions stored as `NAME.json` files in one directory, by default
/// `${XDG_DATA_HOME:-~/.local/share}/magi/sessions/`.
///
/// Every write is atomic (see ``AtomicFile``): a process killed at any moment leaves the previous
/// version of the file whole. A file this build cannot read (corrupt, or of a later format version)
/// is never replaced: ``save(_:as:)`` refuses it with an error naming the problem.
public struct SessionStore: Sendable {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    /// The store in `${XDG_DATA_HOME:-~/.local/share}/magi/sessions` (a relative XDG_DATA_HOME is
    /// ignored, as the XDG specification says).
    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment) -> SessionStore {
        SessionStore(directory: UserFolders(environment: environment).dataHome + "/magi/sessions")
    }

    public func path(of name: SessionName) -> String { directory + "/" + name.description + ".json" }

    /// Writes `session` as `name`, replacing a previous version atomically.
    ///
    /// - Throws: ``SessionError/refusingToOverwrite(_:reason:)`` when a file of that name exists
    ///   but cannot be read as a session; ``SessionError/io(path:operation:code:)`` on a failed write.
    public func save(_ session: SavedSession, as name: SessionName) throws(SessionError) {
        let path = path(of: name)
        if FileManager.default.fileExists(atPath: path) {
            do { _ = try load(name) } catch {
                switch error {
                case .corrupt(_, let reason): throw .refusingToOverwrite(name.description, reason: reason)
                case .unsupportedVersion(_, let version):
                    throw .refusingToOverwrite(name.description, reason: "it has format version \(version)")
                default: throw error
                }
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        let data: Data
        do { data = try encoder.encode(session) } catch { throw .corrupt(name.description, reason: "\(error)") }
        try AtomicFile.createDirectory(directory)
        try AtomicFile.write(data, to: path)
        removeAbandonedTemporaryFiles(of: name)
    }

    /// Deletes what writers of `name` killed before their rename left behind: temporary files more
    /// than a minute old (a younger one may belong to a writer still at work).
    private func removeAbandonedTemporaryFiles(of name: SessionName) {
        let prefixes = [".json.tmp-", ".kv.tmp-"].map { "." + name.description + $0 }
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for file in files where prefixes.contains(where: file.hasPrefix) {
            let path = directory + "/" + file
            let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
            if let modified, modified.timeIntervalSinceNow < -60 { try? FileManager.default.removeItem(atPath: path) }
        }
    }

    /// Reads the session called `name`.
    ///
    /// - Throws: ``SessionError/notFound(_:)``, ``SessionError/unsupportedVersion(_:version:)`` for a file
    ///   written by a later magi, ``SessionError/corrupt(_:reason:)`` for anything else unreadable.
    public func load(_ name: SessionName) throws(SessionError) -> SavedSession {
        let path = path(of: name)
        guard let data = FileManager.default.contents(atPath: path) else {
            if FileManager.default.fileExists(atPath: path) { throw .io(path: path, operation: "read", code: EACCES) }
            throw .notFound(name.description)
        }
        struct Header: Decodable {
            var format_version: Int
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let header: Header
        do { header = try decoder.decode(Header.self, from: data) } catch {
            throw .corrupt(name.description, reason: "not a magi session (\(Self.reason(error)))")
        }
        guard header.format_version <= SavedSession.currentFormatVersion else {
            throw .unsupportedVersion(name.description, version: header.format_version)
        }
        do { return try decoder.decode(SavedSession.self, from: data) } catch {
            throw .corrupt(name.description, reason: Self.reason(error))
        }
    }

    /// Every session in the directory, the most recently written first (an absent directory holds none).
    public func list() throws(SessionError) -> [SessionListing] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
            if !FileManager.default.fileExists(atPath: directory) { return [] }
            throw .io(path: directory, operation: "list", code: EACCES)
        }
        var listings: [SessionListing] = []
        for file in names where file.hasSuffix(".json") {
            guard let name = try? SessionName(String(file.dropLast(5))),
                  let attributes = try? FileManager.default.attributesOfItem(atPath: directory + "/" + file) else { continue }
            listings.append(SessionListing(name: name, modified: attributes[.modificationDate] as? Date ?? .distantPast,
                                           byteCount: (attributes[.size] as? Int) ?? 0))
        }
        return listings.sorted { ($0.modified, $1.name.description) > ($1.modified, $0.name.description) }
    }

    /// A name for a new session from the time, such as `2026-11-23-184621`, with `-2`, `-3`… added
    /// when a session of that name exists already.
    public func unusedName(at date: Date = Date()) -> SessionName {
        let base = SessionName.timestamp(date)
        var name = base, n = 1
        while FileManager.default.fileExists(atPath: path(of: name)) {
            n += 1
            name = try! SessionName("\(base)-\(n)")
        }
        return name
    }

    /// The session written last, for `--continue`.
    ///
    /// - Throws: ``SessionError/noSessions`` when there is none.
    public func mostRecent() throws(SessionError) -> SessionName {
        guard let first = try list().first else { throw .noSessions(directory) }
        return first.name
    }

    /// A decoding error in one line: what is wrong and where.
    private static func reason(_ error: Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func at(_ path: [CodingKey]) -> String {
            path.isEmpty ? "" : " at " + path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case let .dataCorrupted(c): return (c.underlyingError.map { _ in "invalid JSON" } ?? c.debugDescription) + at(c.codingPath)
        case let .keyNotFound(key, c): return "missing \"\(key.stringValue)\"" + at(c.codingPath)
        case let .typeMismatch(_, c), let .valueNotFound(_, c): return c.debugDescription + at(c.codingPath)
        @unknown default: return "\(error)"
        }
    }
}

/// Why a session could not be named, read or written; the description is one line for the user.
public enum SessionError: Error, Equatable, CustomStringConvertible {
    case invalidName(String)
    case notFound(String)
    case noSessions(String)
    case corrupt(String, reason: String)
    case unsupportedVersion(String, version: Int)
    case refusingToOverwrite(String, reason: String)
    case io(path: String, operation: String, code: Int32)

    public var description: String {
        switch self {
        case let .invalidName(name):
            return "invalid session name '\(name)': use 1 to 100 letters, digits, '-', '_' or '.', not starting with '.'"
        case let .notFound(name):
            return "no session named \(name) (/sessions lists them)"
        case let .noSessions(directory):
            return "no saved session in \(directory)"
        case let .corrupt(name, reason):
            return "session \(name) is unreadable: \(reason)"
        case let .unsupportedVersion(name, version):
            return "session \(name) has format version \(version), newer than this magi reads (\(SavedSession.currentFormatVersion)); update magi"
        case let .refusingToOverwrite(name, reason):
            return "not overwriting session \(name): \(reason); move the file away or save under another name"
        case let .io(path, operation, code):
            return "cannot \(operation) \(path): \(String(cString: strerror(code)))"
        }
    }
}
