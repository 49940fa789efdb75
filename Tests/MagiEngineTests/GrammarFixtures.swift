/// Example grammars from llama.cpp's `grammars/` folder, copied unchanged to check that existing GBNF
/// files are read as llama.cpp reads them.
///
/// llama.cpp is MIT licensed: Copyright (c) 2023-2024 The ggml authors. Permission is hereby granted,
/// free of charge, to any person obtaining a copy of this software and associated documentation files,
/// to deal in the Software without restriction, subject to the above copyright notice and this
/// permission notice being included in all copies or substantial portions of the Software.
enum GrammarFixtures {
    /// grammars/json.gbnf
    static let json = #"""
    root   ::= object
    value  ::= object | array | string | number | ("true" | "false" | "null") ws

    object ::=
      "{" ws (
                string ":" ws value
        ("," ws string ":" ws value)*
      )? "}" ws

    array  ::=
      "[" ws (
                value
        ("," ws value)*
      )? "]" ws

    string ::=
      "\"" (
        [^"\\\x7F\x00-\x1F] |
        "\\" (["\\bfnrt] | "u" [0-9a-fA-F]{4}) # escapes
      )* "\"" ws

    number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws

    # Optional space: by convention, applied in this grammar after literal chars when allowed
    ws ::= | " " | "\n" [ \t]{0,20}

    """#

    /// grammars/json_arr.gbnf
    static let jsonArray = #"""
    # This is the same as json.gbnf but we restrict whitespaces at the end of the root array
    # Useful for generating JSON arrays

    root   ::= arr
    value  ::= object | array | string | number | ("true" | "false" | "null") ws

    arr  ::=
      "[\n" ws (
                value
        (",\n" ws value)*
      )? "]"

    object ::=
      "{" ws (
                string ":" ws value
        ("," ws string ":" ws value)*
      )? "}" ws

    array  ::=
      "[" ws (
                value
        ("," ws value)*
      )? "]" ws

    string ::=
      "\"" (
        [^"\\] |
        "\\" (["\\/bfnrt] | "u" [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F]) # escapes
      )* "\"" ws

    number ::= ("-"? ([0-9] | [1-9] [0-9]*)) ("." [0-9]+)? ([eE] [-+]? [0-9]+)? ws

    # Optional space: by convention, applied in this grammar after literal chars when allowed
    ws ::= ([ \t\n] ws)?

    """#

    /// grammars/chess.gbnf
    static let chess = #"""
    root    ::= "1. " move " " move "\n" ([1-9] [0-9]? ". " move " " move "\n")+
    move    ::= (pawn | nonpawn | castle) [+#]?
    nonpawn ::= [NBKQR] [a-h]? [1-8]? "x"? [a-h] [1-8]
    pawn    ::= ([a-h] "x")? [a-h] [1-8] ("=" [NBKQR])?
    castle  ::= "O-O" "-O"?

    """#

    /// grammars/list.gbnf
    static let list = #"""
    root ::= item+

    # Excludes various line break characters
    item ::= "- " [^\r\n\x0b\x0c\x85\u2028\u2029]+ "\n"

    """#

    /// grammars/japanese.gbnf
    static let japanese = #"""
    # A probably incorrect grammar for Japanese
    root        ::= jp-char+ ([ \t\n] jp-char+)*
    jp-char     ::= hiragana | katakana | punctuation | cjk
    hiragana    ::= [ぁ-ゟ]
    katakana    ::= [ァ-ヿ]
    punctuation ::= [、-〾]
    cjk         ::= [一-鿿]

    """#

    /// grammars/arithmetic.gbnf
    static let arithmetic = #"""
    root  ::= (expr "=" ws term "\n")+
    expr  ::= term ([-+*/] term)*
    term  ::= ident | num | "(" ws expr ")" ws
    ident ::= [a-z] [a-z0-9_]* ws
    num   ::= [0-9]+ ws
    ws    ::= [ \t\n]*

    """#
}
