/// The Unicode for TeX's symbol commands, letters and script characters.
enum LaTeXSymbols {
    /// `\name` → its character(s).
    static let commands: [String: String] = [
        // Greek
        "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ϵ", "varepsilon": "ε", "zeta": "ζ",
        "eta": "η", "theta": "θ", "vartheta": "ϑ", "iota": "ι", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν",
        "xi": "ξ", "omicron": "ο", "pi": "π", "varpi": "ϖ", "rho": "ρ", "varrho": "ϱ", "sigma": "σ", "varsigma": "ς",
        "tau": "τ", "upsilon": "υ", "phi": "ϕ", "varphi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω",
        "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π", "Sigma": "Σ",
        "Upsilon": "Υ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
        // relations
        "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "ne": "≠", "neq": "≠", "approx": "≈", "equiv": "≡",
        "sim": "∼", "simeq": "≃", "cong": "≅", "propto": "∝", "ll": "≪", "gg": "≫", "leqslant": "⩽",
        "geqslant": "⩾", "prec": "≺", "succ": "≻", "subset": "⊂", "subseteq": "⊆", "supset": "⊃",
        "supseteq": "⊇", "in": "∈", "notin": "∉", "ni": "∋", "perp": "⊥", "parallel": "∥", "mid": "∣",
        "vdash": "⊢", "models": "⊨", "doteq": "≐", "asymp": "≍",
        // arrows
        "to": "→", "rightarrow": "→", "leftarrow": "←", "gets": "←", "Rightarrow": "⇒", "Leftarrow": "⇐",
        "Leftrightarrow": "⇔", "leftrightarrow": "↔", "iff": "⟺", "implies": "⟹", "impliedby": "⟸",
        "mapsto": "↦", "longrightarrow": "⟶", "longleftarrow": "⟵", "Longrightarrow": "⟹",
        "longmapsto": "⟼", "uparrow": "↑", "downarrow": "↓", "Uparrow": "⇑", "Downarrow": "⇓",
        "nearrow": "↗", "searrow": "↘", "hookrightarrow": "↪", "rightleftharpoons": "⇌",
        // operators
        "cdot": "⋅", "times": "×", "div": "÷", "pm": "±", "mp": "∓", "ast": "∗", "star": "⋆", "circ": "∘",
        "bullet": "∙", "oplus": "⊕", "ominus": "⊖", "otimes": "⊗", "odot": "⊙", "cup": "∪", "cap": "∩",
        "wedge": "∧", "land": "∧", "vee": "∨", "lor": "∨", "neg": "¬", "lnot": "¬", "setminus": "∖",
        "sqcup": "⊔", "sqcap": "⊓", "uplus": "⊎", "amalg": "⨿", "wr": "≀",
        // big operators
        "sum": "∑", "prod": "∏", "coprod": "∐", "int": "∫", "iint": "∬", "iiint": "∭", "oint": "∮",
        "bigcup": "⋃", "bigcap": "⋂", "bigoplus": "⨁", "bigotimes": "⨂", "bigvee": "⋁", "bigwedge": "⋀",
        // other symbols
        "infty": "∞", "partial": "∂", "nabla": "∇", "forall": "∀", "exists": "∃", "nexists": "∄",
        "emptyset": "∅", "varnothing": "∅", "hbar": "ℏ", "ell": "ℓ", "Re": "ℜ", "Im": "ℑ", "aleph": "ℵ",
        "wp": "℘", "angle": "∠", "triangle": "△", "square": "□", "therefore": "∴", "because": "∵",
        "ldots": "…", "cdots": "⋯", "vdots": "⋮", "ddots": "⋱", "dots": "…", "dotsc": "…", "dotsb": "⋯",
        "prime": "′", "degree": "°", "checkmark": "✓", "dagger": "†", "ddagger": "‡", "top": "⊤", "bot": "⊥",
        "langle": "⟨", "rangle": "⟩", "lfloor": "⌊", "rfloor": "⌋", "lceil": "⌈", "rceil": "⌉",
        "vert": "|", "Vert": "‖", "lvert": "|", "rvert": "|", "lVert": "‖", "rVert": "‖", "|": "‖",
        "backslash": "\\", "colon": ":", "surd": "√", "imath": "ı", "jmath": "ȷ", "flat": "♭", "sharp": "♯",
        "clubsuit": "♣", "diamondsuit": "♢", "heartsuit": "♡", "spadesuit": "♠", "lbrace": "{", "rbrace": "}",
        "{": "{", "}": "}", "%": "%", "$": "$", "&": "&", "#": "#", "_": "_",
        // spacing
        ",": " ", ":": " ", ";": " ", ">": " ", " ": " ", "!": "", "quad": "  ", "qquad": "    ",
        "thinspace": " ", "enspace": " ", "medspace": " ", "thickspace": " ", "negthinspace": "",
    ]

    /// Commands written as their name in upright letters (`\sin x` → sin x).
    static let functionNames: Set<String> = [
        "sin", "cos", "tan", "cot", "sec", "csc", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "coth",
        "log", "ln", "lg", "exp", "lim", "liminf", "limsup", "max", "min", "sup", "inf", "det", "dim", "ker",
        "gcd", "deg", "arg", "Pr", "hom", "mod", "bmod", "argmax", "argmin", "tr", "rank", "sgn",
    ]

    /// Accent commands → the combining mark put after the accented character.
    static let accents: [String: Character] = [
        "hat": "\u{302}", "widehat": "\u{302}", "bar": "\u{304}", "vec": "\u{20D7}", "dot": "\u{307}",
        "ddot": "\u{308}", "tilde": "\u{303}", "widetilde": "\u{303}", "acute": "\u{301}", "grave": "\u{300}",
        "breve": "\u{306}", "check": "\u{30C}", "overline": "\u{305}", "underline": "\u{332}",
    ]

    static let superscripts: [Character: Character] = [
        "0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴", "5": "⁵", "6": "⁶", "7": "⁷", "8": "⁸", "9": "⁹",
        "+": "⁺", "-": "⁻", "−": "⁻", "=": "⁼", "(": "⁽", ")": "⁾", "a": "ᵃ", "b": "ᵇ", "c": "ᶜ", "d": "ᵈ",
        "e": "ᵉ", "f": "ᶠ", "g": "ᵍ", "h": "ʰ", "i": "ⁱ", "j": "ʲ", "k": "ᵏ", "l": "ˡ", "m": "ᵐ", "n": "ⁿ",
        "o": "ᵒ", "p": "ᵖ", "r": "ʳ", "s": "ˢ", "t": "ᵗ", "u": "ᵘ", "v": "ᵛ", "w": "ʷ", "x": "ˣ", "y": "ʸ",
        "z": "ᶻ", "A": "ᴬ", "B": "ᴮ", "D": "ᴰ", "E": "ᴱ", "G": "ᴳ", "H": "ᴴ", "I": "ᴵ", "J": "ᴶ", "K": "ᴷ",
        "L": "ᴸ", "M": "ᴹ", "N": "ᴺ", "O": "ᴼ", "P": "ᴾ", "R": "ᴿ", "T": "ᵀ", "U": "ᵁ", "V": "ⱽ", "W": "ᵂ",
        "α": "ᵅ", "β": "ᵝ", "γ": "ᵞ", "δ": "ᵟ", "θ": "ᶿ", "ϕ": "ᵠ", "φ": "ᵠ", "χ": "ᵡ", "∘": "°", "′": "′",
        "⊤": "ᵀ", "*": "*", "∗": "*", " ": " ",
    ]

    static let subscripts: [Character: Character] = [
        "0": "₀", "1": "₁", "2": "₂", "3": "₃", "4": "₄", "5": "₅", "6": "₆", "7": "₇", "8": "₈", "9": "₉",
        "+": "₊", "-": "₋", "−": "₋", "=": "₌", "(": "₍", ")": "₎", "a": "ₐ", "e": "ₑ", "h": "ₕ", "i": "ᵢ",
        "j": "ⱼ", "k": "ₖ", "l": "ₗ", "m": "ₘ", "n": "ₙ", "o": "ₒ", "p": "ₚ", "r": "ᵣ", "s": "ₛ", "t": "ₜ",
        "u": "ᵤ", "v": "ᵥ", "x": "ₓ", "β": "ᵦ", "γ": "ᵧ", "ρ": "ᵨ", "φ": "ᵩ", "ϕ": "ᵩ", "χ": "ᵪ", " ": " ",
    ]

    /// `\mathbb` letters: the classic double-struck ones, others from the Mathematical Alphanumeric block.
    static func doubleStruck(_ c: Character) -> Character {
        let classic: [Character: Character] = ["C": "ℂ", "H": "ℍ", "N": "ℕ", "P": "ℙ", "Q": "ℚ", "R": "ℝ", "Z": "ℤ"]
        if let special = classic[c] { return special }
        return alphanumeric(c, capitals: 0x1D538, smalls: 0x1D552, digits: 0x1D7D8)
    }

    /// `\mathcal` and `\mathscr` letters (script capitals).
    static func script(_ c: Character) -> Character {
        let classic: [Character: Character] = ["B": "ℬ", "E": "ℰ", "F": "ℱ", "H": "ℋ", "I": "ℐ", "L": "ℒ", "M": "ℳ",
                                               "R": "ℛ", "e": "ℯ", "g": "ℊ", "o": "ℴ"]
        if let special = classic[c] { return special }
        return alphanumeric(c, capitals: 0x1D49C, smalls: 0x1D4B6, digits: nil)
    }

    /// `\mathfrak` letters.
    static func fraktur(_ c: Character) -> Character {
        let classic: [Character: Character] = ["C": "ℭ", "H": "ℌ", "I": "ℑ", "R": "ℜ", "Z": "ℨ"]
        if let special = classic[c] { return special }
        return alphanumeric(c, capitals: 0x1D504, smalls: 0x1D51E, digits: nil)
    }

    private static func alphanumeric(_ c: Character, capitals: UInt32, smalls: UInt32, digits: UInt32?) -> Character {
        guard let ascii = c.asciiValue else { return c }
        let base: UInt32
        switch ascii {
        case 65...90: base = capitals + UInt32(ascii - 65)
        case 97...122: base = smalls + UInt32(ascii - 97)
        case 48...57: guard let digits else { return c }; base = digits + UInt32(ascii - 48)
        default: return c
        }
        return Unicode.Scalar(base).map(Character.init) ?? c
    }
}
