/// A tool that keeps state between calls for the length of a conversation (the `python`
/// interpreter): `/tool restart NAME` restarts it, and a new conversation, `/load` or leaving magi ends it.
public protocol StatefulTool: Tool {
    /// Drops the state; the next call starts afresh and says that earlier state is gone.
    /// Returns a line for the user.
    func restart() -> String
    /// Ends what runs for the tool and removes what it left on the host; a later call starts afresh.
    func end()
}
