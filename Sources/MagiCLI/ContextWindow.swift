import Foundation
import MagiChat
import MagiEngine

/// How many tokens the context window holds: `-c` (or the config) when given, else the model's
/// trained length, at most what its card vouches for (Magistral: 40k of its 128k) or 4096 when the
/// card says nothing — and never more than the KV cache can take from memory beside the weights.
struct ContextWindow: Equatable {
    var size: Int
    /// What the user should know about the choice, one line each.
    var notices: [String] = []

    /// Memory left free beside the weights and the cache, for everything else magi holds.
    static let reserve = 1 << 30

    init(size: Int, notices: [String] = []) {
        self.size = size
        self.notices = notices
    }

    init(requested: Int?, model: any LanguageModel, recommended: RecommendedSettings?, cacheType: KVCacheType,
         physicalMemory: Int = Int(ProcessInfo.processInfo.physicalMemory)) {
        let c = model.shape
        let bytesPerToken = c.kvCacheBytesPerToken(cacheType)
        let memoryCap = max(256, (physicalMemory - model.weightBytes - Self.reserve) / max(1, bytesPerToken))
        let qualityLimit = recommended?.contextQualityLimit
        var notices: [String] = []
        var size = requested ?? min(c.contextLength, qualityLimit ?? 4096)
        if let requested {
            if requested > c.contextLength {
                notices.append("-c \(requested) is beyond the \(c.contextLength) tokens the model was trained on; expect worse answers past them")
            } else if let qualityLimit, let card = recommended?.model, requested > qualityLimit {
                notices.append("\(card)'s model card advises at most \(qualityLimit) tokens of context: quality drops past them")
            }
        }
        if size > memoryCap {
            let gigabytes = String(format: "%.1f", Double(size) * Double(bytesPerToken) / 1e9)
            notices.append("context capped at \(memoryCap) tokens: a KV cache for \(size) (\(gigabytes) GB) would not fit in memory beside the weights")
            size = memoryCap
        }
        self.init(size: size, notices: notices)
    }
}
