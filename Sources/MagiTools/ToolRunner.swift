import Foundation

/// Runs tool calls: checks the arguments against the tool's schema, then runs the tool under its
/// time limit, abandoning it when the limit passes or `shouldStop` says the user stopped the turn.
///
/// Every failure comes back as a ``ToolError`` in the result, never thrown: the agent loop hands it
/// to the model. A tool that ignores cancellation is left to finish in the background; the call
/// itself returns on time.
public struct ToolRunner: Sendable {
    public let registry: ToolRegistry
    /// How often `shouldStop` is polled while a tool runs.
    public var stopPollInterval: Duration = .milliseconds(50)

    public init(registry: ToolRegistry) {
        self.registry = registry
    }

    /// Runs the tool `name` on `arguments` (JSON text).
    public func run(_ name: String, arguments: String,
                    shouldStop: @escaping @Sendable () -> Bool = { false }) async -> Result<String, ToolError> {
        guard let tool = registry[name] else { return .failure(.unknownTool(name: name, known: registry.names)) }
        do {
            try ToolArgumentValidator(schema: tool.parametersSchema).validate(arguments)
        } catch {
            return .failure(error)
        }
        return await run(tool, arguments: arguments, shouldStop: shouldStop)
    }

    /// Runs `tool` on arguments already checked.
    public func run(_ tool: any Tool, arguments: String,
                    shouldStop: @escaping @Sendable () -> Bool = { false }) async -> Result<String, ToolError> {
        let outcome = FirstOutcome()
        let timeout = tool.timeout
        let poll = stopPollInterval
        return await withCheckedContinuation { continuation in
            outcome.setContinuation(continuation)
            let work = Task {
                do {
                    outcome.settle(.success(try await tool.run(arguments: arguments)))
                } catch let error as ToolError {
                    outcome.settle(.failure(error))
                } catch is CancellationError {
                    outcome.settle(.failure(.cancelled))
                } catch {
                    outcome.settle(.failure(.failed("\(error)")))
                }
            }
            let watch = Task {
                let clock = ContinuousClock()
                let deadline = clock.now.advanced(by: timeout)
                while !outcome.isSettled {
                    if shouldStop() { outcome.settle(.failure(.cancelled)); break }
                    if clock.now >= deadline {
                        let (seconds, attoseconds) = timeout.components
                        outcome.settle(.failure(.timedOut(seconds: Double(seconds) + Double(attoseconds) / 1e18)))
                        break
                    }
                    try? await Task.sleep(for: min(poll, deadline - clock.now))
                }
                work.cancel()
            }
            outcome.onSettle { watch.cancel() }
        }
    }
}

/// The first of several racing results, delivered once.
// Sendable by hand: every mutable field is guarded by `lock`.
private final class FirstOutcome: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<Result<String, ToolError>, Never>?
    private var result: Result<String, ToolError>?
    private var settleAction: (() -> Void)?

    var isSettled: Bool { lock.withLock { result != nil } }

    func setContinuation(_ c: CheckedContinuation<Result<String, ToolError>, Never>) {
        lock.withLock { continuation = c }
    }

    func onSettle(_ action: @escaping () -> Void) {
        let settled = lock.withLock { () -> Bool in
            if result != nil { return true }
            settleAction = action
            return false
        }
        if settled { action() }
    }

    func settle(_ r: Result<String, ToolError>) {
        let (c, action) = lock.withLock { () -> (CheckedContinuation<Result<String, ToolError>, Never>?, (() -> Void)?) in
            guard result == nil else { return (nil, nil) }
            result = r
            defer { continuation = nil; settleAction = nil }
            return (continuation, settleAction)
        }
        c?.resume(returning: r)
        action?()
    }
}
