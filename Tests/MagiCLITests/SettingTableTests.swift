import Foundation
import MagiEngine
import MagiJSON
import Testing

/// Every sampling setting walked through each way a user sets it — its flag, config.toml, `/set` in
/// a script, `magi config` and an HTTP request to `magi serve` — finds the same range and default,
/// the ones ``SamplingSetting``'s table states.
@Suite(.serialized) struct SettingTableTests {
    /// Values on and just past each end of the setting's range, with whether the setting takes them.
    static func probes(_ s: SamplingSetting) -> [(value: Double, accepted: Bool)] {
        let r = s.range
        var probes: [(Double, Bool)] = [(r.highest, true), (r.highest + 1, false), (r.lowest - 1, false), (r.lowest, !r.excludesLowest)]
        if r.excludesLowest { probes.append((r.lowest + 0.5, true)) }
        if s.isWholeNumber { probes.append((r.lowest + 1.5, false)) }
        return probes
    }

    static func text(_ v: Double) -> String { SamplingSetting.format(v) }

    @Test func flagsAndConfigFilesTakeTheSameValues() throws {
        let home = try ConfigTests.ConfigHome(nil)
        let config = ConfigTests()
        for setting in SamplingSetting.allCases {
            for (value, accepted) in Self.probes(setting) {
                try? FileManager.default.removeItem(atPath: home.file)
                let flag = try config.magi(["config", "--json", "--\(setting.flag)=\(Self.text(value))"], home: home)
                try "[sampling]\n\(setting.name) = \(Self.text(value))\n".write(toFile: home.file, atomically: true, encoding: .utf8)
                let file = try config.magi(["config", "--json"], home: home)
                if accepted {
                    #expect(flag.status == 0 && file.status == 0, "\(setting.name) \(value): \(flag.stderr)\(file.stderr)")
                    for (run, source) in [(flag, "--" + setting.flag), (file, "config.toml:2")] {
                        let shown = try JSONValue(parsing: run.stdout)["settings"]?["sampling." + setting.name]
                        #expect(shown?["value"]?.number == value && shown?["source"]?.string == source, "\(setting.name) \(value): \(run.stdout)")
                    }
                } else {
                    #expect(flag.status != 0 && flag.stderr.contains("--\(setting.flag) must be \(setting.requirement)"), "\(setting.name) \(value): \(flag.stderr)")
                    #expect(file.status != 0 && file.stderr.contains("sampling.\(setting.name) must be \(setting.requirement)"), "\(setting.name) \(value): \(file.stderr)")
                }
            }
        }
        // Unset, `magi config` names the table's default.
        try "".write(toFile: home.file, atomically: true, encoding: .utf8)
        let defaults = try config.magi(["config"], home: home)
        for setting in SamplingSetting.allCases {
            let line = defaults.stdout.split(separator: "\n").first { $0.hasPrefix("sampling.\(setting.name) ") }
            #expect(line?.contains("else \(Self.text(setting.defaultValue)))") == true, "\(line ?? "")")
        }
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func setInAScriptTakesTheSameValuesAndShowsTheSameDefaults() throws {
        let (home, environment) = try ScriptModeTests.environment()
        defer { try? FileManager.default.removeItem(atPath: home) }
        var lines = ["/show params"], expected: [(SamplingSetting, Double, Bool)] = []
        for setting in SamplingSetting.allCases {
            for (value, accepted) in Self.probes(setting) {
                lines.append("/set \(setting.name) \(Self.text(value))")
                expected.append((setting, value, accepted))
            }
        }
        let script = try ScriptModeTests.write(lines.joined(separator: "\n") + "\n", in: home)
        let run = try CommandLineTests().magi(["--script", script, "--keep-going"], environment: environment)
        // The default model's card recommends nothing: /show params lists the table's defaults.
        for setting in SamplingSetting.allCases {
            #expect(run.stdout.contains("\n\(setting.name) \(Self.text(setting.defaultValue))\n") || run.stdout.hasPrefix("\(setting.name) \(Self.text(setting.defaultValue))\n"),
                    "\(setting.name): \(run.stdout)")
        }
        for (setting, value, accepted) in expected {
            let said = "\(setting.name) is now \(Self.text(value))\n"
            let refused = "invalid \(setting.name) \(Self.text(value)): expected \(setting.requirement)"
            #expect(run.stdout.contains(said) == accepted && run.stderr.contains(refused) == !accepted,
                    "\(setting.name) \(value):\n\(run.stdout)\n\(run.stderr)")
        }
    }

    @Test(.enabled(if: CommandLineTests.hasModel)) func theServerTakesTheSameValuesAndStartsFromTheSameDefaults() throws {
        let server = try LoopbackServer(arguments: [])
        defer { server.stop() }
        func complete(_ extra: [String: Any]) throws -> LoopbackServer.Reply {
            try server.post("/v1/completions", json: ["prompt": "The sea is", "max_tokens": 4].merging(extra) { $1 })
        }
        for setting in SamplingSetting.allCases {
            for (value, accepted) in Self.probes(setting) {
                let reply = try complete([setting.name: value])
                if accepted {
                    #expect(reply.status == 200, "\(setting.name) \(value): \(reply.body)")
                } else {
                    // A fraction where a whole number belongs fails the JSON type check first.
                    let message = setting.isWholeNumber && value != value.rounded()
                        ? "'\(setting.name)' must be an integer, not a number" : "'\(setting.name)' must be \(setting.requirement)"
                    #expect(reply.status == 400 && reply.errorParam == setting.name && reply.errorMessage == message, "\(setting.name) \(value): \(reply.body)")
                }
            }
        }
        // Every setting sent at its table default answers as a request that sends none.
        let defaults = Dictionary(uniqueKeysWithValues: SamplingSetting.allCases.map { ($0.name, $0.defaultValue as Any) })
        let plain = try complete([:]), explicit = try complete(defaults)
        #expect(plain.status == 200 && explicit.status == 200)
        let text = { (r: LoopbackServer.Reply) in ((r.json?["choices"] as? [[String: Any]])?.first?["text"] as? String) }
        #expect(text(plain) != nil && text(plain) == text(explicit), "\(plain.body) \(explicit.body)")
    }
}
