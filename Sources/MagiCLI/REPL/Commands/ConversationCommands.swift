import Foundation
import MagiChat

/// `/clear`, `/retry`, `/undo`, `/save`, `/load`, `/sessions` and `/context` (`/compact` is
/// ``ConversationDriver/compact()``).
extension ConversationDriver {
    /// `/clear`: a new conversation, autosaved under a new session name.
    mutating func clear() {
        endStatefulTools()
        conversation.clear()
        lastReasoning = ""
        if let store = session?.store {
            let name = store.unusedName()
            session?.name = name
            writeDimmed("conversation cleared; later turns autosave to the new session \(name)")
        } else {
            writeDimmed("conversation cleared")
        }
    }

    /// `/retry`: answers the last question again in place of its answer.
    mutating func retry() async {
        guard let last = conversation.exchanges.last else { report("nothing to retry"); return }
        await answer(last.question, retrying: true)
    }

    /// `/undo`: drops the last exchange.
    mutating func undo() {
        guard conversation.removeLast() != nil else { report("nothing to undo"); return }
        writeDimmed("last exchange dropped")
    }

    /// `/save NAME`: saves the conversation as `name`, where later turns autosave.
    mutating func save(as name: String) {
        do {
            let sessionName = try SessionName(name)
            var target = session ?? SessionSlot(store: .standard(), name: sessionName, model: backend.modelName)
            target.name = sessionName
            try target.save(conversation, cache: backend.cache)
            session = target
            writeDimmed("saved \(conversation.exchanges.count) exchanges as \(name); later turns autosave to it")
        } catch {
            report("\(error)")
        }
    }

    /// `/load NAME`: goes on with the saved session `name` (and its KV cache, when it fits).
    mutating func load(_ name: String) {
        do {
            let sessionName = try SessionName(name)
            var slot = session ?? SessionSlot(store: .standard(), name: sessionName, model: backend.modelName)
            let loaded = try slot.load(sessionName, cache: backend.cache)
            if let text = loaded.cacheNotice { notice(text) }
            endStatefulTools()
            conversation = loaded.conversation
            slot.name = sessionName
            session = slot
            let note = loaded.otherModel.map { " (saved with \($0), rendered in this model's format)" } ?? ""
            writeDimmed("loaded \(conversation.exchanges.count) exchanges from \(name)\(note)")
        } catch let error as ConversationFileError {
            report("\(name): \(error)")
        } catch {
            report("\(error)")
        }
    }

    /// `/sessions`: the saved sessions, newest first.
    mutating func listSessions() {
        do {
            let store = session?.store ?? .standard()
            let listings = try store.list()
            if listings.isEmpty { writeDimmed("no saved sessions in \(store.directory)") } else { write(Self.table(of: listings, current: session?.name)) }
        } catch {
            report("\(error)")
        }
    }

    /// `/sessions`' table: one line per session, newest first, the current one marked with `*`.
    static func table(of listings: [SessionListing], current: SessionName?) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        let width = listings.map(\.name.description.count).max() ?? 0
        return listings.map { listing in
            let size = listing.byteCount < 10_000 ? "\(listing.byteCount) B" : "\(listing.byteCount / 1000) kB"
            return (listing.name == current ? "* " : "  ") + listing.name.description.padding(toLength: width, withPad: " ", startingAt: 0)
                + "  " + formatter.string(from: listing.modified) + "  " + size
        }.joined(separator: "\n") + "\n"
    }

    /// `/context`: what the window holds, part by part, and what the KV cache keeps.
    mutating func showContext() {
        do {
            // Only what the window holds counts: the prompt as the next turn would fit it.
            let fit = try backend.fit(Conversation(messages: conversation.promptMessages, tools: offeredTools), maxTokens: settings.maxTokens)
            let messages = fit.conversation
            let usage = try ContextUsage(of: messages, contextSize: backend.contextSize, measure: backend.measure)
            let outside = conversation.leftOut + fit.reduction.droppedTurns
            let leftOut = outside > 0 ? "; \(outside) oldest exchanges left out (kept in the session)" : ""
            let cache = try backend.cacheReport(for: messages)
            write(usage.table + "\n")
            writeDimmed(cache + leftOut)
        } catch {
            report("\(error)")
        }
    }
}
