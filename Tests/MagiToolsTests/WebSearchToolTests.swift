import Foundation
import MagiTools
import Testing

/// `web_search` against a loopback server imitating DuckDuckGo's HTML endpoint, SearXNG's JSON API
/// and the Brave Search API.
@Suite(.serialized) struct WebSearchToolTests {
    let server: LoopbackServer
    init() throws { server = try LoopbackServer() }

    func search(_ provider: SearchProvider, _ query: String) async -> Result<String, ToolError> {
        await ToolRunner(registry: ToolRegistry([WebSearchTool(provider: provider, timeout: .seconds(3))]))
            .run("web_search", arguments: #"{"query": "\#(query)"}"#)
    }

    @Test func duckDuckGoResultsSkipAdsAndUnwrapRedirects() async throws {
        let hits = try await WebSearchTool(provider: .duckDuckGo(base: server.base + "/ddg")).search("swift lang", count: 5)
        #expect(hits == [
            SearchHit(title: "Swift Documentation", url: "https://swift.org/documentation/", snippet: "The official Swift documentation & guides."),
            SearchHit(title: "SWIFT banking", url: "https://www.swift.com/", snippet: "Financial messaging."),
        ])
        #expect(try await search(.duckDuckGo(base: server.base + "/ddg"), "swift").get() == """
            1. Swift Documentation
               https://swift.org/documentation/
               The official Swift documentation & guides.
            2. SWIFT banking
               https://www.swift.com/
               Financial messaging.
            """)
        #expect(try await search(.duckDuckGo(base: server.base + "/ddg"), "nothing").get() == "No results for \"nothing\".")
    }

    @Test func searXNGJSON() async throws {
        let text = try await search(.searXNG(base: server.base + "/searx"), "swift").get()
        #expect(text == """
            1. Swift.org
               https://swift.org/
               Swift is a general-purpose language.
            2. Swift (programming language)
               https://en.wikipedia.org/wiki/Swift
               Swift is a "high-level" language.
            """)
        #expect(await search(.searXNG(base: server.base + "/searx"), "malformed") == .failure(.failed("SearXNG sent an answer that is not JSON")))
    }

    @Test func braveNeedsItsKey() async throws {
        let text = try await search(.brave(apiKey: "test-key", base: server.base + "/brave"), "swift").get()
        #expect(text.hasPrefix("1. Swift.org\n   https://swift.org/\n   Swift is fast.\n2. Swift on GitHub"))
        #expect(await search(.brave(apiKey: "wrong", base: server.base + "/brave"), "swift") == .failure(.failed("Brave Search answered HTTP 401")))
    }

    @Test func anUnreachableProviderIsAClearError() async {
        #expect(await search(.searXNG(base: "http://127.0.0.1:1"), "x") == .failure(.failed("SearXNG: Couldn't connect to server")))
    }
}
