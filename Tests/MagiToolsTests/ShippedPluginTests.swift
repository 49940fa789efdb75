import Foundation
import MagiTools
import Testing

/// The shipped `units` and `sqlite` plugins, run through magi's plugin machinery as the model would.
@Suite struct ShippedPluginTests {
    static let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../plugins").standardized.path

    static let runner: ToolRunner = {
        let (tools, problems) = PluginLoader.discover(in: [shipped])
        precondition(problems.isEmpty, "\(problems)")
        return ToolRunner(registry: ToolRegistry(tools))
    }()

    /// JSON text of a string.
    static func quoted(_ text: String) -> String {
        String(decoding: try! JSONEncoder().encode(text), as: UTF8.self)
    }

    /// Converts `value` (JSON number text, passed as written) from one unit to another.
    static func convert(_ value: String, _ from: String, _ to: String) async -> Result<String, ToolError> {
        await runner.run("units", arguments: #"{"value": \#(value), "from": \#(quoted(from)), "to": \#(quoted(to))}"#)
    }

    /// The number in a result such as "1 m ≈ 3.28083989501312 ft (exactly 1250/381)".
    static func number(in result: String) -> Double? {
        let words = result.split(separator: "\n")[0].split(separator: " ")
        guard let sign = words.firstIndex(where: { $0 == "=" || $0 == "≈" }), sign + 1 < words.count else { return nil }
        return Double(words[sign + 1])
    }

    // MARK: units

    @Test func theUnitsPluginIsLoaded() {
        #expect(Self.runner.registry["units"]?.access == [])
        #expect(Self.runner.registry["sqlite"]?.access == .files)
    }

    @Test func exactConversions() async {
        #expect(await Self.convert("1", "mile", "m") == .success("1 mi = 1609.344 m"))
        #expect(await Self.convert("100", "°C", "°F") == .success("100 °C = 212 °F"))
        #expect(await Self.convert("1", "KiB", "B") == .success("1 KiB = 1024 B"))
        #expect(await Self.convert("1", "kB", "B") == .success("1 kB = 1000 B"))
        #expect(await Self.convert("1", "kWh", "J") == .success("1 kWh = 3600000 J"))
        #expect(await Self.convert("-40", "F", "C") == .success("-40 °F = -40 °C"))
        #expect(await Self.convert("0", "K", "degF") == .success("0 K = -459.67 °F"))
        #expect(await Self.convert("98.6", "fahrenheit", "celsius") == .success("98.6 °F = 37 °C"))
        #expect(await Self.convert("1", "lb", "kg") == .success("1 lb = 0.45359237 kg"))
        #expect(await Self.convert("1", "in", "cm") == .success("1 in = 2.54 cm"))
        #expect(await Self.convert("60", "miles per hour", "km/h") == .success("60 mph = 96.56064 km/h"))
        #expect(await Self.convert("1", "sq mi", "acres") == .success("1 mi² = 640 ac"))
        #expect(await Self.convert("1", "GiB", "MB") == .success("1 GiB = 1073.741824 MB"))
        #expect(await Self.convert("100", "Mbps", "MB/s") == .success("100 Mbit/s = 12.5 MB/s"))
        #expect(await Self.convert("1", "m", "ft") == .success("1 m ≈ 3.28083989501312 ft (exactly 1250/381)"))
        #expect(await Self.convert("1", "J", "kWh") == .success("1 J ≈ 2.77777777777778e-7 kWh (exactly 1/3600000)"))
        let gallon = await Self.convert("1", "gallon", "L")
        #expect((try? gallon.get())?.hasPrefix("1 US gal = 3.785411784 L\nnote: ") == true)
    }

    /// Results against values computed here from the definitions (1 in = 0.0254 m, 1 lb = 0.45359237 kg, g₀ = 9.80665 m/s²…).
    @Test func conversionsMatchIndependentValues() async {
        let inch = 0.0254, foot = 0.3048, mile = 1609.344, pound = 0.45359237, gravity = 9.80665, gallon = 3.785411784
        let cases: [(String, String, String, Double)] = [
            ("26.2", "mi", "km", 26.2 * mile / 1000),
            ("3", "feet", "inches", 3 * foot / inch),
            ("300", "K", "°C", 300 - 273.15),
            ("451", "degF", "kelvin", (451 + 459.67) * 5 / 9),
            ("1", "MB", "MiB", 1e6 / 1_048_576),
            ("2", "GB", "bits", 2 * 8e9),
            ("1", "TiB", "GB", pow(2, 40) / 1e9),
            ("1", "kcal", "J", 4184),
            ("1", "stone", "kg", 14 * pound),
            ("5", "oz", "g", 5 * pound / 16 * 1000),
            ("1", "US gal", "L", gallon),
            ("1", "imp gal", "US gal", 4.54609 / gallon),
            ("1", "cubic feet", "litres", pow(foot, 3) * 1000),
            ("1", "acre", "ft²", 43560),
            ("1", "hectare", "acres", 10_000 / (43560 * foot * foot)),
            ("1", "knot", "km/h", 1.852),
            ("1", "m/s", "mph", 3600 / mile),
            ("1", "psi", "kPa", pound * gravity / (inch * inch) / 1000),
            ("1", "atm", "bar", 1.01325),
            ("1", "week", "hours", 168),
            ("1", "year", "days", 365.25),
            ("1", "eV", "J", 1.602176634e-19),
            ("1", "hp", "W", 550 * foot * pound * gravity),
            ("1", "lbf", "N", pound * gravity),
            ("180", "deg", "rad", Double.pi),
            ("30", "mpg", "L/100km", 100 * gallon / (30 * mile / 1000) ),
            ("1", "kg/m3", "g/cm3", 0.001),
            ("9.80665", "m/s^2", "ft/s²", gravity / foot),
        ]
        for (value, from, to, expected) in cases {
            let result = await Self.convert(value, from, to)
            let got = (try? result.get()).flatMap(Self.number(in:))
            #expect(got.map { abs($0 - expected) <= 1e-12 * abs(expected) } == true, "\(value) \(from) → \(to): \(result), expected \(expected)")
        }
    }

    @Test func spellingsAndSymbolsAreAccepted() async {
        for spelling in ["m", "metre", "meter", "metres", "meters", "Meters"] {
            #expect(await Self.convert("1500", spelling, "km") == .success("1500 m = 1.5 km"), "\(spelling)")
        }
        for spelling in ["°C", "degC", "celsius", "C", "℃", "degrees Celsius", "deg C"] {
            #expect(await Self.convert("20", spelling, "°F") == .success("20 °C = 68 °F"), "\(spelling)")
        }
        for spelling in ["mi", "mile", "miles"] {
            #expect(await Self.convert("1", spelling, "ft") == .success("1 mi = 5280 ft"), "\(spelling)")
        }
        for spelling in ["lb", "lbs", "pound", "pounds"] {
            #expect(await Self.convert("2", spelling, "oz") == .success("2 lb = 32 oz"), "\(spelling)")
        }
        for spelling in ["kg", "kilogram", "kilograms", "kilogramme"] {
            #expect(await Self.convert("1", spelling, "g") == .success("1 kg = 1000 g"), "\(spelling)")
        }
        #expect(await Self.convert("1", "square metres", "sq ft") == Self.convert("1", "m^2", "ft2"))
        #expect(await Self.convert("1", "µs", "ns") == .success("1 µs = 1000 ns"))
        #expect(await Self.convert("1", "μs", "ns") == .success("1 µs = 1000 ns"))   // Greek mu
        #expect(await Self.convert("1", "us", "ns") == .success("1 µs = 1000 ns"))
    }

    @Test func unitErrorsSayWhatIsWrong() async {
        #expect(await Self.convert("1", "metres", "kilograms") == .failure(.failed("cannot convert metres to kilograms: length vs mass")))
        #expect(await Self.convert("1", "°C", "kg") == .failure(.failed("cannot convert degrees Celsius to kilograms: temperature vs mass")))
        #expect(await Self.convert("1", "kWh", "kW") == .failure(.failed("cannot convert kilowatt-hours to kilowatts: energy vs power")))
        let typo = await Self.convert("1", "kilometrs", "m")
        guard case .failure(.failed(let message)) = typo else { Issue.record("\(typo)"); return }
        #expect(message.hasPrefix("unknown unit 'kilometrs'; did you mean 'kilometres'"), "\(message)")
        #expect(await Self.convert("1", "m", "furlongz") == .failure(.failed("unknown unit 'furlongz'; did you mean 'furlong'?")))
        #expect(await Self.convert("1", "square metrs", "m2") == .failure(.failed("unknown unit 'metrs'; did you mean 'metres' or 'exametres'?")))
        #expect(await Self.convert("1", "xyzzy", "m") == .failure(.failed("unknown unit 'xyzzy'")))
        #expect(await Self.convert("1", "ton", "kg") == .failure(.failed("'ton' is ambiguous: it could be 't' (tonne), 'short ton' (short ton), 'long ton' (long ton); say which")))
        #expect(await Self.convert("1", "mb", "kB") == .failure(.failed("'mb' is ambiguous: it could be 'MB' (megabyte), 'Mbit' (megabit), 'mbar' (millibar); say which")))
        #expect(await Self.convert("-300", "°C", "K") == .failure(.failed("-300 °C is below absolute zero (-273.15 °C)")))
        #expect(await Self.convert("1", " ", "m") == .failure(.failed("'from' is empty")))
        #expect(await Self.convert("1e999", "m", "km") == .failure(.failed("value is out of range (its exponent must be within ±400)")))
        #expect(await Self.runner.run("units", arguments: #"{"value": 1, "from": "m"}"#) == .failure(.invalidArguments("arguments.to is required")))
        #expect(await Self.runner.run("units", arguments: #"{"value": "one", "from": "m", "to": "km"}"#)
                == .failure(.invalidArguments("arguments.value should be number, not string")))
    }

    // MARK: sqlite

    /// A temporary folder holding `t.db` (tables t and big), made by Python's sqlite3, and a text file.
    static func makeDatabase() throws -> String {
        let folder = NSTemporaryDirectory() + "magi-sqlite-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let script = """
            import sqlite3, sys
            c = sqlite3.connect(sys.argv[1])
            c.executescript('''
            CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, score REAL);
            INSERT INTO t(name, score) VALUES ('alice', 1.5), ('bob', NULL), ('carol|x', 3);
            CREATE TABLE big(x INTEGER);
            WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 500) INSERT INTO big SELECT x FROM c;
            ''')
            c.commit()
            c.close()
            """
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", "-c", script, folder + "/t.db"]
        try python.run()
        python.waitUntilExit()
        #expect(python.terminationStatus == 0)
        try "just some text\n".write(toFile: folder + "/notes.txt", atomically: true, encoding: .utf8)
        return folder
    }

    static func query(_ database: String, _ sql: String, extra: String = "") async -> Result<String, ToolError> {
        await runner.run("sqlite", arguments: #"{"database": \#(quoted(database)), "query": \#(quoted(sql))\#(extra)}"#)
    }

    @Test func sqliteReturnsColumnsAndRows() async throws {
        let folder = try Self.makeDatabase()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let db = folder + "/t.db"
        #expect(await Self.query(db, "SELECT id, name, score FROM t ORDER BY id") == .success("""
            | id | name | score |
            |---|---|---|
            | 1 | alice | 1.5 |
            | 2 | bob | NULL |
            | 3 | carol\\|x | 3.0 |
            (3 rows)
            """))
        #expect(await Self.query(db, "-- a comment\nSELECT count(*) AS n, sum(x) FROM big;") == .success("| n | sum(x) |\n|---|---|\n| 500 | 125250 |\n(1 row)"))
        #expect(await Self.query(db, "SELECT x FROM big WHERE x > 1000") == .success("| x |\n|---|\n(no rows)"))
        let capped = try #require(try? await Self.query(db, "SELECT x FROM big ORDER BY x", extra: #", "max_rows": 10"#).get())
        let lines = capped.split(separator: "\n")
        #expect(lines.count == 13 && lines[2] == "| 1 |" && lines[11] == "| 10 |")
        #expect(lines.last == "(the first 10 rows of 500; use LIMIT/OFFSET, a narrower WHERE or an aggregate to see the others)")
        // Without max_rows: the first 200.
        let defaulted = try #require(try? await Self.query(db, "SELECT x FROM big").get())
        #expect(defaulted.split(separator: "\n").count == 203 && defaulted.hasSuffix("(the first 200 rows of 500; use LIMIT/OFFSET, a narrower WHERE or an aggregate to see the others)"))
        let json = try #require(try? await Self.query(db, "SELECT name, score FROM t ORDER BY id", extra: #", "format": "json", "max_rows": 2"#).get())
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["columns"] as? [String] == ["name", "score"])
        #expect((object["rows"] as? [[Any]])?.count == 2 && (object["rows"] as? [[Any]])?[0][0] as? String == "alice")
        #expect(object["more_rows"] as? Int == 1)
        // Reading pragmas and EXPLAIN run.
        #expect(await Self.query(db, "PRAGMA table_info(t)").map { $0.hasPrefix("| cid | name | type | notnull | dflt_value | pk |") } == .success(true))
        #expect(await Self.query(db, "EXPLAIN QUERY PLAN SELECT * FROM t WHERE id = 2").map { $0.contains("SEARCH t USING INTEGER PRIMARY KEY") } == .success(true))
    }

    @Test func sqliteRefusesEveryWriteAndLeavesTheFileUnchanged() async throws {
        let folder = try Self.makeDatabase()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let db = folder + "/t.db"
        let before = try Data(contentsOf: URL(fileURLWithPath: db))
        let filesBefore = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        let attempts: [(String, String)] = [
            ("INSERT INTO t(name) VALUES ('mallory')", "this tool only reads, so INSERT statements are not allowed"),
            ("UPDATE t SET name = 'x'", "this tool only reads, so UPDATE statements are not allowed"),
            ("DELETE FROM t", "this tool only reads, so DELETE statements are not allowed"),
            ("DROP TABLE t", "this tool only reads, so DROP statements are not allowed"),
            ("CREATE TABLE u(x)", "this tool only reads, so CREATE statements are not allowed"),
            ("ATTACH DATABASE '\(folder)/other.db' AS other", "this tool only reads, so ATTACH statements are not allowed"),
            ("VACUUM INTO '\(folder)/copy.db'", "this tool only reads, so VACUUM statements are not allowed"),
            ("  /* hidden */ insert into t(name) values ('x')", "this tool only reads, so INSERT statements are not allowed"),
            ("SELECT 1; DROP TABLE t", "only one statement may run per call; remove everything after the first ';'"),
            ("SELECT ';'; DELETE FROM t; --", "only one statement may run per call; remove everything after the first ';'"),
            // Past the first check, the authorizer refuses what a WITH or a PRAGMA would write.
            ("PRAGMA writable_schema = 1", "refused, this tool only reads: PRAGMA writable_schema = 1 is not allowed"),
            ("PRAGMA query_only = 0", "refused, this tool only reads: PRAGMA query_only = 0 is not allowed"),
            ("PRAGMA user_version = 7", "refused, this tool only reads: PRAGMA user_version = 7 is not allowed"),
            ("WITH doomed AS (SELECT 1) DELETE FROM t", "refused, this tool only reads: DELETE on t is not allowed"),
            ("WITH n AS (SELECT 'x') INSERT INTO t(name) SELECT * FROM n", "refused, this tool only reads: INSERT on t is not allowed"),
            ("WITH n AS (SELECT 1) UPDATE t SET name = 'x'", "refused, this tool only reads: UPDATE on t is not allowed"),
            ("SELECT load_extension('/tmp/evil')", "refused, this tool only reads: the function load_extension() is not allowed"),
        ]
        for (sql, message) in attempts {
            let result = await Self.query(db, sql)
            guard case .failure(.failed(let error)) = result else {
                Issue.record("\(sql) was not refused: \(result)")
                continue
            }
            #expect(error.hasPrefix(message), "\(sql): \(error)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: db)) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == filesBefore)
        #expect(await Self.query(db, "SELECT count(*) FROM t") == .success("| count(*) |\n|---|\n| 3 |\n(1 row)"))
    }

    @Test func sqliteErrorsAreClear() async throws {
        let folder = try Self.makeDatabase()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let db = folder + "/t.db"
        #expect(await Self.query(folder + "/missing.db", "SELECT 1") == .failure(.failed("no such file: \(folder)/missing.db")))
        #expect(await Self.query(folder + "/notes.txt", "SELECT 1") == .failure(.failed("\(folder)/notes.txt is not an SQLite database")))
        #expect(await Self.query(folder, "SELECT 1") == .failure(.failed("\(folder) is a folder, not a database file")))
        #expect(await Self.query(db, "SELECT * FROM nope") == .failure(.failed("SQL error: no such table: nope (the tables and views: big, t)")))
        #expect(await Self.query(db, "SELECT name FROM t WHERE") == .failure(.failed("SQL error: incomplete input")))
        #expect(await Self.query(db, "SELEC 1") == .failure(.failed(
            "this tool only reads, so SELEC statements are not allowed; use one SELECT, WITH, VALUES, EXPLAIN or PRAGMA (reading) statement")))
        #expect(await Self.query(db, ".tables") == .failure(.failed(
            "'.tables' is a command of the sqlite3 shell, not SQL; to list the tables use SELECT name, sql FROM sqlite_master WHERE type = 'table'")))
        #expect(await Self.runner.run("sqlite", arguments: #"{"database": "x.db"}"#) == .failure(.invalidArguments("arguments.query is required")))
    }

    @Test func aLongQueryIsStoppedWithinTheTimeLimit() async throws {
        let folder = try Self.makeDatabase()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let start = ContinuousClock.now
        let result = await Self.query(folder + "/t.db",
                                      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) SELECT count(*) FROM c")
        let elapsed = ContinuousClock.now - start
        #expect(result == .failure(.failed("the query ran longer than 10 s and was stopped; narrow it (WHERE, LIMIT) or simplify it")))
        #expect(elapsed < .seconds(14), "\(elapsed)")   // the manifest's limit is 15 s: the plugin answers first
    }
}
