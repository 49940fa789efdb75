import Foundation
import Testing

/// magi finds the user's folders as every Unix tool does (`$HOME` first, then the XDG variables),
/// reads paths relative to the folder it was started from, and takes `--json-schema` as JSON or a file.
@Suite(.serialized) struct UnixMannersTests {
    let cli = CommandLineTests()

    /// The home of the password database: where magi wrote before it read `$HOME`.
    static var passwordHome: String { String(cString: getpwuid(getuid())!.pointee.pw_dir) }

    /// Every file and folder under the places magi writes in `home`, with sizes and change times.
    static func listing(of home: String) -> [String] {
        var lines: [String] = []
        for top in [".config/magi", ".local/share/magi", ".local/state/magi"] {
            let root = home + "/" + top
            guard let walker = FileManager.default.enumerator(atPath: root) else { continue }
            while let path = walker.nextObject() as? String {
                let attributes = try? FileManager.default.attributesOfItem(atPath: root + "/" + path)
                lines.append("\(top)/\(path) \(attributes?[.size] ?? 0) \(attributes?[.modificationDate] ?? "")")
            }
        }
        return lines.sorted()
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func homeComesFromTheEnvironmentNotThePasswordDatabase() throws {
        let home = try REPLTerminalTests.makeHome()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let before = Self.listing(of: Self.passwordHome)
        // No XDG variable (an empty one counts as unset): every folder derives from HOME. The model
        // comes from MAGI_HOME.
        var variables = ["HOME": home, "MAGI_HOME": CommandLineTests.magiHome]
        for key in ["XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"] { variables[key] = "" }
        let script = try ScriptModeTests.write("Say hello.\n/save manners\n", in: home)
        let run = try cli.magi(["--script", script, "-n", "8"], environment: variables)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: home + "/.local/share/magi/sessions/manners.json"), "\(run.stderr)")
        let config = try cli.magi(["config", "--path"], environment: variables)
        #expect(config.stdout == home + "/.config/magi/config.toml\n")
        // A relative XDG variable is ignored, as the specification says.
        let relative = try cli.magi(["config", "--path"], environment: variables.merging(["XDG_CONFIG_HOME": "relative/config"]) { $1 })
        #expect(relative.stdout == home + "/.config/magi/config.toml\n")
        let absolute = try cli.magi(["config", "--path"], environment: variables.merging(["XDG_CONFIG_HOME": home + "/xdg"]) { $1 })
        #expect(absolute.stdout == home + "/xdg/magi/config.toml\n")
        if Self.passwordHome != home {
            #expect(Self.listing(of: Self.passwordHome) == before, "magi wrote into the password database's home")
        }
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func jsonSchemaTakesJSONTextOrAFilePath() throws {
        let folder = try REPLTerminalTests.makeHome()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let schema = #"{"type":"object","properties":{"city":{"type":"string","maxLength":20}},"required":["city"]}"#
        try schema.write(toFile: folder + "/city.json", atomically: true, encoding: .utf8)
        let inline = try cli.magi(["--json-schema", schema, "-p", "Capital of France?", "-n", "48"])
        let relative = try cli.magi(["--json-schema", "city.json", "-p", "Capital of France?", "-n", "48"], currentDirectory: folder)
        #expect(inline.status == 0, "\(inline.stderr)")
        #expect(relative.status == 0, "\(relative.stderr)")
        #expect(relative.stdout == inline.stdout)
        let object = try JSONSerialization.jsonObject(with: Data(relative.stdout.utf8)) as? [String: Any]
        #expect(object?["city"] is String)
        let missing = try cli.magi(["--json-schema", "nowhere.json", "-p", "x"], currentDirectory: folder)
        #expect(missing.status != 0)
        #expect(missing.stderr.split(separator: "\n").count == 1 && missing.stderr.contains("nowhere.json"), "\(missing.stderr)")
    }
}
