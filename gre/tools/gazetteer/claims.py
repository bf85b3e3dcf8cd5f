"""What a gazetteer result asserts: places named in a text, a looked-up place, a country.

A scanned text's mentions are weighed by a few documented rules, the whole of the
tools-only path's judgement of place names:

- match quality: an exact or folded match counts fully, a fuzzy one far less;
- how the name sits on its sign line: a name that fills its line beside distances and
  route numbers ("Névache 4,2 km", "A4 STRASBOURG") is a destination; a name inside a
  longer phrase ("Pont de Fortville", "Palais du Louvre") more often names a feature
  that carries the place's name; very short names are often accidental;
- homonyms share the mention by population (smoothed), and a population prior favours
  places that are named more often (hiking signs still name hamlets);
- a region-level match counts less than a town (signs name towns far more often);
- names on one sign that lie close together support each other.

The text's language (whether the place's country speaks it) is the text clues'
business: their result contradicts foreign candidates.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from gre.geo import haversine_km
from gre.records import ClaimLevel, PlaceClaim
from gre.textnorm import fold
from gre.tools.gazetteer.places import CountryInfo, Mention, Place

PLACE_LEVEL: dict[str, ClaimLevel] = {
    "city": "city",
    "admin2": "region",
    "admin1": "region",
    "country": "country",
    "continent": "continent",
}
MAX_HOMONYMS = 4
MAX_WEIGHT = 0.9
REGION_FACTOR = 0.6
PART_FACTOR = 0.6
FUZZY_LOOKUP_FACTOR = 0.7
SIGN_SPAN_KM = 60.0
COLOCATION_WEIGHT = 0.3
_UNITS = frozenset({"km", "m", "mi", "h", "min", "mn", "ft", "yd"})
_NUMERIC = re.compile(r"^\d+([.,]\d+)?(km|m|h|mn|min)?$")
_ROUTE = re.compile(r"^[a-z]{1,3}\d{1,4}[a-z]?$")
_ROUTE_SPACED = re.compile(r"\b([a-z]{1,3}) (\d{1,4}[a-z]?)\b(?![.,]\d)")


def match_quality(place: Place) -> float:
    """1 for an exact or folded match; a fuzzy one counts far less (OCR noise, a near-miss)."""
    if place.match == "fuzzy":
        return max(0.0, (place.score - 80.0) / 20.0) * 0.6
    return 1.0


def line_of(text: str, start: int, end: int) -> str:
    """The line of ``text`` that holds the span [start, end)."""
    head = text.rfind("\n", 0, start) + 1
    tail = text.find("\n", end)
    return text[head : tail if tail >= 0 else len(text)]


def _is_filler(word: str) -> bool:
    """Distances, times, numbers and route codes ("A4", "A 4" read as two words)."""
    return word in _UNITS or bool(_NUMERIC.match(word)) or bool(_ROUTE.match(word))


def mention_strength(text: str, line: str) -> float:
    """How likely a matched span names a place (see the module docstring)."""
    folded = fold(text)
    rest = _ROUTE_SPACED.sub(r"\1\2", fold(line).replace(folded, " ", 1)).split()
    whole = all(_is_filler(w) for w in rest)
    strength = 0.7 if whole else 0.5
    if len(folded.split()) >= 2:
        strength += 0.1
    strength = min(1.0, strength + min(0.2, len(folded) / 50.0))
    return strength * (1.0 if whole else PART_FACTOR) * (0.5 if len(folded) <= 3 else 1.0)


def population_prior(population: int) -> float:
    """Big places are named more often; tiny ones still count (hiking signs name hamlets)."""
    return 0.4 + 0.6 * min(1.0, math.log10(max(population, 0) + 1) / 6.0)


def homonym_shares(places: Sequence[Place]) -> list[float]:
    """Share of each homonym by population, smoothed so small places are not zero."""
    pops = [max(place.population, 0) + 1000 for place in places]
    total = float(sum(pops))
    return [p / total for p in pops]


def label(place: Place, level: ClaimLevel) -> str:
    """ "Strasbourg, Grand Est, FR" for a town, "Bavaria, DE" for a region, "France"."""
    parts = [place.name]
    if level in ("city", "street") and place.admin1 and place.admin1 != place.name:
        parts.append(place.admin1)
    if place.country_code and level != "country":
        parts.append(place.country_code)
    return ", ".join(parts)


def _ref(place: Place) -> str | None:
    return f"geonames:{place.geonameid}" if place.geonameid else None


def scan_claims(mentions: Sequence[Mention], text: str) -> list[PlaceClaim]:
    """The places a scanned text names, one claim per place (its best mention), best first."""
    best: dict[str, tuple[str, PlaceClaim]] = {}
    for mention in mentions:
        places = mention.places[:MAX_HOMONYMS]
        if not places:
            continue
        strength = mention_strength(mention.text, line_of(text, mention.start, mention.end))
        for place, share in zip(places, homonym_shares(places), strict=True):
            level = PLACE_LEVEL.get(place.kind, "city")
            weight = (
                match_quality(place)
                * strength
                * share
                * population_prior(place.population)
                * (REGION_FACTOR if level == "region" else 1.0)
            )
            claim = PlaceClaim(
                lat=place.lat,
                lon=place.lon,
                radius_km=place.radius_km or 5.0,
                level=level,
                label=place.name,
                weight=round(min(MAX_WEIGHT, weight), 4),
                country=place.country_code,
                ref=_ref(place),
                why=(
                    f"text {mention.text!r} matches {place.name} "
                    f"({place.match}, pop. {place.population})"
                ),
            )
            key = claim.ref or f"{place.name}@{place.lat:.3f},{place.lon:.3f}"
            if key not in best or best[key][1].weight < claim.weight:
                best[key] = (fold(mention.text), claim)
    claims = _colocated(list(best.values()))
    return sorted(claims, key=lambda c: -c.weight)


def _colocated(claims: list[tuple[str, PlaceClaim]]) -> list[PlaceClaim]:
    """Each other mention with a place within ``SIGN_SPAN_KM`` adds ``COLOCATION_WEIGHT``.

    A sign lists destinations tens of kilometres apart, not continents apart (noisy-OR).
    """
    out: list[PlaceClaim] = []
    for span, claim in claims:
        near = {
            other_span
            for other_span, other in claims
            if other_span != span
            and haversine_km(claim.lat, claim.lon, other.lat, other.lon) <= SIGN_SPAN_KM
        }
        if near:
            boosted = 1.0 - (1.0 - claim.weight) * (1.0 - COLOCATION_WEIGHT) ** len(near)
            claim = claim.model_copy(
                update={
                    "weight": round(min(MAX_WEIGHT, boosted), 4),
                    "why": f"{claim.why}; near other names on the sign: " + ", ".join(sorted(near)),
                }
            )
        out.append(claim)
    return out


def lookup_claim(places: Sequence[Place]) -> list[PlaceClaim]:
    """The best place a name look-up found (a fuzzy match counts less)."""
    if not places:
        return []
    best = places[0]
    level = PLACE_LEVEL.get(best.kind, "city")
    weight = 1.0
    if best.match == "fuzzy":
        weight = best.score / 100.0 * FUZZY_LOOKUP_FACTOR
    return [
        PlaceClaim(
            lat=best.lat,
            lon=best.lon,
            radius_km=best.radius_km or 8.0,
            level=level,
            label=label(best, level),
            weight=round(min(1.0, weight), 4),
            country=best.country_code,
            ref=_ref(best),
            why=f"{best.matched_name or best.name!r} is {best.name} ({best.match or 'exact'})",
        )
    ]


def country_disc(info: CountryInfo, *, weight: float = 1.0, why: str = "") -> PlaceClaim:
    """A country's disc (centre of its population, radius of its extent) at ``weight``."""
    return PlaceClaim(
        lat=info.lat,
        lon=info.lon,
        radius_km=info.radius_km,
        level="country",
        label=info.name,
        weight=weight,
        country=info.code,
        ref=f"country:{info.code}",
        why=why or f"{info.name} ({info.code})",
    )


def country_claim(info: CountryInfo) -> list[PlaceClaim]:
    """The country a look-up asked about."""
    return [country_disc(info)]
