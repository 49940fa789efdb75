import ArgumentParser
import MagiEngine

/// The KV cache's type: `--cache-type`, or llama.cpp's `-ctk` / `-ctv` (magi stores keys and values
/// in one type, so the two must agree). One description for `magi`, `serve`, `bench` and `perplexity`.
struct CacheTypeOptions: ParsableArguments {
    @Option(name: .customLong("cache-type"), help: "KV cache precision: f16 (the default), f32 (exact to float rounding) or q8_0 (8 bits in blocks of 32: 53% of f16's memory).")
    var both: KVCacheType?
    @Option(name: [.customLong("cache-type-k"), .customLong("ctk", withSingleDash: true)], help: "llama.cpp's name for the keys' cache type (the same as --cache-type; it must match -ctv).")
    var keys: KVCacheType?
    @Option(name: [.customLong("cache-type-v"), .customLong("ctv", withSingleDash: true)], help: "llama.cpp's name for the values' cache type (the same as --cache-type; it must match -ctk).")
    var values: KVCacheType?

    func validate() throws {
        let asked = Set([both, keys, values].compactMap { $0 })
        if asked.count > 1 {
            throw ValidationError("magi stores keys and values in one type: --cache-type, -ctk and -ctv must agree (got \(asked.map(\.rawValue).sorted().joined(separator: ", ")))")
        }
    }

    /// The type asked for, f16 by default.
    var type: KVCacheType { both ?? keys ?? values ?? .f16 }

    /// ``type`` for `model`, whose heads it must be able to store.
    ///
    /// - Throws: ``CLIError`` when 8-bit rows cannot hold the model's head size.
    func type(for model: any LanguageModel) throws -> KVCacheType {
        let c = model.shape
        guard type.canStore(width: c.headSize) && type.canStore(width: c.valueSize) else {
            throw CLIError("--cache-type \(type.rawValue) stores heads in blocks of 32 values; this model's heads have \(c.headSize)")
        }
        return type
    }
}
