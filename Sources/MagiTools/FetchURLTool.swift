import MagiHTTP

/// `fetch_url`: fetches a web page and returns its readable text — HTML turned into text, plain
/// text, JSON, XML and CSV as they are; other content types (images, PDFs, binaries) refused.
/// Size, time and redirects are bounded by the client's request limits.
public struct FetchURLTool: Tool {
    public let name = "fetch_url"
    public let description = "Fetch a web page (http or https) and return its text: the title, the final URL and the readable content."
    public let parametersSchema = #"""
        {"type": "object", "properties": {"url": {"type": "string", "description": "The http or https URL to fetch."}}, "required": ["url"]}
        """#
    public let access: ToolAccess = .network
    public var timeout: Duration { limits.timeout + .seconds(2) }

    let client: HTTPClient
    /// The limits of each fetch (its URL is replaced by the call's).
    let limits: HTTPRequest

    public init(client: HTTPClient = HTTPClient(), maxBytes: Int = 2_000_000, timeout: Duration = .seconds(20), maxRedirects: Int = 5) {
        self.client = client
        self.limits = HTTPRequest(url: "", maxBytes: maxBytes, timeout: timeout, maxRedirects: maxRedirects)
    }

    static let textTypes: Set<String> = ["text/plain", "text/markdown", "text/csv", "text/xml", "application/json", "application/xml",
                                         "application/rss+xml", "application/atom+xml"]
    static let htmlTypes: Set<String> = ["text/html", "application/xhtml+xml"]

    public func run(arguments: String) async throws -> String {
        guard let url = try JSONValue(parsingToolJSON: arguments)["url"]?.string else { throw ToolError.invalidArguments("url is required") }
        var request = limits
        request.url = url
        request.headers = ["Accept: text/html,application/xhtml+xml,text/plain;q=0.9,application/json;q=0.8,*/*;q=0.1"]
        let response = try await client.getForTool(request, source: url)
        guard (200..<300).contains(response.status) else {
            throw ToolError.failed("\(response.url) answered HTTP \(response.status)")
        }
        let media = response.mediaType ?? "text/html"
        var header = "URL: \(response.url)\n"
        let body: String
        if Self.htmlTypes.contains(media) {
            let page = HTMLText(html: response.text)
            if let title = page.title { header = "Title: \(title)\n" + header }
            body = page.text
        } else if Self.textTypes.contains(media) || media.hasPrefix("text/") {
            body = response.text
        } else {
            throw ToolError.failed("\(response.url) is \(media), not a page of text")
        }
        let note = response.isTruncated ? "\n[the page is larger than \(request.maxBytes) bytes; only its beginning was read]" : ""
        return header + "\n" + body + note
    }
}
