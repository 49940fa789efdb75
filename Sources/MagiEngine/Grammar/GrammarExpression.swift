/// One rule body of a grammar as read from GBNF, before it is compiled to bytes.
///
/// Characters are Unicode code points, as GBNF writes them; ``Grammar`` turns them into UTF-8 bytes.
indirect enum GrammarExpression: Equatable, Sendable {
    /// Each part in turn (empty: the empty string).
    case sequence([GrammarExpression])
    /// Any one of the choices.
    case alternatives([GrammarExpression])
    /// Exactly these code points.
    case literal([UInt32])
    /// One code point inside (or, negated, outside) the ranges.
    case characterClass([ClosedRange<UInt32>], negated: Bool)
    /// Any one code point (`.`).
    case anyCharacter
    /// The rule of this name.
    case reference(String)
    /// One token of the vocabulary, by id (`<[id]>`, as in llama.cpp): a control token such as
    /// Mistral's `[ARGS]` has no text to match.
    case token(Int32)
    /// `min` to `max` (nil: unbounded) copies of the expression.
    case repetition(GrammarExpression, min: Int, max: Int?)
}

/// A grammar as read from text: named rules in the order they were defined.
struct GrammarDefinition: Sendable {
    struct Rule: Sendable {
        var name: String
        var body: GrammarExpression
    }
    var rules: [Rule]
}
