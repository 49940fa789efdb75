/// What a code highlighter needs to know about a language: its keywords, comments, strings.
/// One grammar serves a family of languages with the same lexical shape.
struct LanguageGrammar {
    /// A kind of string literal.
    struct StringDelimiter {
        let open: String
        let close: String
        /// Whether a backslash escapes the next character.
        let escapes: Bool
        /// Whether the literal may run over several lines.
        let multiline: Bool
    }

    let keywords: Set<String>
    /// Keywords match in any case (SQL).
    var caseInsensitive = false
    /// Identifiers starting with an upper-case letter are types (Swift, Rust, Go, Java, TypeScript).
    var capitalizedAreTypes = false
    /// `$NAME` and `${…}` are variables (shells).
    var dollarVariables = false
    let lineComments: [String]
    var blockComment: (open: String, close: String)?
    let strings: [StringDelimiter]

    private static let quoted = [StringDelimiter(open: "\"", close: "\"", escapes: true, multiline: false),
                                 StringDelimiter(open: "'", close: "'", escapes: true, multiline: false)]

    /// The grammar for a fenced code block's language label, if magi knows the language.
    static func named(_ label: String) -> LanguageGrammar? {
        switch label.lowercased() {
        case "swift": return swift
        case "python", "py", "python3": return python
        case "javascript", "js", "jsx", "typescript", "ts", "tsx", "mjs", "cjs": return javaScript
        case "c", "h", "cpp", "c++", "cc", "cxx", "hpp", "objc", "objective-c": return c
        case "rust", "rs": return rust
        case "go", "golang": return go
        case "sh", "bash", "shell", "zsh", "console", "shellsession", "fish": return shell
        case "json", "jsonc", "json5": return json
        case "sql", "sqlite", "postgresql", "mysql": return sql
        case "java", "kotlin", "kt", "scala", "cs", "csharp", "c#", "dart": return java
        default: return nil
        }
    }

    static let swift = LanguageGrammar(
        keywords: ["let", "var", "func", "return", "if", "else", "guard", "for", "in", "while", "repeat", "switch",
                   "case", "default", "break", "continue", "struct", "class", "enum", "protocol", "extension",
                   "import", "public", "private", "internal", "fileprivate", "open", "static", "final", "init",
                   "deinit", "self", "Self", "super", "nil", "true", "false", "throws", "throw", "try", "catch",
                   "do", "async", "await", "actor", "some", "any", "where", "typealias", "inout", "mutating",
                   "defer", "is", "as", "associatedtype", "subscript", "operator", "lazy", "weak", "override"],
        capitalizedAreTypes: true, lineComments: ["//"], blockComment: ("/*", "*/"),
        strings: [StringDelimiter(open: "\"\"\"", close: "\"\"\"", escapes: true, multiline: true),
                  StringDelimiter(open: "\"", close: "\"", escapes: true, multiline: false)])

    static let python = LanguageGrammar(
        keywords: ["def", "return", "if", "elif", "else", "for", "in", "while", "break", "continue", "class",
                   "import", "from", "as", "with", "try", "except", "finally", "raise", "lambda", "yield", "pass",
                   "None", "True", "False", "and", "or", "not", "is", "global", "nonlocal", "assert", "del",
                   "async", "await", "match", "case", "self"],
        lineComments: ["#"],
        strings: [StringDelimiter(open: "\"\"\"", close: "\"\"\"", escapes: true, multiline: true),
                  StringDelimiter(open: "'''", close: "'''", escapes: true, multiline: true)] + quoted)

    static let javaScript = LanguageGrammar(
        keywords: ["const", "let", "var", "function", "return", "if", "else", "for", "of", "in", "while", "do",
                   "switch", "case", "default", "break", "continue", "class", "extends", "new", "this", "super",
                   "import", "export", "from", "as", "async", "await", "try", "catch", "finally", "throw",
                   "typeof", "instanceof", "null", "undefined", "true", "false", "yield", "delete", "void",
                   "interface", "type", "enum", "implements", "public", "private", "protected", "readonly",
                   "static", "declare", "namespace", "keyof", "never", "unknown", "any", "number", "string",
                   "boolean"],
        capitalizedAreTypes: true, lineComments: ["//"], blockComment: ("/*", "*/"),
        strings: quoted + [StringDelimiter(open: "`", close: "`", escapes: true, multiline: true)])

    static let c = LanguageGrammar(
        keywords: ["int", "char", "float", "double", "void", "long", "short", "unsigned", "signed", "const",
                   "static", "extern", "struct", "union", "enum", "typedef", "return", "if", "else", "for", "while",
                   "do", "switch", "case", "default", "break", "continue", "goto", "sizeof", "inline", "volatile",
                   "bool", "true", "false", "NULL", "nullptr", "auto", "class", "namespace", "template",
                   "typename", "public", "private", "protected", "virtual", "override", "new", "delete", "this",
                   "using", "constexpr", "noexcept", "throw", "try", "catch", "std", "#include", "#define",
                   "#ifdef", "#ifndef", "#endif", "#if", "#else", "#pragma", "size_t", "uint8_t", "int32_t",
                   "uint32_t", "int64_t", "uint64_t"],
        lineComments: ["//"], blockComment: ("/*", "*/"), strings: quoted)

    static let rust = LanguageGrammar(
        keywords: ["fn", "let", "mut", "const", "static", "return", "if", "else", "match", "for", "in", "while",
                   "loop", "break", "continue", "struct", "enum", "trait", "impl", "pub", "use", "mod", "crate",
                   "self", "Self", "super", "where", "as", "ref", "move", "async", "await", "dyn", "unsafe",
                   "type", "true", "false", "extern", "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64",
                   "usize", "isize", "f32", "f64", "bool", "str", "char"],
        capitalizedAreTypes: true, lineComments: ["//"], blockComment: ("/*", "*/"),
        strings: [StringDelimiter(open: "\"", close: "\"", escapes: true, multiline: true)])

    static let go = LanguageGrammar(
        keywords: ["func", "package", "import", "var", "const", "type", "struct", "interface", "map", "chan",
                   "return", "if", "else", "for", "range", "switch", "case", "default", "break", "continue",
                   "go", "defer", "select", "fallthrough", "goto", "nil", "true", "false", "int", "int64",
                   "string", "bool", "byte", "rune", "error", "float64", "any", "make", "new", "len", "append"],
        capitalizedAreTypes: true, lineComments: ["//"], blockComment: ("/*", "*/"),
        strings: quoted + [StringDelimiter(open: "`", close: "`", escapes: false, multiline: true)])

    static let java = LanguageGrammar(
        keywords: ["class", "interface", "enum", "public", "private", "protected", "static", "final", "void",
                   "int", "long", "double", "float", "boolean", "char", "byte", "new", "return", "if", "else",
                   "for", "while", "do", "switch", "case", "default", "break", "continue", "try", "catch",
                   "finally", "throw", "throws", "import", "package", "extends", "implements", "this", "super",
                   "null", "true", "false", "fun", "val", "var", "when", "object", "override", "namespace",
                   "using", "string", "async", "await"],
        capitalizedAreTypes: true, lineComments: ["//"], blockComment: ("/*", "*/"), strings: quoted)

    static let shell = LanguageGrammar(
        keywords: ["if", "then", "else", "elif", "fi", "for", "in", "do", "done", "while", "until", "case", "esac",
                   "function", "return", "exit", "export", "local", "readonly", "set", "unset", "echo", "cd",
                   "source", "shift", "true", "false", "sudo"],
        dollarVariables: true, lineComments: ["#"],
        strings: [StringDelimiter(open: "\"", close: "\"", escapes: true, multiline: true),
                  StringDelimiter(open: "'", close: "'", escapes: false, multiline: true)])

    static let json = LanguageGrammar(
        keywords: ["true", "false", "null"], lineComments: ["//"], blockComment: ("/*", "*/"),
        strings: [StringDelimiter(open: "\"", close: "\"", escapes: true, multiline: false)])

    static let sql = LanguageGrammar(
        keywords: ["select", "from", "where", "insert", "into", "values", "update", "set", "delete", "create",
                   "table", "drop", "alter", "index", "view", "join", "left", "right", "inner", "outer", "full",
                   "on", "as", "and", "or", "not", "null", "is", "in", "like", "between", "group", "by", "order",
                   "having", "limit", "offset", "distinct", "union", "all", "case", "when", "then", "else", "end",
                   "primary", "key", "foreign", "references", "default", "integer", "int", "text", "varchar",
                   "real", "boolean", "with", "exists", "count", "sum", "avg", "min", "max", "asc", "desc",
                   "begin", "commit", "rollback", "returning", "true", "false"],
        caseInsensitive: true, lineComments: ["--"], blockComment: ("/*", "*/"),
        strings: [StringDelimiter(open: "'", close: "'", escapes: false, multiline: true),
                  StringDelimiter(open: "\"", close: "\"", escapes: false, multiline: false)])
}
