// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "magi",
    products: [
        .executable(name: "magi", targets: ["MagiCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // `magi serve`: the OpenAI-compatible HTTP server.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0", traits: []),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        // `magi serve`'s header-read deadline: NIO channel handlers beside Hummingbird's.
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.25.0"),
        // MCP servers: the official SDK's client (protocol) over magi's own transports.
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk", from: "0.12.1"),
    ],
    targets: [
        // System-library shims (module maps only).
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CEdit", pkgConfig: "libedit", providers: [.apt(["libedit-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CCmark", providers: [.apt(["libcmark-gfm-dev", "libcmark-gfm-extensions-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),

        // SIMD kernels for every GGUF tensor type, with runtime CPU dispatch.
        .target(
            name: "MagiKernels",
            cSettings: [.unsafeFlags(["-O3", "-fno-math-errno"])]
        ),
        .target(name: "MagiTokenizer"),
        // JSON values that keep key order: tool schemas, call arguments, JSON Schema grammars.
        .target(name: "MagiJSON"),
        // JSON Schema read once: compiled to GBNF text for grammars, and used to validate tool arguments.
        .target(name: "MagiSchema", dependencies: ["MagiJSON"]),
        .target(name: "MagiEngine", dependencies: ["MagiKernels", "MagiTokenizer", "CBLAS"]),
        // HTTP over libcurl: the web tools' requests and the remote backend's streamed chats.
        .target(name: "MagiHTTP", dependencies: ["CCurl"]),
        .target(name: "MagiChat", dependencies: ["MagiEngine", "MagiTokenizer", "MagiJSON", "MagiHTTP"]),
        // Tools the model calls: web search and fetch, a sandboxed interpreter, plugins, MCP servers.
        .target(name: "MagiTools", dependencies: [
            "MagiHTTP", "MagiJSON", "MagiSchema", .product(name: "MCP", package: "swift-sdk"), .product(name: "Logging", package: "swift-log"),
        ]),
        // The chat turn: prompt tokens, generation under a constraint, tool-call grammars, the agent loop.
        .target(name: "MagiAgent", dependencies: ["MagiChat", "MagiEngine", "MagiTokenizer", "MagiSchema", "MagiTools", "MagiJSON"]),
        // Streaming Markdown and LaTeX to ANSI for the terminal.
        .target(name: "MagiRender", dependencies: ["CCmark"]),
        .executableTarget(
            name: "MagiCLI",
            dependencies: [
                "MagiEngine", "MagiTokenizer", "MagiChat", "MagiAgent", "MagiRender", "MagiSchema", "MagiTools", "CEdit", "CPNG",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ]
        ),

        .testTarget(name: "MagiKernelsTests", dependencies: ["MagiKernels"], exclude: ["Fixtures"]),
        .testTarget(name: "MagiJSONTests", dependencies: ["MagiJSON"]),
        .testTarget(name: "MagiTokenizerTests", dependencies: ["MagiTokenizer", "MagiEngine"], exclude: ["Fixtures"]),
        .testTarget(name: "MagiEngineTests", dependencies: ["MagiEngine", "MagiKernels", "MagiTokenizer", "MagiSchema", "MagiJSON"], exclude: ["Fixtures"]),
        .testTarget(name: "MagiSchemaTests", dependencies: ["MagiSchema", "MagiJSON", "MagiEngine"]),
        .testTarget(name: "MagiChatTests", dependencies: ["MagiChat"], exclude: ["Fixtures"]),
        .testTarget(name: "MagiRenderTests", dependencies: ["MagiRender"]),
        .testTarget(name: "MagiToolsTests", dependencies: ["MagiTools"], exclude: ["Fixtures"]),
        .testTarget(name: "MagiAgentTests", dependencies: ["MagiAgent", "MagiChat", "MagiEngine", "MagiTools", "MagiJSON"]),
        .testTarget(name: "MagiCLITests", dependencies: ["MagiCLI", "MagiAgent"], exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v6]
)
