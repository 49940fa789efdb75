import MagiChat
import MagiEngine

/// A command typed at the REPL prompt, such as `/set temperature 0.7`.
///
/// Names match whole words only: `/sys` is not `/system` (tab completion is the shortcut).
enum SlashCommand: Equatable {
    case help
    /// `/system` shows the system message; `/system TEXT` replaces it.
    case system(String?)
    case set(SettingChange)
    case show(ShowSubject)
    case clear
    case retry
    case undo
    /// `/save NAME`: the conversation as the session NAME, which later turns autosave to.
    case save(name: String)
    /// `/load NAME`: the session NAME, replacing the current conversation.
    case load(name: String)
    /// `/sessions`: the saved sessions, newest first.
    case sessions
    /// `/context`: what the context window holds, part by part.
    case context
    /// `/compact`: the model summarises the older exchanges into one.
    case compact
    /// `/think show`: the reasoning of the last reply, in full.
    case showThinking
    /// `/tools`: the tools offered and whether their calls are allowed.
    case tools
    /// `/tool NAME JSON`: runs an offered tool directly and shows its whole result.
    case tool(name: String, arguments: String)
    /// `/tool restart NAME`: restarts a tool that keeps state (the `python` interpreter).
    case restartTool(name: String)
    /// `/model` shows the model; `/model PATH|ALIAS` switches to another, keeping the conversation.
    case model(String?)
    /// `/image PATH`: attaches an image to the next message (vision models only).
    case image(path: String)
    case exit

    /// Every command: its name, argument synopsis and one-line summary, in the order `/help` lists them.
    static let catalog: [(name: String, arguments: String, summary: String)] = [
        ("help", "", "list the commands"),
        ("system", "[TEXT]", "show the system message, or replace it"),
        ("set", "KEY VALUE", "change a setting: " + Setting.allCases.map(\.name).joined(separator: ", ")),
        ("show", "WHAT", "show " + ShowSubject.allCases.map(\.rawValue).joined(separator: ", ")),
        ("clear", "", "start a new conversation and session (the system message stays)"),
        ("retry", "", "answer the last message again"),
        ("undo", "", "drop the last exchange"),
        ("save", "NAME", "save the conversation as session NAME (later turns autosave to it)"),
        ("load", "NAME", "replace the conversation by the saved session NAME"),
        ("sessions", "", "list the saved sessions, newest first"),
        ("context", "", "show what the context window holds, in tokens"),
        ("compact", "", "replace the older exchanges by a summary the model writes"),
        ("think", "show", "show the reasoning of the last reply in full"),
        ("tools", "", "list the tools offered and what their calls may do"),
        ("tool", "NAME [JSON]", "run an offered tool on JSON arguments and show its result; /tool restart python restarts the interpreter"),
        ("model", "[PATH|ALIAS]", "show the model, or switch to another (the conversation stays)"),
        ("image", "PATH", "attach an image to the next message (vision models; text-only ones say so)"),
        ("exit", "", "leave (Ctrl-D does too)"),
    ]

    static var names: [String] { catalog.map(\.name) }

    /// Commands whose argument is a session name, completed from the saved sessions.
    static let commandsTakingSessions: Set<String> = ["save", "load"]
    /// Commands whose argument is a file path.
    static let commandsTakingPaths: Set<String> = ["model", "image"]

    /// Parses a line that starts with `/`.
    ///
    /// - Throws: ``SlashCommandError`` naming what is wrong, with the nearest command or setting
    ///   when a name is misspelt.
    static func parse(_ line: String) throws(SlashCommandError) -> SlashCommand {
        var rest = Substring(line.trimmingWhitespace())
        precondition(rest.first == "/", "slash commands start with /")
        rest.removeFirst()
        let name = String(rest.prefix { !$0.isWhitespace })
        let argument = rest.dropFirst(name.count).trimmingWhitespace()
        let usage = catalog.first { $0.name == name }.map { "/\($0.name) \($0.arguments)".trimmingWhitespace() }

        func noArgument(_ command: SlashCommand) throws(SlashCommandError) -> SlashCommand {
            guard argument.isEmpty else { throw .unexpectedArgument(usage: usage!) }
            return command
        }
        func requiredArgument() throws(SlashCommandError) -> String {
            guard !argument.isEmpty else { throw .missingArgument(usage: usage!) }
            return argument
        }

        switch name {
        case "help": return try noArgument(.help)
        case "system": return .system(argument.isEmpty ? nil : argument)
        case "set":
            let words = argument.split(whereSeparator: \.isWhitespace).map(String.init)
            guard words.count == 2 else { throw words.count < 2 ? .missingArgument(usage: usage!) : .unexpectedArgument(usage: usage!) }
            return .set(try SettingChange(key: words[0], value: words[1]))
        case "show":
            let subject = try requiredArgument()
            guard let s = ShowSubject(rawValue: subject) else {
                throw .unknownName(kind: "/show subject", name: subject,
                                   suggestion: nearest(to: subject, among: ShowSubject.allCases.map(\.rawValue)))
            }
            return .show(s)
        case "clear": return try noArgument(.clear)
        case "retry": return try noArgument(.retry)
        case "undo": return try noArgument(.undo)
        case "save": return .save(name: try requiredArgument())
        case "load": return .load(name: try requiredArgument())
        case "sessions": return try noArgument(.sessions)
        case "context": return try noArgument(.context)
        case "compact": return try noArgument(.compact)
        case "think":
            guard argument == "show" else { throw argument.isEmpty ? .missingArgument(usage: usage!) : .unknownName(kind: "/think action", name: argument, suggestion: "show") }
            return .showThinking
        case "tools": return try noArgument(.tools)
        case "tool":
            let words = try requiredArgument()
            let name = String(words.prefix { !$0.isWhitespace })
            let arguments = words.dropFirst(name.count).trimmingWhitespace()
            if name == "restart", !arguments.isEmpty, !arguments.contains(where: { $0.isWhitespace || $0 == "{" }) {
                return .restartTool(name: String(arguments))
            }
            return .tool(name: name, arguments: arguments.isEmpty ? "{}" : arguments)
        case "model": return .model(argument.isEmpty ? nil : argument)
        case "image": return .image(path: try requiredArgument())
        case "exit": return try noArgument(.exit)
        default:
            throw .unknownCommand(name, suggestion: nearest(to: name, among: names))
        }
    }

    /// What tab should offer for `word`, the word under the cursor, given the text before it.
    static func completion(before: String, word: String) -> Completion {
        completion(before: before, word: word) { ((try? SessionStore.standard().list()) ?? []).map(\.name.description) }
    }

    /// What tab should offer, with `sessions` giving the names of the saved sessions.
    static func completion(before: String, word: String, sessions: () -> [String]) -> Completion {
        let previous = before.split(whereSeparator: \.isWhitespace).map(String.init)
        guard let first = previous.first ?? (word.hasPrefix("/") ? word : nil), first.hasPrefix("/") else {
            // In a message, tab completes file names (to mention a file), as a shell would.
            return .filePaths
        }
        if previous.isEmpty { return .words(names.map { "/" + $0 }.filter { $0.hasPrefix(word) }) }
        let command = String(first.dropFirst())
        switch (command, previous.count) {
        case ("set", 1): return .words(Setting.allCases.map(\.name).filter { $0.hasPrefix(word) })
        case ("set", 2) where previous[1] == Setting.verbose.name: return .words(["on", "off"].filter { $0.hasPrefix(word) })
        case ("set", 2) where previous[1] == Setting.format.name: return word.contains("/") ? .filePaths : .words(["json", "none"].filter { $0.hasPrefix(word) })
        case ("set", 2) where previous[1] == Setting.think.name: return .words(ThinkDisplay.allCases.map(\.rawValue).filter { $0.hasPrefix(word) })
        case ("think", 1): return .words(["show"].filter { $0.hasPrefix(word) })
        case (_, 1) where commandsTakingPaths.contains(command): return .filePaths
        case ("show", 1): return .words(ShowSubject.allCases.map(\.rawValue).filter { $0.hasPrefix(word) })
        case (_, 1) where commandsTakingSessions.contains(command): return .words(sessions().filter { $0.hasPrefix(word) })
        default: return .words([])
        }
    }

    /// What tab completes to.
    enum Completion: Equatable {
        /// These words (none: nothing to complete).
        case words([String])
        /// Paths in the file system, as libedit completes them.
        case filePaths
    }

    /// The candidate closest to `name` by edit distance, if it is close enough to be a plausible typo.
    static func nearest(to name: String, among candidates: [String]) -> String? {
        let scored = candidates.map { (candidate: $0, distance: editDistance(name, $0)) }
        guard let best = scored.min(by: { $0.distance < $1.distance }) else { return nil }
        return best.distance <= max(1, min(2, name.count / 2)) ? best.candidate : nil
    }

    /// Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of
    /// neighbours each cost one, so `sytem` is one from `system` and `sytsem` one too.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[a.count][b.count]
    }
}

/// What `/show` can show.
enum ShowSubject: String, CaseIterable {
    case info, params, template, system, license
}

/// A setting `/set` changes: a sampling parameter of ``SamplingSetting``'s table, or one of the REPL's own.
enum Setting: Hashable, CaseIterable {
    case sampling(SamplingSetting)
    case seed, max_tokens, ctx, format, think, verbose

    static let allCases: [Setting] = SamplingSetting.allCases.map(Setting.sampling) + [.seed, .max_tokens, .ctx, .format, .think, .verbose]

    /// The name the user types.
    var name: String {
        switch self {
        case .sampling(let s): s.name
        case .seed: "seed"
        case .max_tokens: "max_tokens"
        case .ctx: "ctx"
        case .format: "format"
        case .think: "think"
        case .verbose: "verbose"
        }
    }

    init?(name: String) {
        guard let setting = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = setting
    }
}

/// A validated `/set KEY VALUE`.
enum SettingChange: Equatable {
    /// A sampling parameter, to a value its ``SamplingSetting`` accepts.
    case sampling(SamplingSetting, Double)
    /// nil: a new random seed for every answer.
    case seed(UInt64?)
    /// nil: until the model stops or the context window is full.
    case maxTokens(Int?)
    /// A new context window of this many tokens (the KV cache starts empty).
    case contextSize(Int)
    /// What answers must look like: `json`, `none`, a JSON Schema file or a `.gbnf` grammar file.
    case format(String)
    case think(ThinkDisplay)
    case verbose(Bool)

    /// The setting this changes.
    var setting: Setting {
        switch self {
        case .sampling(let s, _): return .sampling(s)
        case .seed: return .seed
        case .maxTokens: return .max_tokens
        case .contextSize: return .ctx
        case .format: return .format
        case .think: return .think
        case .verbose: return .verbose
        }
    }

    /// Parses and checks a value for the setting named `key`.
    init(key: String, value: String) throws(SlashCommandError) {
        guard let setting = Setting(name: key) else {
            throw .unknownName(kind: "setting", name: key, suggestion: SlashCommand.nearest(to: key, among: Setting.allCases.map(\.name)))
        }
        func invalid(_ expected: String) -> SlashCommandError { .invalidValue(setting: key, value: value, expected: expected) }
        switch setting {
        case .sampling(let s):
            guard let v = Double(value), s.accepts(v) else { throw invalid(s.requirement) }
            self = .sampling(s, v)
        case .seed:
            if value == "random" { self = .seed(nil); return }
            guard let s = UInt64(value) else { throw invalid("a whole number ≥ 0, or random") }
            self = .seed(s)
        case .max_tokens:
            if value == "none" { self = .maxTokens(nil); return }
            guard let n = Int(value), n > 0 else { throw invalid("a whole number > 0, or none") }
            self = .maxTokens(n)
        case .ctx:
            guard let n = Int(value), (8...(1 << 20)).contains(n) else { throw invalid("a whole number of tokens from 8 to 1048576") }
            self = .contextSize(n)
        case .format:
            self = .format(value)
        case .think:
            guard let display = ThinkDisplay(rawValue: value) else { throw invalid(ThinkDisplay.allCases.map(\.rawValue).joined(separator: ", ")) }
            self = .think(display)
        case .verbose:
            switch value {
            case "on", "true", "1": self = .verbose(true)
            case "off", "false", "0": self = .verbose(false)
            default: throw invalid("on or off")
            }
        }
    }
}

/// Why a slash command was not understood; the description is the one line the REPL prints.
enum SlashCommandError: Error, Equatable, CustomStringConvertible {
    case unknownCommand(String, suggestion: String?)
    /// A setting or `/show` subject that does not exist; `kind` names which.
    case unknownName(kind: String, name: String, suggestion: String?)
    case missingArgument(usage: String)
    case unexpectedArgument(usage: String)
    case invalidValue(setting: String, value: String, expected: String)

    var description: String {
        switch self {
        case let .unknownCommand(name, suggestion):
            return "unknown command /\(name)" + (suggestion.map { " — did you mean /\($0)?" } ?? " — /help lists the commands")
        case let .unknownName(kind, name, suggestion):
            return "unknown \(kind) \(name)" + (suggestion.map { " — did you mean \($0)?" } ?? "")
        case let .missingArgument(usage):
            return "missing argument — usage: \(usage)"
        case let .unexpectedArgument(usage):
            return "too many arguments — usage: \(usage)"
        case let .invalidValue(setting, value, expected):
            return "invalid \(setting) \(value): expected \(expected)"
        }
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces, tabs and newlines.
    func trimmingWhitespace() -> String {
        guard let start = firstIndex(where: { !$0.isWhitespace }), let end = lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return String(self[start...end])
    }
}
