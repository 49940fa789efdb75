/// Runs one generation at a time on the single engine; the others wait their turn in arrival order.
actor EngineQueue {
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    /// Runs `work` once the engine is free, holding it until `work` ends however it ends. `work`
    /// runs in the caller's context; only taking and giving back the engine is the actor's.
    nonisolated func run<T>(_ work: () async throws -> T) async rethrows -> T {
        await acquire()
        do {
            let value = try await work()
            await release()
            return value
        } catch {
            await release()
            throw error
        }
    }

    private func acquire() async {
        if busy {
            await withCheckedContinuation { waiting.append($0) }
        } else {
            busy = true
        }
    }

    private func release() {
        if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
    }
}
