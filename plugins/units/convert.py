#!/usr/bin/env python3
"""magi plugin: unit conversion. Reads {"value": number, "from": "unit", "to": "unit"} on stdin and
writes {"result": "..."} or {"error": "..."} on stdout.

Every unit is an exact fraction of an SI base unit (1 in = 0.0254 m, 1 lb = 0.45359237 kg, ...),
so conversions are exact rational arithmetic; the few factors that are not exact (those involving
pi, and measured constants) are marked approximate and the result is shown with "≈". Temperatures
are affine (°C, °F, K, °R). Units combine: km/h, m/s^2, kg/m3, sq ft, cubic inches, MB/s, N*m,
miles per hour."""
import difflib, json, re, sys, unicodedata
from decimal import Decimal, localcontext
from fractions import Fraction as F

# Dimensions: exponents of (length, mass, time, temperature, information, angle).
BASES = ("m", "kg", "s", "K", "bit", "deg")
ZERO = (0, 0, 0, 0, 0, 0)
L, M, T, TEMP, D, A = [tuple(1 if i == j else 0 for i in range(6)) for j in range(6)]

def dmul(a, b): return tuple(x + y for x, y in zip(a, b))
def dpow(a, n): return tuple(x * n for x in a)

DIMENSION_NAMES = {
    ZERO: "dimensionless", L: "length", dpow(L, 2): "area", dpow(L, 3): "volume", M: "mass", T: "time",
    TEMP: "temperature", D: "data size", A: "angle",
    dmul(L, dpow(T, -1)): "speed", dmul(L, dpow(T, -2)): "acceleration",
    dmul(M, dmul(L, dpow(T, -2))): "force", dmul(M, dmul(dpow(L, 2), dpow(T, -2))): "energy",
    dmul(M, dmul(dpow(L, 2), dpow(T, -3))): "power", dmul(M, dmul(dpow(L, -1), dpow(T, -2))): "pressure",
    dpow(T, -1): "frequency", dmul(D, dpow(T, -1)): "data rate", dmul(M, dpow(L, -3)): "density",
    dmul(A, dpow(T, -1)): "angular speed", dmul(dpow(L, 3), dpow(T, -1)): "volume flow",
    dmul(M, dpow(T, -1)): "mass flow", dpow(L, -1): "inverse length", dpow(L, -2): "distance per volume",
}

def dimension_name(dims):
    if dims in DIMENSION_NAMES: return DIMENSION_NAMES[dims]
    parts = [b if e == 1 else f"{b}^{e}" for b, e in zip(BASES, dims) if e]
    return "·".join(parts)

PI = F("3.14159265358979323846264338327950288419716939937510582097494459")

class Unit:
    def __init__(self, symbol, name, dims, factor, offset=0, plural=None, approx=False, note=None):
        self.symbol, self.name, self.dims, self.factor, self.offset = symbol, name, dims, F(factor), F(offset)
        self.plural = plural or pluralize(name)
        self.approx, self.note = approx, note

def pluralize(name):
    irregular = {"foot": "feet", "hertz": "hertz", "century": "centuries", "millennium": "millennia",
                 "inch": "inches", "celsius": "celsius", "fahrenheit": "fahrenheit", "kelvin": "kelvins"}
    words = name.split(" ")
    last = words[-1]
    if last in irregular: words[-1] = irregular[last]
    elif last.endswith(("s", "x", "ch", "sh")): words[-1] = last + "es"
    else: words[-1] = last + "s"
    return " ".join(words)

UNITS = []            # every Unit
SYMBOLS = {}          # case-sensitive symbol -> Unit
NAMES = {}            # normalized name -> Unit, or a list of Units when ambiguous on purpose
SPELLED = {}          # normalized name -> the name as written here, for suggestions

def name_key(text):
    return re.sub(r"[\s\-_.]", "", text.lower())

def add(symbol, name, dims, factor, symbols=(), names=(), plural=None, prefixes=None, prefix_symbols=None,
        offset=0, approx=False, note=None):
    """Adds a unit, its other symbols and names, and when `prefixes` is given its prefixed forms."""
    unit = Unit(symbol, name, dims, factor, offset, plural, approx, note)
    register(unit, [symbol, *symbols], [name, unit.plural, *names])
    for p_symbol, p_name, p_factor in prefixes or ():
        bases = prefix_symbols if prefix_symbols is not None else [symbol, *symbols]
        p_unit = Unit(p_symbol + symbol, p_name + name, dims, unit.factor * p_factor, 0, p_name + unit.plural, approx)
        spellings = [p_name + n for n in [name, unit.plural, *names] if re.match(r"^[a-z]", n)]
        register(p_unit, [p_symbol + s for s in bases] + ([p_symbol.replace("µ", "u") + s for s in bases] if "µ" in p_symbol else []),
                 spellings)
    return unit

def normalize(text):
    """Unicode compatibility forms folded (℃ is °C, ² is 2), the Greek mu as the micro sign, spaces collapsed."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).replace("μ", "µ")).strip()

def register(unit, symbols, names):
    UNITS.append(unit)
    for s in map(normalize, symbols):
        assert s not in SYMBOLS or SYMBOLS[s] is unit, f"symbol {s} defined twice"
        SYMBOLS[s] = unit
    for n in names:
        k = name_key(n)
        assert k not in NAMES or NAMES[k] is unit, f"name {n} defined twice"
        NAMES[k] = unit
        SPELLED.setdefault(k, n)

def ambiguous(names, *units):
    for n in names: NAMES[name_key(n)] = list(units)

def ten(n): return F(10) ** n

SI = [("Q", "quetta", ten(30)), ("R", "ronna", ten(27)), ("Y", "yotta", ten(24)), ("Z", "zetta", ten(21)),
      ("E", "exa", ten(18)), ("P", "peta", ten(15)), ("T", "tera", ten(12)), ("G", "giga", ten(9)),
      ("M", "mega", ten(6)), ("k", "kilo", ten(3)), ("h", "hecto", ten(2)), ("da", "deca", ten(1)),
      ("d", "deci", ten(-1)), ("c", "centi", ten(-2)), ("m", "milli", ten(-3)), ("µ", "micro", ten(-6)),
      ("n", "nano", ten(-9)), ("p", "pico", ten(-12)), ("f", "femto", ten(-15)), ("a", "atto", ten(-18)),
      ("z", "zepto", ten(-21)), ("y", "yocto", ten(-24)), ("r", "ronto", ten(-27)), ("q", "quecto", ten(-30))]
def si(*symbols): return [p for p in SI if p[0] in symbols]
SI_ALL = SI
SI_BIG = si("k", "M", "G", "T", "P", "E", "Z", "Y", "R", "Q")
SI_SMALL = si("m", "µ", "n", "p", "f", "a")
BINARY = [("Ki", "kibi", F(2) ** 10), ("Mi", "mebi", F(2) ** 20), ("Gi", "gibi", F(2) ** 30), ("Ti", "tebi", F(2) ** 40),
          ("Pi", "pebi", F(2) ** 50), ("Ei", "exbi", F(2) ** 60), ("Zi", "zebi", F(2) ** 70), ("Yi", "yobi", F(2) ** 80)]

# Length (metre)
add("m", "metre", L, 1, names=["meter", "meters"], prefixes=SI_ALL)
NAMES["micron"] = NAMES["microns"] = SYMBOLS["µm"]
add("Å", "ångström", L, ten(-10), symbols=["Å"], names=["angstrom", "angstroms", "ångströms"])
add("in", "inch", L, F("0.0254"), symbols=["in.", '"'])
add("ft", "foot", L, F("0.3048"), symbols=["'"])
add("yd", "yard", L, F("0.9144"))
add("mi", "mile", L, F("1609.344"), names=["statute mile", "statute miles", "international mile"])
add("nmi", "nautical mile", L, 1852, symbols=["NM"])
add("mil", "thou", L, F("0.0000254"), names=["thous", "mils", "thousandth of an inch"])
add("ftm", "fathom", L, F("1.8288"))
add("fur", "furlong", L, F("201.168"))
add("ch", "chain", L, F("20.1168"))
add("hand", "hand", L, F("0.1016"))
add("ftUS", "US survey foot", L, F(1200, 3937), plural="US survey feet", names=["survey foot", "survey feet"])
add("au", "astronomical unit", L, 149597870700, symbols=["AU", "ua"])
add("ly", "light-year", L, 9460730472580800, names=["lightyear", "lightyears", "light year", "light years"])
add("pc", "parsec", L, 648000 / PI * 149597870700, approx=True, prefixes=si("k", "M", "G"))

# Mass (kilogram)
add("g", "gram", M, F(1, 1000), names=["gramme", "grammes"], prefixes=SI_ALL)
add("t", "tonne", M, 1000, names=["metric ton", "metric tons", "metric tonne", "metric tonnes"])
add("lb", "pound", M, F("0.45359237"), symbols=["lbs", "lbm", "#"], names=["pound mass", "pounds mass"])
add("oz", "ounce", M, F("0.45359237") / 16, names=["avoirdupois ounce"])
add("st", "stone", M, F("0.45359237") * 14, plural="stone", names=["stones"])
add("gr", "grain", M, F("0.00006479891"))
add("ozt", "troy ounce", M, F("0.0311034768"), symbols=["oz t"])
add("ct", "carat", M, F("0.0002"), names=["metric carat", "metric carats"])
SHORT_TON = add("short ton", "short ton", M, F("0.45359237") * 2000, names=["US ton", "US tons", "net ton"])
LONG_TON = add("long ton", "long ton", M, F("0.45359237") * 2240, names=["imperial ton", "imperial tons", "UK ton", "gross ton"])
ambiguous(["ton", "tons"], SYMBOLS["t"], SHORT_TON, LONG_TON)
add("slug", "slug", M, F("9.80665") * F("0.45359237") / F("0.3048"))
add("Da", "dalton", M, F("1.66053906660e-27"), symbols=["u", "amu"], names=["atomic mass unit", "atomic mass units"], approx=True)

# Time (second)
add("s", "second", T, 1, symbols=["sec"], names=["secs"], prefixes=SI_SMALL)
add("min", "minute", T, 60, names=["mins"])
add("h", "hour", T, 3600, symbols=["hr", "hrs"])
add("d", "day", T, 86400, names=["days"])
add("wk", "week", T, 604800, names=["wks"])
add("fortnight", "fortnight", T, 1209600)
YEAR = 31557600
add("yr", "year", T, YEAR, symbols=["a", "y"], names=["yrs", "julian year", "julian years", "annum"],
    note="a year is the Julian year of 365.25 days; 'common year' is 365 days, 'gregorian year' 365.2425")
add("mo", "month", T, F(YEAR, 12), names=["mos", "mon", "months"],
    note="a month is 1/12 of a 365.25-day year, 30.4375 days")
add("common year", "common year", T, 365 * 86400)
add("leap year", "leap year", T, 366 * 86400)
add("gregorian year", "gregorian year", T, F("365.2425") * 86400)
add("decade", "decade", T, 10 * YEAR)
add("century", "century", T, 100 * YEAR)
add("millennium", "millennium", T, 1000 * YEAR)

# Temperature (kelvin): value in K = value * factor + offset
add("K", "kelvin", TEMP, 1, symbols=["°K", "degK"], prefixes=si("m", "µ", "n"), prefix_symbols=["K"])
add("°C", "degree Celsius", TEMP, 1, offset=F("273.15"), symbols=["C", "degC", "ºC"], plural="degrees Celsius",
    names=["celsius", "centigrade", "degree centigrade", "degrees centigrade", "deg C", "degrees C"])
add("°F", "degree Fahrenheit", TEMP, F(5, 9), offset=F("459.67") * F(5, 9), symbols=["F", "degF", "ºF"],
    plural="degrees Fahrenheit", names=["fahrenheit", "deg F", "degrees F"])
add("°R", "degree Rankine", TEMP, F(5, 9), symbols=["R", "degR", "ºR"], plural="degrees Rankine", names=["rankine"])

# Data (bit)
add("B", "byte", D, 8, prefixes=SI_BIG + BINARY)
add("octet", "octet", D, 8)
SYMBOLS["KB"] = SYMBOLS["kB"]
add("bit", "bit", D, 1, symbols=["b"], prefixes=SI_BIG + BINARY, prefix_symbols=["bit", "b"])
add("nibble", "nibble", D, 4)
for p, n, f in [("", "", 1)] + [(s, n, f) for s, n, f in SI_BIG if s in "kMGT"]:
    rate = Unit(f"{p}bit/s", f"{n}bit per second", dmul(D, dpow(T, -1)), f, plural=f"{n}bits per second")
    register(rate, [f"{p}bps", f"{p}bit/s"], [f"{n}bits per second", f"{n}bit per second"])

# Angle (degree)
add("°", "degree", A, 1, symbols=["deg", "arcdeg"], names=["degs", "arc degree", "arc degrees"])
add("arcmin", "arcminute", A, F(1, 60), symbols=["′"], names=["minute of arc", "minutes of arc", "arc minute", "arc minutes"])
add("arcsec", "arcsecond", A, F(1, 3600), symbols=["″"], names=["second of arc", "seconds of arc", "arc second", "arc seconds"])
add("rad", "radian", A, 180 / PI, approx=True, prefixes=si("m", "µ"))
add("grad", "gradian", A, F(9, 10), symbols=["gon"], names=["grade", "grades", "gons"])
add("turn", "turn", A, 360, symbols=["rev", "tr"], names=["revolution", "revolutions", "revs", "cycle", "cycles"])

# Area (m²), volume (m³), speed and acceleration beyond the compounds of length and time
add("ha", "hectare", dpow(L, 2), 10000)
add("are", "are", dpow(L, 2), 100, plural="ares")
add("ac", "acre", dpow(L, 2), F("4046.8564224"))
add("barn", "barn", dpow(L, 2), ten(-28))
add("L", "litre", dpow(L, 3), F(1, 1000), symbols=["l", "ℓ"], names=["liter", "liters"], prefixes=SI_ALL)
add("cc", "cubic centimetre", dpow(L, 3), ten(-6), names=["cubic centimeter", "cubic centimeters", "ccs"])
US_GAL = F("0.003785411784")
IMP_GAL = F("0.00454609")
add("US gal", "US gallon", dpow(L, 3), US_GAL, symbols=["gal"], names=["gallon", "gallons", "gal US", "usgal"],
    note="gal, qt, pt, cup, fl oz, tbsp and tsp are US customary; the imperial ones are 'imp gal', 'imp qt', 'imp pt', 'imp fl oz'")
add("US qt", "US quart", dpow(L, 3), US_GAL / 4, symbols=["qt"], names=["quart", "quarts"])
add("US pt", "US pint", dpow(L, 3), US_GAL / 8, symbols=["pt"], names=["pint", "pints"])
add("US cup", "US cup", dpow(L, 3), US_GAL / 16, symbols=["cup"], names=["cups"])
add("US fl oz", "US fluid ounce", dpow(L, 3), US_GAL / 128, symbols=["fl oz", "floz", "fl. oz."], names=["fluid ounce", "fluid ounces"])
add("tbsp", "tablespoon", dpow(L, 3), US_GAL / 256, symbols=["Tbsp", "tbs"])
add("tsp", "teaspoon", dpow(L, 3), US_GAL / 768)
add("imp gal", "imperial gallon", dpow(L, 3), IMP_GAL, symbols=["gal imp", "UK gal"], names=["UK gallon", "UK gallons", "impgal"])
add("imp qt", "imperial quart", dpow(L, 3), IMP_GAL / 4, names=["UK quart", "UK quarts"])
add("imp pt", "imperial pint", dpow(L, 3), IMP_GAL / 8, names=["UK pint", "UK pints"])
add("imp fl oz", "imperial fluid ounce", dpow(L, 3), IMP_GAL / 160, names=["UK fluid ounce", "UK fluid ounces", "UK fl oz"])
add("bbl", "barrel", dpow(L, 3), US_GAL * 42, names=["oil barrel", "oil barrels"])
add("ac ft", "acre-foot", dpow(L, 3), F("4046.8564224") * F("0.3048"), plural="acre-feet", names=["acre foot", "acre feet", "acft", "af"])
add("mph", "mile per hour", dmul(L, dpow(T, -1)), F("1609.344") / 3600, plural="miles per hour")
add("kph", "kilometre per hour", dmul(L, dpow(T, -1)), F(1000, 3600), symbols=["kmh", "kmph"], plural="kilometres per hour",
    names=["kilometer per hour", "kilometers per hour"])
add("kn", "knot", dmul(L, dpow(T, -1)), F(1852, 3600), symbols=["kt", "kts"])
add("c₀", "speed of light", dmul(L, dpow(T, -1)), 299792458, plural="speed of light", names=["lightspeed"])
add("g₀", "standard gravity", dmul(L, dpow(T, -2)), F("9.80665"), symbols=["g0", "gn"], plural="standard gravities", names=["gee", "gees"])

# Force, energy, power, pressure, frequency
FORCE, ENERGY, POWER = dmul(M, dmul(L, dpow(T, -2))), dmul(M, dmul(dpow(L, 2), dpow(T, -2))), dmul(M, dmul(dpow(L, 2), dpow(T, -3)))
PRESSURE = dmul(M, dmul(dpow(L, -1), dpow(T, -2)))
LBF = F("0.45359237") * F("9.80665")
add("N", "newton", FORCE, 1, prefixes=SI_ALL)
add("dyn", "dyne", FORCE, ten(-5))
add("lbf", "pound-force", FORCE, LBF, plural="pounds-force", names=["pound force", "pounds force", "pound-forces"])
add("kgf", "kilogram-force", FORCE, F("9.80665"), symbols=["kp"], plural="kilograms-force", names=["kilopond", "kiloponds", "kilogram force"])
add("J", "joule", ENERGY, 1, prefixes=SI_ALL)
add("cal", "calorie", ENERGY, F("4.184"), names=["thermochemical calorie"], prefixes=si("k", "M"),
    note="a calorie is the thermochemical calorie, 4.184 J; 'Cal' (food calorie) is a kilocalorie")
SYMBOLS["Cal"] = SYMBOLS["kcal"]
NAMES[name_key("food calorie")] = NAMES[name_key("food calories")] = SYMBOLS["kcal"]
add("Wh", "watt-hour", ENERGY, 3600, names=["watt hour", "watt hours", "watthour", "watthours"], prefixes=si("m", "k", "M", "G", "T", "P"))
add("eV", "electronvolt", ENERGY, F("1.602176634e-19"), names=["electron volt", "electron volts"], prefixes=si("m", "k", "M", "G", "T"))
add("BTU", "British thermal unit", ENERGY, F("1055.05585262"), symbols=["Btu", "btu"], names=["BTU (IT)"])
add("thm", "therm", ENERGY, F("105505585.262"), names=["therms"])
add("erg", "erg", ENERGY, ten(-7))
add("ft·lbf", "foot-pound", ENERGY, F("0.3048") * LBF, symbols=["ft*lbf", "ft lbf", "ft-lbf", "ft-lb", "ft lb", "ft·lb", "lbf·ft", "lbf ft", "lb ft", "lb-ft"],
    names=["foot pound", "foot pounds", "foot-pound-force", "foot-pounds-force"])
add("W", "watt", POWER, 1, prefixes=SI_ALL)
add("hp", "horsepower", POWER, 550 * F("0.3048") * LBF, plural="horsepower", symbols=["HP", "bhp"],
    names=["mechanical horsepower", "imperial horsepower"])
add("PS", "metric horsepower", POWER, F("735.49875"), plural="metric horsepower", symbols=["cv", "CV"], names=["pferdestärke"])
add("Pa", "pascal", PRESSURE, 1, prefixes=SI_ALL)
add("bar", "bar", PRESSURE, 100000, prefixes=si("m", "k", "M", "µ"))
NAMES[name_key("mb")] = [SYMBOLS["MB"], SYMBOLS["Mb"], SYMBOLS["mbar"]]
add("atm", "standard atmosphere", PRESSURE, 101325, names=["atmosphere", "atmospheres"])
add("at", "technical atmosphere", PRESSURE, F("98066.5"))
add("Torr", "torr", PRESSURE, F(101325, 760), plural="torr", symbols=["torr"], prefixes=si("m"))
add("mmHg", "millimetre of mercury", PRESSURE, F("133.322387415"), plural="millimetres of mercury",
    names=["millimeter of mercury", "millimeters of mercury"])
add("inHg", "inch of mercury", PRESSURE, F("3386.389"), plural="inches of mercury")
add("psi", "pound per square inch", PRESSURE, LBF / F("0.0254") ** 2, plural="pounds per square inch", symbols=["lbf/in²", "lbf/in2"])
add("ksi", "kilopound per square inch", PRESSURE, 1000 * LBF / F("0.0254") ** 2, plural="kilopounds per square inch")
add("mmH₂O", "millimetre of water", PRESSURE, F("9.80665"), plural="millimetres of water", symbols=["mmH2O", "mmWC"])
add("cmH₂O", "centimetre of water", PRESSURE, F("98.0665"), plural="centimetres of water", symbols=["cmH2O"])
add("inH₂O", "inch of water", PRESSURE, F("249.08891"), plural="inches of water", symbols=["inH2O", "inWC"], approx=True)
add("Hz", "hertz", dpow(T, -1), 1, prefixes=SI_ALL)
add("%", "percent", ZERO, F(1, 100), plural="percent", names=["per cent", "pct"])
add("‰", "per mille", ZERO, F(1, 1000), plural="per mille", names=["permille", "per mil"])
add("ppm", "part per million", ZERO, ten(-6), plural="parts per million")
add("ppb", "part per billion", ZERO, ten(-9), plural="parts per billion")
add("rpm", "revolution per minute", dpow(T, -1), F(1, 60), plural="revolutions per minute", symbols=["RPM", "r/min"])

add("mpg", "mile per US gallon", dpow(L, -2), F("1609.344") / US_GAL, plural="miles per US gallon",
    symbols=["mpg US", "MPG"], names=["miles per gallon", "mile per gallon"])
add("mpg imp", "mile per imperial gallon", dpow(L, -2), F("1609.344") / IMP_GAL, plural="miles per imperial gallon",
    symbols=["mpg (imp)", "mpg UK", "mpg (UK)"], names=["miles per UK gallon"])

# Lower-cased symbols, found when nothing matches exactly; several units there make it ambiguous.
LOWER = {}
for s, u in SYMBOLS.items():
    entry = LOWER.setdefault(s.lower(), [])
    if u not in entry: entry.append(u)

class UnitError(Exception): pass

def describe(units):
    return ", ".join(f"'{u.symbol}' ({u.name})" for u in units)

def suggestions(text):
    """Up to three spellings close to `text`, of different units."""
    spellings = {}
    for symbol, unit in SYMBOLS.items(): spellings.setdefault(symbol.lower(), (symbol, unit))
    for key, unit in NAMES.items():
        if not isinstance(unit, list): spellings.setdefault(key, (SPELLED.get(key, key), unit))
    close = difflib.get_close_matches(text.lower(), list(spellings), n=10, cutoff=0.7)
    close += difflib.get_close_matches(name_key(text), list(spellings), n=10, cutoff=0.7)
    shown, units = [], []
    for key in close:
        spelling, unit = spellings[key]
        if unit not in units and len(shown) < 3:
            shown.append(spelling)
            units.append(unit)
    return shown

def unknown(text):
    hint = suggestions(text)
    return UnitError(f"unknown unit '{text}'" + (f"; did you mean {' or '.join(repr(h) for h in hint)}?" if hint else ""))

def lookup(text):
    """The unit named by `text` (one unit, no operators or powers), or None."""
    if text in SYMBOLS: return SYMBOLS[text]
    found = NAMES.get(name_key(text))
    if found is None:
        candidates = LOWER.get(text.lower(), [])
        found = candidates if len(candidates) > 1 else candidates[0] if candidates else None
    if isinstance(found, list):
        raise UnitError(f"'{text}' is ambiguous: it could be {describe(found)}; say which")
    return found

class Quantity:
    """A unit expression: its factor to SI units, its dimensions, and for a lone temperature unit
    the offset of its zero (in kelvin)."""
    def __init__(self, text):
        self.factor, self.dims, self.offset, self.approx = F(1), ZERO, None, False
        self.text, self.symbol, self.notes = text, "", []

    def multiply(self, unit, power, shown):
        self.factor *= unit.factor ** power
        self.dims = dmul(self.dims, dpow(unit.dims, power))
        self.approx = self.approx or unit.approx
        if unit.note and unit.note not in self.notes: self.notes.append(unit.note)

SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
NUMBER = r"\d+(?:\.\d+)?(?:[eE][+-]?\d+)?"

def powered(text):
    """A unit with a power: m2, m^2, m², sq m, square metres, cubic feet, s squared; or None."""
    unit = lookup(text)
    if unit is not None: return unit, 1
    patterns = [(r"^(?:square|sq\.?)\s*(.+)$", 2), (r"^(?:cubic|cu\.)\s*(.+)$", 3), (r"^cu\s+(.+)$", 3),
                (r"^(.+?)\s+squared$", 2), (r"^(.+?)\s+cubed$", 3)]
    for pattern, power in patterns:
        m = re.match(pattern, text, re.I)
        if m and (unit := lookup(m.group(1).strip())) is not None: return unit, power
    m = re.match(r"^(.*?[^\d\s^+-])\s*\^?\s*([+-]?\d)$", text)
    if m and (unit := lookup(m.group(1).strip())) is not None: return unit, int(m.group(2))
    for pattern in (r"^(?:square|sq\.?|cubic|cu\.?)\s+(.+)$", r"^(?:sq|cu)\.(.+)$", r"^(.+?)\s+(?:squared|cubed)$"):
        m = re.match(pattern, text, re.I)    # "square metrs": the unknown unit is the one inside
        if m and suggestions(m.group(1).strip()): raise unknown(m.group(1).strip())
    return None

def factors(text):
    """The (unit, power) or (number, 1) factors of one term between operators: a unit, a unit with
    a power, a number (the 100 of L/100 km), or such factors separated by spaces (N m, m s-1)."""
    if re.fullmatch(NUMBER, text): return [(F(text), 1)]
    found = powered(text)
    if found: return [found]
    m = re.match(rf"^({NUMBER})\s*(.+)$", text)
    if m and (found := powered(m.group(2))): return [(F(m.group(1)), 1), found]
    if " " in text:
        parts = [powered(w) if not re.fullmatch(NUMBER, w) else (F(w), 1) for w in text.split(" ")]
        if all(parts): return parts
    raise unknown(text)

def parse(text, role):
    if not isinstance(text, str): raise UnitError(f"'{role}' must be a string naming a unit")
    if not text.strip(): raise UnitError(f"'{role}' is empty")
    if len(text) > 100: raise UnitError(f"'{role}' is longer than 100 characters")
    text = normalize(text)
    q = Quantity(text)
    # A unit written whole (fl oz, ft·lbf, psi, lbf/in2, miles per hour) before splitting on operators.
    try:
        whole = lookup(text)
    except UnitError:
        whole = None
        if not re.search(r"[/*·⋅×]|\bper\b", text): raise
    if whole is not None:
        q.multiply(whole, 1, whole.symbol)
        q.symbol, q.text = whole.symbol, whole.plural
        if whole.dims == TEMP: q.offset = whole.offset
        return q
    pieces = re.split(r"\s*(/|\*|·|⋅|×|\bper\b)\s*", text, flags=re.I)
    lone = None
    for i in range(0, len(pieces), 2):
        if not pieces[i]: raise UnitError(f"'{text}' is not a unit: an operator has nothing on one side")
        divide = i > 0 and pieces[i - 1].lower() in ("/", "per")
        shown = []
        for unit, power in factors(pieces[i]):
            if isinstance(unit, F):
                q.factor = q.factor / unit if divide else q.factor * unit
                shown.append(str(unit) if unit.denominator == 1 else show(unit)[0])
                continue
            q.multiply(unit, -power if divide else power, unit.symbol)
            shown.append(unit.symbol + (str(power).translate(SUPERSCRIPT) if power != 1 else ""))
            lone = (unit, power)
        joined = " ".join(shown) if any(c.isdigit() for c in shown[0][:1]) else "·".join(shown)
        q.symbol = joined if i == 0 else q.symbol + ("/" if divide else "·") + joined
    if len(pieces) == 1 and lone and lone[0].dims == TEMP and lone[1] == 1 and q.factor == lone[0].factor:
        q.offset = lone[0].offset
    return q

def number(value):
    """The argument as an exact fraction (JSON numbers arrive as int or Decimal, so 0.1 is exactly 1/10)."""
    if isinstance(value, bool): raise UnitError("value must be a number, not a boolean")
    if isinstance(value, str):
        try: value = Decimal(value.strip().replace("_", "")) if "/" not in value else F(value.strip())
        except Exception: raise UnitError(f"value must be a number, not {value!r}")
    if isinstance(value, float): value = Decimal(repr(value))
    if isinstance(value, Decimal):
        if not value.is_finite(): raise UnitError("value must be a finite number")
        if abs(value.adjusted()) > 400: raise UnitError("value is out of range (its exponent must be within ±400)")
        return F(value)
    if isinstance(value, (int, F)):
        if abs(value) > ten(400): raise UnitError("value is out of range")
        return F(value)
    raise UnitError("value must be a number")

def show(value, digits=15):
    """The value in decimal and whether that is exact: in full when it has at most 30 significant
    digits, else rounded to `digits`; scientific notation below 1e-6 and from 1e21."""
    if value.denominator == 1 and len(str(abs(value.numerator))) <= 21: return str(value.numerator), True
    with localcontext() as ctx:
        ctx.prec = 30
        d = Decimal(value.numerator) / Decimal(value.denominator)
        if F(d) != value:
            ctx.prec = digits
            d = Decimal(value.numerator) / Decimal(value.denominator)
    exact = F(d) == value
    d = d.normalize()
    if d == 0: return "0", exact
    if -6 <= d.adjusted() < 21: return format(d, "f"), exact
    sign, ds, _ = d.as_tuple()
    mantissa = "".join(map(str, ds))
    mantissa = mantissa[0] + ("." + mantissa[1:] if len(mantissa) > 1 else "")
    return ("-" if sign else "") + f"{mantissa}e{d.adjusted()}", exact

def convert(arguments):
    if not isinstance(arguments, dict): raise UnitError("the arguments must be a JSON object")
    for key in ("value", "from", "to"):
        if key not in arguments: raise UnitError(f"'{key}' is required")
    value = number(arguments["value"])
    source, target = parse(arguments["from"], "from"), parse(arguments["to"], "to")
    reciprocal = source.dims != target.dims and source.dims == dpow(target.dims, -1) and source.dims != ZERO
    if source.dims != target.dims and not reciprocal:
        raise UnitError(f"cannot convert {source.text} to {target.text}: "
                        f"{dimension_name(source.dims)} vs {dimension_name(target.dims)}")
    if reciprocal:                                                  # mpg and L/100 km, s and Hz
        if value == 0: raise UnitError(f"0 {source.symbol} has no reciprocal in {target.symbol}")
        result = 1 / (value * source.factor * target.factor)
        source.notes.append(f"{dimension_name(source.dims)} and {dimension_name(target.dims)} are inverses of each other, "
                            "so this is the reciprocal (as between mpg and L/100 km)")
    elif source.offset is not None or target.offset is not None:    # absolute temperatures
        kelvin = value * source.factor + (source.offset or 0)
        if kelvin < 0:
            raise UnitError(f"{show(value)[0]} {source.symbol} is below absolute zero "
                            f"({show(-(source.offset or 0) / source.factor)[0]} {source.symbol})")
        result = (kelvin - (target.offset or 0)) / target.factor
    else:
        result = value * source.factor / target.factor
    text, exact = show(result)
    exact = exact and not (source.approx or target.approx)
    shown_value = show(value)[0]
    def unit_text(q): return "" if q.symbol == "1" else " " + q.symbol
    line = f"{shown_value}{unit_text(source)} {'=' if exact else '≈'} {text}{unit_text(target)}"
    if not exact and not (source.approx or target.approx) and len(str(result.numerator)) + len(str(result.denominator)) <= 16:
        line += f" (exactly {result.numerator}/{result.denominator})"
    notes = [n for n in source.notes + target.notes if n]
    for n in dict.fromkeys(notes): line += f"\nnote: {n}"
    return line

def main():
    try:
        arguments = json.loads(sys.stdin.read(), parse_float=Decimal, parse_int=int,
                               parse_constant=lambda c: Decimal(c))
        print(json.dumps({"result": convert(arguments)}, ensure_ascii=False))
    except UnitError as e:
        print(json.dumps({"error": str(e)}, ensure_ascii=False))
    except (ValueError, TypeError, RecursionError) as e:
        print(json.dumps({"error": f"invalid arguments: {e}"}, ensure_ascii=False))

if __name__ == "__main__":
    main()
