import Foundation
import MagiChat

/// `/model NAME` and `/image PATH`.
extension ConversationDriver {
    /// `/model NAME`: another model file or alias (local), or another model on the server (remote);
    /// the conversation goes on in its chat format.
    mutating func switchModel(to name: String) {
        do {
            let change = try backend.switched(to: name, contextSize: settings.contextSize, system: conversation.system) { [input] local in
                if case .terminal = input { LoadProgress.readIn(local) }
            }
            for text in change.notices { notice(text) }
            backend = change.backend
            if let window = change.window { settings.contextSize = window }
            session?.model = backend.modelName
            writeDimmed(change.confirmation)
        } catch {
            report("\(error)")
        }
    }

    /// `/image PATH`: attaches an image to the next message, when the model takes images.
    mutating func attachImage(_ path: String) {
        guard FileManager.default.fileExists(atPath: UserFolders().expandingTilde(path)) else { report("\(path): no such file"); return }
        if let refusal = backend.imageRefusal {
            report("\(refusal) \(path)")
            return
        }
        do {
            pendingImages.append(try ImageAttachment(path: path))
            writeDimmed("\(path) goes with the next message (\(pendingImages.count) attached)")
        } catch {
            report("\(error)")
        }
    }
}
