import Foundation
import MagiTools
import Testing

/// `fetch_url` and the HTTP client against a loopback server.
@Suite(.serialized) struct FetchURLToolTests {
    let server: LoopbackServer
    init() throws { server = try LoopbackServer() }

    func fetch(_ path: String, tool: FetchURLTool = FetchURLTool()) async -> Result<String, ToolError> {
        await ToolRunner(registry: ToolRegistry([tool])).run("fetch_url", arguments: #"{"url": "\#(server.base)\#(path)"}"#)
    }

    @Test func htmlBecomesReadableText() async throws {
        let text = try await fetch("/page.html").get()
        #expect(text == """
            Title: Café & Tea
            URL: \(server.base)/page.html

            Home

            # The Menu

            Espresso — 2 €.

            Tea éé bold text.

            - One

            - Two

              keep
                spacing
            """)
        #expect(!text.contains("secret") && !text.contains("color"))
    }

    @Test func redirectsAreFollowedAndLoopsStopped() async throws {
        #expect(try await fetch("/redirect").get().contains("URL: \(server.base)/page.html"))
        #expect(await fetch("/loop") == .failure(.failed("\(server.base)/loop: more than 5 redirects")))
    }

    @Test func textTypesPassAndOthersAreRefused() async throws {
        #expect(try await fetch("/plain.txt").get().hasSuffix("\n\njust text\nline two"))
        #expect(try await fetch("/data.json").get().hasSuffix(#"{"a": 1}"#))
        #expect(await fetch("/image.png") == .failure(.failed("\(server.base)/image.png is image/png, not a page of text")))
        #expect(await fetch("/missing") == .failure(.failed("\(server.base)/missing answered HTTP 404")))
    }

    @Test func charsetsAndCompression() async throws {
        #expect(try await fetch("/latin1").get().hasSuffix("café crème"))
        #expect(try await fetch("/bad-utf8").get().hasSuffix("ok \u{FFFD}\u{FFFD} end"))
        #expect(try await fetch("/gzip").get().hasSuffix("unzipped"))
    }

    @Test func hugeBodiesAreCut() async throws {
        let text = try await fetch("/huge", tool: FetchURLTool(maxBytes: 100_000)).get()
        #expect(text.hasSuffix("[the page is larger than 100000 bytes; only its beginning was read]"))
        #expect(text.utf8.count < 101_000)
    }

    @Test func slowServersTimeOut() async throws {
        let start = ContinuousClock.now
        #expect(await fetch("/slow", tool: FetchURLTool(timeout: .seconds(1))) == .failure(.failed("\(server.base)/slow: no complete answer within 1 s")))
        #expect(ContinuousClock.now - start < .seconds(4))
    }

    @Test func aStoppedTurnCancelsTheTransfer() async throws {
        let start = ContinuousClock.now
        let deadline = start.advanced(by: .milliseconds(300))
        let result = await ToolRunner(registry: ToolRegistry([FetchURLTool()]))
            .run("fetch_url", arguments: #"{"url": "\#(server.base)/slow"}"#, shouldStop: { ContinuousClock.now >= deadline })
        #expect(result == .failure(.cancelled))
        #expect(ContinuousClock.now - start < .seconds(3))
    }

    @Test func onlyHTTPAndHTTPSAreFetched() async {
        let runner = ToolRunner(registry: ToolRegistry([FetchURLTool()]))
        #expect(await runner.run("fetch_url", arguments: #"{"url": "file:///etc/passwd"}"#)
                == .failure(.failed("file:///etc/passwd: 'file:///etc/passwd' is not an http or https URL")))
        #expect(await runner.run("fetch_url", arguments: #"{"url": "http://127.0.0.1:1/"}"#)
                == .failure(.failed("http://127.0.0.1:1/: Couldn't connect to server")))
    }
}
