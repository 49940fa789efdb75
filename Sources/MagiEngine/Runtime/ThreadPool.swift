#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A persistent pool of worker threads for the forward pass.
///
/// `run` hands the same body to every thread (the caller is thread 0) and returns when all are
/// done. Workers spin briefly between jobs, since a decode step issues a few hundred short jobs,
/// then sleep on a condition variable so an idle REPL costs no CPU.
// Sendable by hand: `job` and the thread list are guarded by `mutex`; the counters are atomics.
public final class ThreadPool: @unchecked Sendable {
    /// Threads that take part in a job, the caller included.
    public let threadCount: Int

    private let generation = Atomic<Int>(0)
    private let unfinished = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private var job: ((Int) -> Void)?
    private var mutex = pthread_mutex_t()
    private var wake = pthread_cond_t()
    private var threads: [pthread_t] = []
    private static let spinIterations = 200_000

    public init(threadCount: Int) {
        self.threadCount = max(1, threadCount)
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&wake, nil)
        for index in 1..<self.threadCount {
            let box = Unmanaged.passRetained(WorkerStart(pool: self, index: index))
            var thread = pthread_t()
            let rc = pthread_create(&thread, nil, { raw in
                let start = Unmanaged<WorkerStart>.fromOpaque(raw!).takeRetainedValue()
                start.pool.workerLoop(index: start.index)
                return nil
            }, box.toOpaque())
            precondition(rc == 0, "pthread_create failed: \(rc)")
            threads.append(thread)
        }
    }

    deinit {
        stopping.store(true, ordering: .releasing)
        pthread_mutex_lock(&mutex)
        generation.add(1, ordering: .releasing)
        pthread_cond_broadcast(&wake)
        pthread_mutex_unlock(&mutex)
        for t in threads { pthread_join(t, nil) }
        pthread_cond_destroy(&wake)
        pthread_mutex_destroy(&mutex)
    }

    /// Runs `body(threadIndex)` on every thread of the pool and waits for all of them.
    public func run(_ body: (Int) -> Void) {
        if threadCount == 1 { body(0); return }
        withoutActuallyEscaping(body) { escaping in
            job = escaping
            unfinished.store(threadCount - 1, ordering: .relaxed)
            pthread_mutex_lock(&mutex)
            generation.add(1, ordering: .releasing)
            pthread_cond_broadcast(&wake)
            pthread_mutex_unlock(&mutex)
            escaping(0)
            var spins = 0
            while unfinished.load(ordering: .acquiring) > 0 {
                spins += 1
                // Yield now and then: when other processes hold the cores, the worker we wait
                // for may need this one.
                if spins & 1023 == 0 { sched_yield() } else { spinPause() }
            }
            job = nil
        }
    }

    /// Splits `0..<count` into one contiguous range per thread and runs `body` on each.
    public func parallelFor(_ count: Int, _ body: (Range<Int>) -> Void) {
        if threadCount == 1 || count < 2 { body(0..<count); return }
        let n = threadCount
        run { index in
            let lower = count * index / n, upper = count * (index + 1) / n
            if lower < upper { body(lower..<upper) }
        }
    }

    private func workerLoop(index: Int) {
        var seen = 0
        while true {
            var spins = 0
            var current = generation.load(ordering: .acquiring)
            while current == seen {
                if spins < Self.spinIterations {
                    spins += 1
                    if spins & 1023 == 0 { sched_yield() } else { spinPause() }
                } else {
                    pthread_mutex_lock(&mutex)
                    while generation.load(ordering: .acquiring) == seen { pthread_cond_wait(&wake, &mutex) }
                    pthread_mutex_unlock(&mutex)
                }
                current = generation.load(ordering: .acquiring)
            }
            seen = current
            if stopping.load(ordering: .acquiring) { return }
            job?(index)
            unfinished.subtract(1, ordering: .releasing)
        }
    }

    /// An opaque call between polls, so the optimiser cannot fold the spin loop.
    @inline(never) private func spinPause() {}
}

private final class WorkerStart {
    let pool: ThreadPool
    let index: Int
    init(pool: ThreadPool, index: Int) { self.pool = pool; self.index = index }
}
