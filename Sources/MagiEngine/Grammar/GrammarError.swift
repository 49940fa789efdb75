/// Why a GBNF grammar could not be read or compiled. Every message names the line and column (1-based)
/// or the rule at fault.
public enum GrammarError: Error, Equatable, CustomStringConvertible {
    /// The text does not follow GBNF syntax at this place.
    case syntax(line: Int, column: Int, message: String)
    /// A rule refers to a name no rule defines.
    case undefinedRule(name: String, line: Int, column: Int)
    /// A rule is defined a second time.
    case duplicateRule(name: String, line: Int, column: Int)
    /// The grammar has no rule of the start name (`root` by default).
    case missingStartRule(String)
    /// A rule can reach itself without consuming input (left recursion), which a top-down matcher cannot run.
    case leftRecursion(rule: String)
    /// Groups nest deeper than `limit` levels at this place.
    case tooDeep(limit: Int, line: Int, column: Int)
    /// Repetitions in `rule` expand the grammar past `limit` elements.
    case tooLarge(rule: String, limit: Int)

    /// The deepest groups may nest.
    public static let maxDepth = 1_000
    /// The most elements repetitions may expand a grammar to.
    public static let maxElements = 1_000_000

    /// `n` with commas between groups of three digits (`1,000`).
    static func grouped(_ n: Int) -> String {
        var digits = String(n.magnitude), out = ""
        while digits.count > 3 {
            out = "," + digits.suffix(3) + out
            digits.removeLast(3)
        }
        return (n < 0 ? "-" : "") + digits + out
    }

    public var description: String {
        switch self {
        case .syntax(let line, let column, let message):
            return "grammar line \(line), column \(column): \(message)"
        case .undefinedRule(let name, let line, let column):
            return "grammar line \(line), column \(column): undefined rule '\(name)'"
        case .duplicateRule(let name, let line, let column):
            return "grammar line \(line), column \(column): rule '\(name)' is already defined"
        case .missingStartRule(let name):
            return "grammar has no '\(name)' rule to start from"
        case .leftRecursion(let rule):
            return "grammar rule '\(rule)' is left-recursive (it can reach itself without reading a character)"
        case .tooDeep(let limit, let line, let column):
            return "grammar nests deeper than \(Self.grouped(limit)) levels at line \(Self.grouped(line)), column \(Self.grouped(column))"
        case .tooLarge(let rule, let limit):
            return "grammar rule '\(rule)' repeats past \(Self.grouped(limit)) elements"
        }
    }
}
