import Foundation
import MagiJSON
import Testing

/// config.toml, the MAGI_ variables and the flags, as the `magi` executable layers them.
@Suite(.serialized) struct ConfigTests {
    static var defaultModel: String { CommandLineTests.magiHome + "/models/SmolLM2-135M-Instruct.Q4_1.gguf" }

    /// A temporary XDG_CONFIG_HOME whose magi/config.toml holds `text` (none when nil).
    final class ConfigHome {
        let path = NSTemporaryDirectory() + "magi-config-\(UUID().uuidString)"
        var file: String { path + "/magi/config.toml" }

        init(_ text: String?) throws {
            try FileManager.default.createDirectory(atPath: path + "/magi", withIntermediateDirectories: true)
            try text?.write(toFile: file, atomically: true, encoding: .utf8)
        }

        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    /// Runs magi with `home` as XDG_CONFIG_HOME and `environment`.
    func magi(_ arguments: [String], home: ConfigHome, environment: [String: String] = [:], stdin: String? = nil) throws -> CommandLineTests.Outcome {
        try CommandLineTests().magi(arguments, stdin: stdin, environment: ["XDG_CONFIG_HOME": home.path].merging(environment) { $1 })
    }

    /// `magi config --json`'s settings: NAME → (value, source).
    func settings(_ arguments: [String] = [], home: ConfigHome, environment: [String: String] = [:]) throws -> [String: (value: JSONValue, source: String)] {
        let r = try magi(["config", "--json"] + arguments, home: home, environment: environment)
        #expect(r.status == 0, "\(r.stderr)")
        let object = try JSONValue(parsing: r.stdout)
        #expect(object["path"]?.string == home.file)
        guard case .object(let members)? = object["settings"] else { return [:] }
        return Dictionary(uniqueKeysWithValues: members.map { ($0.key, ($0.value["value"] ?? .null, $0.value["source"]?.string ?? "")) })
    }

    @Test func showsWhereEachSettingComesFrom() throws {
        let home = try ConfigHome("""
            # magi
            context = 2048
            system = "You are terse."

            [sampling]
            temperature = 0.7
            seed = 42

            [tools]
            enabled = ["web_search"]
            mcp_config = "~/servers.json"

            [display]
            theme = "light"
            """)
        let s = try settings(["--temp", "0.2", "--color", "never"], home: home, environment: ["MAGI_CONTEXT": "1024", "MAGI_THINK": "shown"])
        #expect(s["context"]?.value == .number("1024") && s["context"]?.source == "MAGI_CONTEXT")
        #expect(s["system"]?.value == .string("You are terse.") && s["system"]?.source == "config.toml:3")
        #expect(s["think"]?.value == .string("shown") && s["think"]?.source == "MAGI_THINK")
        #expect(s["sampling.temperature"]?.value == .number("0.2") && s["sampling.temperature"]?.source == "--temp")
        #expect(s["sampling.seed"]?.value == .number("42") && s["sampling.seed"]?.source == "config.toml:7")
        #expect(s["sampling.top_k"]?.value == .null && s["sampling.top_k"]?.source == "default")
        #expect(s["tools.enabled"]?.value == .array([.string("web_search")]) && s["tools.enabled"]?.source == "config.toml:10")
        #expect(s["tools.mcp_config"]?.value == .array([.string(NSHomeDirectory() + "/servers.json")]))
        #expect(s["display.theme"]?.value == .string("light") && s["display.theme"]?.source == "config.toml:14")
        #expect(s["display.color"]?.value == .string("never") && s["display.color"]?.source == "--color")
        #expect(s["model"]?.value == .string(Self.defaultModel) && s["model"]?.source == "default")

        // For people: one aligned line per setting, its source last.
        let text = try magi(["config", "--temp", "0.2"], home: home)
        #expect(text.status == 0, "\(text.stderr)")
        let lines = text.stdout.split(separator: "\n")
        #expect(lines.first.map(String.init) == "# " + home.file)
        let temperature = lines.first { $0.hasPrefix("sampling.temperature ") }
        let seed = lines.first { $0.hasPrefix("sampling.seed ") }
        #expect(temperature?.hasSuffix("  --temp") == true && seed?.hasSuffix("  config.toml:7") == true, "\(text.stdout)")
        #expect(temperature.map { $0.count - "--temp".count } == seed.map { $0.count - "config.toml:7".count }, "sources are aligned")

        let path = try magi(["config", "--path"], home: home, environment: ["MAGI_CONFIG": "~/elsewhere.toml"])
        #expect(path.status != 0 && path.stderr.contains("MAGI_CONFIG: no such file " + NSHomeDirectory() + "/elsewhere.toml"))
        #expect(try magi(["config", "--path"], home: home).stdout == home.file + "\n")
    }

    @Test func aMissingFileLeavesTheDefaults() throws {
        let home = try ConfigHome(nil)
        let s = try settings(home: home)
        #expect(s["think"]?.value == .string("hidden") && s["think"]?.source == "default")
        #expect(s["display.color"]?.value == .string("auto") && s["tools.search_provider"]?.value == .string("duckduckgo"))
        #expect(try magi(["config"], home: home).stdout.hasPrefix("# \(home.file) (no such file)\n"))
    }

    @Test(arguments: [
        ("context = 4096\n[sampling]\ntemperature = \"hot\"\n", "config.toml:3: sampling.temperature must be a number, not a string"),
        ("[sampling]\ntemprature = 0.7\n", "config.toml:2: unknown key sampling.temprature (did you mean sampling.temperature?)"),
        ("temperature = 0.7\n", "config.toml:1: unknown key temperature (did you mean sampling.temperature?)"),
        ("model = \"x\"\n\nsystem = \"unclosed\n", "config.toml:3:10: the string has no closing quote"),
        ("think = \"loud\"\n", "config.toml:1: think must be hidden, shown or off, not \"loud\""),
        ("[sampling]\ntop_p = 1.5\n", "config.toml:2: sampling.top_p must be between 0 and 1, not 1.5"),
        ("[tools]\nenabled = \"web_search\"\n", "config.toml:2: tools.enabled must be an array of strings, not a string"),
        ("sampling = 3\n", "config.toml:1: sampling must be a table ([sampling]), not an integer"),
    ])
    func aBrokenFileStopsEveryCommandThatUsesIt(text: String, message: String) throws {
        let home = try ConfigHome(text)
        for arguments in [["config"], ["-p", "hi"], ["tools"], ["render", "-"]] {
            let r = try magi(arguments, home: home, stdin: "# x\n")
            #expect(r.status == 1, "\(arguments): \(r.stderr)")
            #expect(r.stdout.isEmpty)
            #expect(r.stderr == "Error: \(home.path)/magi/\(message)\n")
        }
        // What the flags settle does not read the file.
        let render = try magi(["render", "--color", "never", "--theme", "dark", "-"], home: home, stdin: "# Title\n")
        #expect(render.status == 0 && render.stdout.contains("Title"), "\(render.stderr)")
    }

    @Test func badVariablesAreErrorsToo() throws {
        let home = try ConfigHome(nil)
        let r = try magi(["-p", "hi"], home: home, environment: ["MAGI_CONTEXT": "lots"])
        #expect(r.status == 1 && r.stderr == "Error: MAGI_CONTEXT must be a whole number between 8 and 1048576, not 'lots'\n")
        let t = try magi(["config"], home: home, environment: ["MAGI_TEMPERATURE": "-1"])
        #expect(t.status == 1 && t.stderr.contains("MAGI_TEMPERATURE"))
    }

    @Test func modelsResolveThroughAliases() throws {
        let home = try ConfigHome("""
            model = "gone"
            [aliases]
            tiny = "\(Self.defaultModel)"
            gone = "/nonexistent/gone.gguf"
            """)
        let s = try settings(["-m", "tiny"], home: home)
        #expect(s["model"]?.value == .string(Self.defaultModel) && s["model"]?.source == "-m")
        #expect(try settings(home: home)["model"]?.source == "config.toml:1")
        #expect(try settings(home: home, environment: ["MAGI_MODEL": "tiny"])["model"]?.source == "MAGI_MODEL")
        #expect(try magi(["config", "-m", "tiny"], home: home).stdout.contains("(alias tiny)"))

        let missing = try magi(["-p", "hi"], home: home)
        #expect(missing.status == 1 && missing.stderr.contains("/nonexistent/gone.gguf") && missing.stderr.contains("config.toml:1"), "\(missing.stderr)")
        if CommandLineTests.hasModel {
            let r = try magi(["-m", "tiny", "-p", "Hi", "-n", "4", "--temp", "0"], home: home)
            #expect(r.status == 0 && !r.stdout.isEmpty, "\(r.stderr)")
        }
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func samplingFromTheFileMatchesTheFlags() throws {
        let prompt = ["-p", "Write a haiku about the sea."]
        let configured = try ConfigHome("[sampling]\ntemperature = 0.9\nseed = 7\nmax_tokens = 24\n")
        let fromFile = try magi(prompt, home: configured)
        let fromFlags = try magi(prompt + ["--temp", "0.9", "--seed", "7", "-n", "24"], home: try ConfigHome(nil))
        #expect(fromFile.status == 0 && !fromFile.stdout.isEmpty, "\(fromFile.stderr)")
        #expect(fromFile.stdout == fromFlags.stdout)
        // A flag still wins: greedy differs from this sample.
        let greedy = try magi(prompt + ["--temp", "0"], home: configured)
        let greedyUnconfigured = try magi(prompt + ["--temp", "0", "-n", "24"], home: try ConfigHome(nil))
        #expect(greedy.stdout == greedyUnconfigured.stdout)
    }
}
