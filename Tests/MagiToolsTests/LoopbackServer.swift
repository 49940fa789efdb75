import Foundation

/// A real HTTP server on 127.0.0.1 serving recorded pages and provider responses, for the web tools'
/// tests: started on a free port, stopped (killed) when the test ends.
final class LoopbackServer: @unchecked Sendable {
    let process = Process()
    let port: Int
    var base: String { "http://127.0.0.1:\(port)" }

    init() throws {
        let script = FileManager.default.temporaryDirectory.appendingPathComponent("magi-loopback-\(UUID().uuidString).py")
        try Self.script.write(to: script, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        guard let port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.terminate()
            throw CocoaError(.fileReadCorruptFile)
        }
        self.port = port
        try? FileManager.default.removeItem(at: script)
    }

    deinit {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    static let script = #"""
import gzip, json, sys, time, urllib.parse
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

PAGE = b"""<!DOCTYPE html><html><head><title>Caf&eacute; &amp; Tea</title><style>body{color:red}</style>
<script>var secret = "do not show";</script></head>
<body><nav><a href="/">Home</a></nav><h1>The  Menu</h1>
<p>Espresso &mdash; 2&nbsp;&euro;.<br>Tea &#233;&#xE9; <b>bold</b> text.</p>
<!-- a comment -->
<ul><li>One</li><li>Two</li></ul><pre>  keep
    spacing</pre></body></html>"""

SEARX = {"query": "swift", "results": [
    {"url": "https://swift.org/", "title": "Swift.org", "content": "Swift is a general-purpose language."},
    {"url": "https://en.wikipedia.org/wiki/Swift", "title": "Swift (programming language)", "content": "Swift is a &quot;high-level&quot; language."}]}

DDG = """<html><body><div class="results">
<div class="result results_links results_links_deep web-result">
 <h2 class="result__title"><a rel="nofollow" class="result__a" href="//duckduckgo.com/l/?uddg=https%3A%2F%2Fswift.org%2Fdocumentation%2F&amp;rut=abc">Swift <b>Documentation</b></a></h2>
 <a class="result__snippet" href="//duckduckgo.com/l/?uddg=https%3A%2F%2Fswift.org%2Fdocumentation%2F">The official <b>Swift</b> documentation &amp; guides.</a>
</div>
<div class="result results_links results_links_deep result--ad">
 <h2 class="result__title"><a rel="nofollow" class="result__a" href="https://ads.example/">Buy Swift now</a></h2>
 <a class="result__snippet" href="https://ads.example/">An ad.</a>
</div>
<div class="result results_links results_links_deep web-result">
 <h2 class="result__title"><a rel="nofollow" class="result__a" href="https://www.swift.com/">SWIFT banking</a></h2>
 <a class="result__snippet" href="https://www.swift.com/">Financial messaging.</a>
</div></div></body></html>"""

BRAVE = {"type": "search", "web": {"results": [
    {"title": "Swift.org", "url": "https://swift.org/", "description": "Swift is <strong>fast</strong>."},
    {"title": "Swift on GitHub", "url": "https://github.com/swiftlang/swift", "description": "The Swift compiler."}]}}

class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args): pass

    def send(self, status, body, ctype="text/html; charset=utf-8", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for k, v in headers: self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(url.query)
        p = url.path
        if p == "/page.html": return self.send(200, PAGE)
        if p == "/plain.txt": return self.send(200, b"just text\nline two", "text/plain")
        if p == "/data.json": return self.send(200, b'{"a": 1}', "application/json")
        if p == "/image.png": return self.send(200, b"\x89PNG\r\n\x1a\n", "image/png")
        if p == "/redirect": return self.send(302, b"", headers=[("Location", "/page.html")])
        if p == "/loop": return self.send(302, b"", headers=[("Location", "/loop")])
        if p == "/latin1": return self.send(200, b"<p>caf\xe9 cr\xe8me</p>", "text/html; charset=ISO-8859-1")
        if p == "/bad-utf8": return self.send(200, b"ok \xff\xfe end", "text/plain")
        if p == "/missing": return self.send(404, b"<h1>Not found</h1>")
        if p == "/gzip":
            return self.send(200, gzip.compress(b"<p>unzipped</p>"), headers=[("Content-Encoding", "gzip")])
        if p == "/huge":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            try:
                for _ in range(5000): self.wfile.write(b"x" * 1023 + b"\n")
            except Exception: pass
            return
        if p == "/slow":
            time.sleep(10)
            return self.send(200, b"late")
        if p == "/searx/search":
            if q.get("format") != ["json"]: return self.send(403, b"format not allowed")
            if q.get("q") == ["malformed"]: return self.send(200, b'{"results": [', "application/json")
            return self.send(200, json.dumps(SEARX).encode(), "application/json")
        if p == "/ddg/html/":
            if q.get("q") == ["nothing"]: return self.send(200, b"<html><body><div class='no-results'>No results.</div></body></html>")
            return self.send(200, DDG.encode())
        if p == "/brave/res/v1/web/search":
            if self.headers.get("X-Subscription-Token") != "test-key": return self.send(401, b'{"error": "unauthorized"}', "application/json")
            return self.send(200, json.dumps(BRAVE).encode(), "application/json")
        self.send(404, b"no route")

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
"""#
}
