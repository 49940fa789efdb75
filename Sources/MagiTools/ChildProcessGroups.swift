import Foundation
import Synchronization

/// The process groups of the programs magi runs (plugins, MCP servers, the interpreter), so that
/// none outlives magi however it ends: every such program starts as the leader of a group of its
/// own, registers it here, and magi's exit and its signal handlers (SIGTERM, SIGHUP, SIGINT) call
/// ``killAll()``. The shared registry also tells ``ChildGuardian``, which kills the groups left
/// when magi is killed with SIGKILL.
///
/// ```swift
/// ChildProcessGroups.shared.register(pid)     // right after starting a group leader
/// ChildProcessGroups.shared.unregister(pid)   // once its group is known to be gone
/// ChildProcessGroups.shared.killAll()         // async-signal-safe
/// ```
///
/// The groups are kept in a fixed table of atomics, so ``killAll()`` may run in a signal handler.
public final class ChildProcessGroups: Sendable {
    /// The one registry of this process.
    public static let shared = ChildProcessGroups(guarded: true)

    /// How many groups can be registered at once.
    public static let capacity = 256
    private let slots: InlineArray<256, Atomic<Int32>>
    /// Whether the groups are also told to ``ChildGuardian``, which kills them when magi is gone.
    private let guarded: Bool

    /// A registry of its own (tests); magi uses ``shared``.
    init(guarded: Bool = false) {
        slots = InlineArray { _ in Atomic<Int32>(0) }
        self.guarded = guarded
    }

    /// Records the group `pgid` (the pid of a leader started with a group of its own).
    ///
    /// - Returns: false when the table is full; the group is then left to the caller alone.
    @discardableResult
    public func register(_ pgid: pid_t) -> Bool {
        precondition(pgid > 0, "a process group id is positive")
        if guarded { ChildGuardian.tell("+", pgid) }
        for index in 0..<Self.capacity where slots[index].compareExchange(expected: 0, desired: pgid, ordering: .acquiringAndReleasing).exchanged {
            return true
        }
        return false
    }

    /// Forgets the group `pgid`: its leader was reaped and its group killed.
    public func unregister(_ pgid: pid_t) {
        if guarded { ChildGuardian.tell("-", pgid) }
        for index in 0..<Self.capacity where slots[index].compareExchange(expected: pgid, desired: 0, ordering: .acquiringAndReleasing).exchanged {
            return
        }
    }

    /// Sends SIGKILL to every registered group and forgets them. Safe to call from a signal
    /// handler and more than once.
    public func killAll() {
        for index in 0..<Self.capacity {
            let pgid = slots[index].exchange(0, ordering: .acquiringAndReleasing)
            if pgid > 0 { kill(-pgid, SIGKILL) }
        }
    }

    /// The groups registered now, for tests and diagnostics.
    public var registered: [pid_t] {
        (0..<Self.capacity).compactMap { index in
            let pgid = slots[index].load(ordering: .acquiring)
            return pgid > 0 ? pgid : nil
        }
    }
}
