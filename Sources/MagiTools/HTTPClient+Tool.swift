import MagiHTTP

extension HTTPClient {
    /// `get` for a tool: cancellation stays cancellation, any other failure becomes a result the
    /// model can read, prefixed with `source` (the URL or the provider).
    func getForTool(_ request: HTTPRequest, source: String) async throws(ToolError) -> HTTPResponse {
        do {
            return try await get(request)
        } catch .cancelled {
            throw .cancelled
        } catch {
            throw .failed("\(source): \(error)")
        }
    }
}
