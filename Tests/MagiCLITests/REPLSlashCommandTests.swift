import Testing
@testable import MagiCLI

/// Slash command parsing, validation, suggestions and completion, without a terminal.
@Suite struct REPLSlashCommandTests {
    func parse(_ line: String) -> Result<SlashCommand, SlashCommandError> {
        Result { () throws(SlashCommandError) in try SlashCommand.parse(line) }
    }

    @Test func commandsParse() {
        #expect(parse("/help") == .success(.help))
        #expect(parse("/system") == .success(.system(nil)))
        #expect(parse("/system   Be brief.  ") == .success(.system("Be brief.")))
        #expect(parse("/set temperature 0.7") == .success(.set(.sampling(.temperature, 0.7))))
        #expect(parse("/set seed random") == .success(.set(.seed(nil))))
        #expect(parse("/set max_tokens none") == .success(.set(.maxTokens(nil))))
        #expect(parse("/set verbose on") == .success(.set(.verbose(true))))
        #expect(parse("/show template") == .success(.show(.template)))
        #expect(parse("/retry") == .success(.retry))
        #expect(parse("/undo") == .success(.undo))
        #expect(parse("/save work") == .success(.save(name: "work")))
        #expect(parse("/load a b") == .success(.load(name: "a b")))
        #expect(parse("/sessions") == .success(.sessions))
        #expect(parse("/context") == .success(.context))
        #expect(parse("/compact") == .success(.compact))
        #expect(parse("/exit") == .success(.exit))
        #expect(parse("/tool python {\"code\": \"1\"}") == .success(.tool(name: "python", arguments: "{\"code\": \"1\"}")))
        #expect(parse("/tool restart python") == .success(.restartTool(name: "python")))
        // A tool named restart is still called with its JSON.
        #expect(parse("/tool restart {\"x\": 1}") == .success(.tool(name: "restart", arguments: "{\"x\": 1}")))
    }

    @Test func namesMatchWholeWordsOnly() {
        #expect(parse("/sys") == .failure(.unknownCommand("sys", suggestion: nil)))
        #expect(parse("/exitnow") == .failure(.unknownCommand("exitnow", suggestion: nil)))
        #expect(parse("/set temp 1") == .failure(.unknownName(kind: "setting", name: "temp", suggestion: nil)))
    }

    @Test func misspellingsSuggestTheNearest() throws {
        let error = try #require(parse("/sytem").failure)
        #expect(error.description == "unknown command /sytem — did you mean /system?")
        #expect(parse("/hlep") == .failure(.unknownCommand("hlep", suggestion: "help")))
        #expect(parse("/frobnicate") == .failure(.unknownCommand("frobnicate", suggestion: nil)))
        #expect(parse("/set temprature 1") == .failure(.unknownName(kind: "setting", name: "temprature", suggestion: "temperature")))
        #expect(parse("/show parms") == .failure(.unknownName(kind: "/show subject", name: "parms", suggestion: "params")))
    }

    @Test func valuesAreValidatedWithOneLineErrors() throws {
        let cases = ["/set temperature -1", "/set temperature hot", "/set top_p 1.5", "/set top_k -3", "/set min_p 2",
                     "/set repeat_penalty 0", "/set seed -1", "/set max_tokens 0", "/set verbose maybe"]
        for line in cases {
            let error = try #require(parse(line).failure, "\(line)")
            guard case .invalidValue = error else { Issue.record("\(line): \(error)"); continue }
            #expect(!error.description.contains("\n"))
        }
        #expect(parse("/set top_k 0") == .success(.set(.sampling(.top_k, 0))))
    }

    @Test func argumentsAreCounted() {
        #expect(parse("/set temperature") == .failure(.missingArgument(usage: "/set KEY VALUE")))
        #expect(parse("/set temperature 1 2") == .failure(.unexpectedArgument(usage: "/set KEY VALUE")))
        #expect(parse("/clear all") == .failure(.unexpectedArgument(usage: "/clear")))
        #expect(parse("/show") == .failure(.missingArgument(usage: "/show WHAT")))
        #expect(parse("/save") == .failure(.missingArgument(usage: "/save NAME")))
    }

    @Test func editDistanceCountsSwapsAsOne() {
        #expect(SlashCommand.editDistance("sytem", "system") == 1)
        #expect(SlashCommand.editDistance("sysetm", "system") == 1)
        #expect(SlashCommand.editDistance("", "abc") == 3)
        #expect(SlashCommand.editDistance("kitten", "sitting") == 3)
    }

    @Test func completionOffersCommandsSettingsAndSessions() {
        #expect(SlashCommand.completion(before: "", word: "/s") == .words(["/system", "/set", "/show", "/save", "/sessions"]))
        #expect(SlashCommand.completion(before: "", word: "/") == .words(SlashCommand.names.map { "/" + $0 }))
        #expect(SlashCommand.completion(before: "/set ", word: "t") == .words(["temperature", "top_p", "top_k", "think"]))
        #expect(SlashCommand.completion(before: "/set verbose ", word: "o") == .words(["on", "off"]))
        #expect(SlashCommand.completion(before: "/show ", word: "") == .words(["info", "params", "template", "system", "license"]))
        #expect(SlashCommand.completion(before: "/load ", word: "wo", sessions: { ["work", "play", "world"] }) == .words(["work", "world"]))
        #expect(SlashCommand.completion(before: "/save ", word: "", sessions: { ["work"] }) == .words(["work"]))
        #expect(SlashCommand.completion(before: "tell me ", word: "/s") == .filePaths)
        #expect(SlashCommand.completion(before: "", word: "notes") == .filePaths)
        #expect(SlashCommand.completion(before: "/clear ", word: "") == .words([]))
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let e) = self { return e }
        return nil
    }
}
