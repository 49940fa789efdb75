import Foundation
import Testing

/// `magi serve` facing clients that misbehave: idle and half-sent connections are closed, headers sent
/// a byte at a time are cut at their own deadline, connections past the limit get 503, every field's
/// JSON type is checked (400 naming `param`), prompts that cannot fit are refused from their size alone, any model name is served unless `--strict-model`, and the
/// default decoding is the CLI's (greedy for a model whose card recommends nothing).
@Suite(.serialized) struct ServeHygieneTests {
    @Test(.enabled(if: CommandLineTests.hasModel)) func idleAndHalfSentConnectionsAreClosed() throws {
        let server = try LoopbackServer(arguments: ["-c", "256", "--idle-timeout", "1"])
        defer { server.stop() }
        let idle = try server.connect()
        defer { close(idle) }
        let half = try server.connect()
        defer { close(half) }
        let head = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        _ = head.withCString { send(half, $0, strlen($0), 0) }
        #expect(LoopbackServer.readUntilClosed(idle, seconds: 60).closed, "an idle connection stayed open")
        #expect(LoopbackServer.readUntilClosed(half, seconds: 60).closed, "a connection that never finished its headers stayed open")
        #expect(try server.get("/health").status == 200)
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func connectionsPastTheLimitGet503() throws {
        let server = try LoopbackServer(arguments: ["-c", "256", "--max-connections", "2"])
        defer { server.stop() }
        let held = try (0..<2).map { _ in try server.connect() }
        // Give the server a moment to accept the held connections before the next one arrives.
        usleep(300_000)
        let busy = try server.get("/health")
        #expect(busy.status == 503, "\(busy.body)")
        #expect(busy.errorMessage?.contains("serves 2 at once") == true, "\(busy.body)")
        held.forEach { close($0) }
        var status = 0
        for _ in 0..<50 where status != 200 {
            status = try server.get("/health").status
            if status != 200 { usleep(100_000) }
        }
        #expect(status == 200)
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func everyFieldHasItsJSONType() throws {
        let server = try LoopbackServer(arguments: ["-c", "256"])
        defer { server.stop() }
        let chat: [String: Any] = ["messages": [["role": "user", "content": "hi"]], "max_tokens": 1]
        for (field, bad) in [("stream", "yes"), ("model", 7), ("logprobs", "no"), ("user", ["x"]), ("top_k", "4"), ("top_k", 1.5),
                             ("temperature", "0"), ("seed", true), ("stream_options", 1), ("n", "1")] as [(String, Any)] {
            let reply = try server.post("/v1/chat/completions", json: chat.merging([field: bad]) { $1 })
            #expect(reply.status == 400, "\(field): \(reply.body)")
            #expect(reply.errorParam == field, "\(field): \(reply.body)")
        }
        let include = try server.post("/v1/chat/completions", json: chat.merging(["stream_options": ["include_usage": "yes"]]) { $1 })
        #expect(include.status == 400 && include.errorParam == "stream_options.include_usage", "\(include.body)")
        let fine = try server.post("/v1/chat/completions", json: chat.merging(["stream": false, "user": "u", "top_k": 1, "logprobs": false]) { $1 })
        #expect(fine.status == 200, "\(fine.body)")
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func anyModelNameIsServedUnlessStrict() throws {
        let server = try LoopbackServer(arguments: ["-c", "256"])
        defer { server.stop() }
        let reply = try server.post("/v1/chat/completions", json: ["model": "gpt-4o", "messages": [["role": "user", "content": "hi"]], "max_tokens": 1])
        #expect(reply.status == 200, "\(reply.body)")
        #expect(reply.json?["model"] as? String == "gpt-4o", "\(reply.body)")
        let unnamed = try server.post("/v1/completions", json: ["prompt": "hi", "max_tokens": 1])
        #expect(unnamed.json?["model"] as? String == "SmolLM2-135M-Instruct.Q4_1", "\(unnamed.body)")
        server.stop()

        let strict = try LoopbackServer(arguments: ["-c", "256", "--strict-model"])
        defer { strict.stop() }
        let refused = try strict.post("/v1/chat/completions", json: ["model": "gpt-4o", "messages": [["role": "user", "content": "hi"]], "max_tokens": 1])
        #expect(refused.status == 404 && refused.errorParam == "model", "\(refused.body)")
    }

    /// SmolLM2's card recommends no sampling, so a request that sets none is answered greedily: the
    /// same text as one asking for temperature 0, as `magi -p` decodes it.
    @Test(.enabled(if: CommandLineTests.hasModel)) func theDefaultIsTheCLIsGreedyDecoding() throws {
        let server = try LoopbackServer(arguments: ["-c", "512"])
        defer { server.stop() }
        let question = "Write a short poem about the sea."
        func answer(_ extra: [String: Any]) throws -> String? {
            let reply = try server.post("/v1/completions", json: ["prompt": question, "max_tokens": 24].merging(extra) { $1 })
            return (reply.json?["choices"] as? [[String: Any]])?.first?["text"] as? String
        }
        let greedy = try #require(try answer(["temperature": 0]))
        for _ in 0..<3 { #expect(try answer([:]) == greedy) }
        let cli = try BoundedProcess.magi(["--raw", "-p", question, "-n", "24", "-c", "512"])
        if cli.status == 0 { #expect(cli.stdout.trimmingCharacters(in: .newlines) == greedy.trimmingCharacters(in: .newlines)) }
        // A temperature turns sampling on: some seed gives another text.
        let sampled = try (1...4).map { try answer(["temperature": 1.5, "seed": $0]) }
        #expect(sampled.contains { $0 != greedy })
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func aPromptThatCannotFitIsRefusedFromItsSize() throws {
        let server = try LoopbackServer(arguments: ["-c", "256"])
        defer { server.stop() }
        let huge = String(repeating: "word ", count: 6_000_000)
        let reply = try server.post("/v1/chat/completions", json: ["messages": [["role": "user", "content": huge]], "max_tokens": 1])
        #expect(reply.status == 400, "\(reply.body.prefix(300))")
        #expect((reply.json?["error"] as? [String: Any])?["code"] as? String == "context_length_exceeded", "\(reply.body.prefix(300))")
        #expect(reply.errorMessage?.contains("30000000 bytes are at least") == true, "\(reply.body.prefix(300))")
        let tooBig = try server.post("/v1/completions", body: Data(("{\"prompt\": \"" + String(repeating: "x", count: 33 << 20) + "\"}").utf8))
        #expect(tooBig.status == 413, "\(tooBig.body.prefix(300))")
        #expect(try server.get("/health").status == 200)
    }

    /// A client sending its headers a byte at a time is closed at the header timeout, though the
    /// idle timeout is far off; a connection resting before its first request or between keep-alive
    /// requests follows the idle timeout and is served after the header timeout has long passed.
    @Test(.enabled(if: CommandLineTests.hasModel)) func headersHaveADeadlineOfTheirOwn() throws {
        let server = try LoopbackServer(arguments: ["-c", "256", "--header-timeout", "1", "--idle-timeout", "30"])
        defer { server.stop() }
        let health = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
        let fresh = try server.connect()
        defer { close(fresh) }
        let kept = try server.connect()
        defer { close(kept) }
        #expect(Self.sendText(health, to: kept) && Self.readReply(kept).contains("200 OK"))
        let slow = try server.connect()
        defer { close(slow) }
        let start = Date()
        var closedAfter: TimeInterval?
        for byte in ("GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + String(repeating: "a", count: 200)).utf8 {
            if !Self.isOpen(slow) || !Self.sendText(String(UnicodeScalar(byte)), to: slow) {
                closedAfter = Date().timeIntervalSince(start)
                break
            }
            usleep(100_000)
        }
        // Closed by the 1 s header deadline, long before the 30 s idle one would have.
        let after = try #require(closedAfter, "a client sending a header byte every 0.1 s was never closed")
        #expect(after < 15, "closed only after \(after) s")
        // Well past the header deadline, the resting connections are open and served.
        while Date().timeIntervalSince(start) < 3 { usleep(100_000) }
        #expect(Self.isOpen(fresh) && Self.isOpen(kept))
        #expect(Self.sendText(health, to: kept) && Self.readReply(kept).contains("200 OK"), "a keep-alive connection was closed between requests")
        #expect(Self.sendText(health, to: fresh) && Self.readReply(fresh).contains("200 OK"), "a connection was closed before its first request")
        let bad = try BoundedProcess.magi(["serve", "--header-timeout", "0"])
        #expect(bad.status != 0 && bad.stderr.contains("--header-timeout must be above 0"), "\(bad.stderr)")
    }

    static func sendText(_ text: String, to fd: Int32) -> Bool {
        text.withCString { Glibc.send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) } == text.utf8.count
    }

    /// False once the server closed `fd` (nothing is waiting to be read on a connection at rest).
    static func isOpen(_ fd: Int32) -> Bool {
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        return n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    }

    /// What the server sends on `fd` until a whole `/health` reply came (or 30 s passed).
    static func readReply(_ fd: Int32) -> String {
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        let end = Date().addingTimeInterval(30)
        while Date() < end && !String(decoding: data, as: UTF8.self).contains("\"ok\"") {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { break }
            if n > 0 { data.append(contentsOf: buffer[..<n]) }
        }
        return String(decoding: data, as: UTF8.self)
    }
}
