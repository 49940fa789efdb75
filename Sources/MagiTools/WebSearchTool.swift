import Foundation
import MagiHTTP

/// Where `web_search` sends its queries.
public enum SearchProvider: Sendable, Equatable {
    /// DuckDuckGo's HTML endpoint (no key), at `base` (`https://html.duckduckgo.com`).
    case duckDuckGo(base: String = "https://html.duckduckgo.com")
    /// A SearXNG instance's JSON API (`format=json` must be enabled in its settings).
    case searXNG(base: String)
    /// The Brave Search API with a subscription key, at `base` (`https://api.search.brave.com`).
    case brave(apiKey: String, base: String = "https://api.search.brave.com")

    /// The provider's name for messages.
    public var name: String {
        switch self {
        case .duckDuckGo: return "DuckDuckGo"
        case .searXNG: return "SearXNG"
        case .brave: return "Brave Search"
        }
    }
}

/// One search result.
public struct SearchHit: Sendable, Equatable {
    public var title: String
    public var url: String
    public var snippet: String

    public init(title: String, url: String, snippet: String) {
        self.title = title
        self.url = url
        self.snippet = snippet
    }
}

/// `web_search`: searches the web and returns title, URL and snippet per hit.
public struct WebSearchTool: Tool {
    public let name = "web_search"
    public let description = "Search the web. Returns a numbered list of results, each with title, URL and snippet."
    public let parametersSchema = #"""
        {"type": "object", "properties": {"query": {"type": "string", "minLength": 1, "description": "What to search for."}, "max_results": {"type": "integer", "minimum": 1, "maximum": 20, "description": "How many results (default 5)."}}, "required": ["query"]}
        """#
    public let access: ToolAccess = .network
    public var timeout: Duration { requestTimeout + .seconds(2) }

    let provider: SearchProvider
    let client: HTTPClient
    let requestTimeout: Duration

    public init(provider: SearchProvider = .duckDuckGo(), client: HTTPClient = HTTPClient(), timeout: Duration = .seconds(15)) {
        self.provider = provider
        self.client = client
        self.requestTimeout = timeout
    }

    public func run(arguments: String) async throws -> String {
        let json = try JSONValue(parsingToolJSON: arguments)
        guard let query = json["query"]?.string else { throw ToolError.invalidArguments("query is required") }
        let count = json["max_results"]?.number.map { max(1, min(20, Int($0))) } ?? 5
        let hits = try await search(query, count: count)
        guard !hits.isEmpty else { return "No results for \"\(query)\"." }
        return hits.prefix(count).enumerated().map { i, hit in
            "\(i + 1). \(hit.title)\n   \(hit.url)" + (hit.snippet.isEmpty ? "" : "\n   \(hit.snippet)")
        }.joined(separator: "\n")
    }

    /// The hits for `query`, as the provider ranks them.
    public func search(_ query: String, count: Int) async throws -> [SearchHit] {
        let q = query.addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed) ?? query
        let request: HTTPRequest
        switch provider {
        case .duckDuckGo(let base):
            request = HTTPRequest(url: "\(base)/html/?q=\(q)", headers: ["Accept: text/html"], timeout: requestTimeout)
        case .searXNG(let base):
            request = HTTPRequest(url: "\(base)/search?q=\(q)&format=json", headers: ["Accept: application/json"], timeout: requestTimeout)
        case let .brave(key, base):
            request = HTTPRequest(url: "\(base)/res/v1/web/search?q=\(q)&count=\(count)",
                                  headers: ["Accept: application/json", "X-Subscription-Token: \(key)"], timeout: requestTimeout)
        }
        let response = try await client.getForTool(request, source: provider.name)
        guard response.status == 200 else { throw ToolError.failed("\(provider.name) answered HTTP \(response.status)") }
        switch provider {
        case .duckDuckGo: return DuckDuckGoResults.parse(response.text)
        case .searXNG: return try hits(in: response, list: { $0["results"] }, snippetKey: "content")
        case .brave: return try hits(in: response, list: { $0["web"]?["results"] }, snippetKey: "description")
        }
    }

    private func hits(in response: HTTPResponse, list: (JSONValue) -> JSONValue?, snippetKey: String) throws -> [SearchHit] {
        guard let document = try? JSONValue(parsingToolJSON: response.text) else {
            throw ToolError.failed("\(provider.name) sent an answer that is not JSON")
        }
        return (list(document)?.array ?? []).compactMap { item in
            guard let url = item["url"]?.string else { return nil }
            return SearchHit(title: SearchText.plain(item["title"]?.string ?? url), url: url,
                             snippet: SearchText.plain(item[snippetKey]?.string ?? ""))
        }
    }
}

/// Search snippets as one line of plain text (tags dropped, entities decoded).
enum SearchText {
    static func plain(_ html: String) -> String {
        HTMLText(html: "<p>\(html)</p>").text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}

/// The results in DuckDuckGo's HTML page: each `a.result__a` (title and link, through DuckDuckGo's
/// `/l/?uddg=` redirect) and the `result__snippet` after it; ads (`result--ad`) left out.
enum DuckDuckGoResults {
    static func parse(_ page: String) -> [SearchHit] {
        let blocks = page.components(separatedBy: "class=\"result__a\"").dropFirst()
        var hits: [SearchHit] = []
        var previous = page.components(separatedBy: "class=\"result__a\"").first ?? ""
        for block in blocks {
            defer { previous = block }
            // The anchor's own attributes straddle the split: `<a rel=… ` before, ` href=…>` after.
            let openTag = (previous.components(separatedBy: "<a").last ?? "") + block.prefix { $0 != ">" }
            // The result's own `<div class="result …">` says whether it is an ad.
            if (previous.components(separatedBy: "class=\"result ").last ?? "").contains("result--ad") { continue }
            guard let href = attribute("href", in: openTag), let url = destination(of: href) else { continue }
            let afterTag = block.drop { $0 != ">" }.dropFirst()
            let title = SearchText.plain(String(afterTag.prefix(upTo: afterTag.range(of: "</a>")?.lowerBound ?? afterTag.endIndex)))
            var snippet = ""
            if let mark = afterTag.range(of: "result__snippet") {
                let rest = afterTag[mark.upperBound...].drop { $0 != ">" }.dropFirst()
                let end = [rest.range(of: "</a>"), rest.range(of: "</div>"), rest.range(of: "</td>")].compactMap { $0?.lowerBound }.min()
                snippet = SearchText.plain(String(rest[..<(end ?? rest.endIndex)]))
            }
            hits.append(SearchHit(title: title, url: url, snippet: snippet))
        }
        return hits
    }

    private static func attribute(_ name: String, in tag: String) -> String? {
        guard let start = tag.range(of: "\(name)=\"") else { return nil }
        let rest = tag[start.upperBound...]
        return rest.firstIndex(of: "\"").map { HTMLText.decodeEntities(rest[..<$0]) }
    }

    /// The target of a result link: the `uddg` parameter of DuckDuckGo's redirect, else the link itself.
    private static func destination(of href: String) -> String? {
        let absolute = href.hasPrefix("//") ? "https:" + href : href
        if let components = URLComponents(string: absolute), components.path == "/l/",
           let target = components.queryItems?.first(where: { $0.name == "uddg" })?.value {
            return target
        }
        return absolute.hasPrefix("http") ? absolute : nil
    }
}

private extension CharacterSet {
    static let urlQueryValueAllowed: CharacterSet = {
        CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    }()
}
