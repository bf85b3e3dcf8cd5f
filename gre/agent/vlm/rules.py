"""The ``none`` backend: no model, the stages are driven by rules over tool results.

It sees no pixels itself. Its clues are what the tools read (OCR text,
language, script) and its hypotheses are what the tools resolved (countries
from the language, places named in the text). The weights below are the whole
of its judgement; they are deliberately simple and documented here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gre.agent.evidence import ocr_lines
from gre.agent.lookups import feature_hypotheses
from gre.agent.vlm.base import BackendCapabilities, StageContext
from gre.geo import haversine_km
from gre.records import Clue, Hypothesis, Level, Stage, StageResult
from gre.textnorm import fold

_PLACE_LEVEL: dict[str, Level] = {
    "city": "city",
    "admin2": "region",
    "admin1": "region",
    "country": "country",
    "continent": "continent",
}
MIN_COUNTRY_WEIGHT = 0.03
MAX_COUNTRIES = 8
MAX_HOMONYMS = 4
REGION_FACTOR = 0.6
"""Signs name towns far more often than provinces: a region-level match counts less."""
SIGN_LINE_CONFIDENCE = 0.7
"""A map feature named by a whole sign line (looked up because the gazetteer did not know it)."""
PART_FACTOR = 0.6
"""A name inside a longer phrase more often names a feature (bridge, lake) than the place."""
FOREIGN_FACTOR = 0.25
"""A place where none of the text's languages is at home ("Pont de Fortville" read on a
French sign, Fortville being in Indiana) keeps this share of its weight when the language
is certain; less certain languages penalise it proportionally less."""
SIGN_SPAN_KM = 60.0
COLOCATION_WEIGHT = 0.3
_UNITS = frozenset({"km", "m", "mi", "h", "min", "mn", "ft", "yd"})
_NUMERIC = re.compile(r"^\d+([.,]\d+)?(km|m|h|mn|min)?$")
_ROUTE = re.compile(r"^[a-z]{1,3}\d{1,4}[a-z]?$")


def _match_quality(place: dict[str, Any]) -> float:
    """1 for an exact or folded match; a fuzzy one counts far less (OCR noise, a near-miss)."""
    if place.get("match") == "fuzzy":
        return max(0.0, (float(place.get("score", 0.0)) - 80.0) / 20.0) * 0.6
    return 1.0


def _line_of(text: str, start: int, end: int) -> str:
    """The line of ``text`` that holds the span [start, end)."""
    head = text.rfind("\n", 0, start) + 1
    tail = text.find("\n", end)
    return text[head : tail if tail >= 0 else len(text)]


def _is_filler(word: str) -> bool:
    """Distances, times, numbers and route codes: what a sign line carries beside a name."""
    return word in _UNITS or bool(_NUMERIC.match(word)) or bool(_ROUTE.match(word))


def _mention_strength(text: str, line: str) -> float:
    """How likely a matched span names a place.

    A name that fills its sign line (beside distances and route numbers, as in
    "Névache 4,2 km" or "A4 STRASBOURG") is a destination; a name inside a
    longer phrase ("Pont de Fortville", "Palais du Louvre") names something
    else that carries the place's name. Longer and multi-word names are less
    likely to be accidental; very short ones (three letters) often are.
    """
    folded = fold(text)
    rest = fold(line).replace(folded, " ", 1).split()
    whole = all(_is_filler(w) for w in rest)
    strength = 0.7 if whole else 0.5
    if len(folded.split()) >= 2:
        strength += 0.1
    strength = min(1.0, strength + min(0.2, len(folded) / 50.0))
    return strength * (1.0 if whole else PART_FACTOR) * (0.5 if len(folded) <= 3 else 1.0)


def _colocated(hyps: list[tuple[str, Hypothesis]]) -> list[Hypothesis]:
    """Places named by different spans of one text that lie close together support each other.

    A sign lists destinations tens of kilometres apart, not continents apart: each
    other mention with a place within ``SIGN_SPAN_KM`` adds ``COLOCATION_WEIGHT``
    (noisy-OR) to a hypothesis.
    """
    out: list[Hypothesis] = []
    for span, hyp in hyps:
        near = {
            other_span
            for other_span, other in hyps
            if other_span != span
            and hyp.lat is not None
            and other.lat is not None
            and other.lon is not None
            and hyp.lon is not None
            and haversine_km(hyp.lat, hyp.lon, other.lat, other.lon) <= SIGN_SPAN_KM
        }
        if near:
            boosted = 1.0 - (1.0 - hyp.confidence) * (1.0 - COLOCATION_WEIGHT) ** len(near)
            hyp = hyp.model_copy(
                update={
                    "confidence": round(min(0.9, boosted), 4),
                    "rationale": f"{hyp.rationale}; near other names on the sign: "
                    + ", ".join(sorted(near)),
                }
            )
        out.append(hyp)
    return out


def _language_fit(context: StageContext) -> Callable[[str | None], float]:
    """A weight factor per country: 1 where a language of the text is at home, less elsewhere."""
    from gre.tools.text_clues import language_homes

    latest = context.results_of("text_clues")[-1:]
    languages = [
        (str(g["code"]), float(g["confidence"]))
        for ev in latest
        for g in ev.result.get("languages", [])
    ]
    if not languages:
        return lambda _code: 1.0
    homes = frozenset().union(*(language_homes(code) for code, _ in languages))
    penalty = 1.0 - max(conf for _, conf in languages) * (1.0 - FOREIGN_FACTOR)
    return lambda code: 1.0 if code is None or code in homes else penalty


def _population_prior(population: int) -> float:
    """Big places are named more often; tiny ones still count (hiking signs name hamlets)."""
    return 0.4 + 0.6 * min(1.0, math.log10(max(population, 0) + 1) / 6.0)


def _homonym_shares(places: list[dict[str, Any]]) -> list[float]:
    """Share of each homonym by population, smoothed so small places are not zero."""
    pops = [max(int(p.get("population") or 0), 0) + 1000 for p in places]
    total = float(sum(pops))
    return [p / total for p in pops]


class RulesBackend:
    """Tools-only reasoning: turns tool results into clues and hypotheses by fixed rules."""

    name = "none"
    model: str | None = None
    capabilities = BackendCapabilities(sees_pixels=False, generates_text=False)
    """No eyes: a second look at the scene cannot separate countries without a model."""

    def propose(self, stage: Stage, images: Sequence[Path], context: StageContext) -> StageResult:
        if stage == "scene":
            return StageResult(
                stage=stage,
                backend=self.name,
                summary=(
                    "no model configured: scene attributes (setting, climate, vegetation, "
                    "architecture, road furniture, driving side) were not assessed"
                ),
            )
        if stage == "details":
            return self._details(context)
        return self._semantic(context)

    def close(self) -> None:
        return None

    def _details(self, context: StageContext) -> StageResult:
        seen = {(c.kind, c.value) for c in context.clues}
        clues: list[Clue] = []

        def add(clue: Clue) -> None:
            if (clue.kind, clue.value) not in seen:
                seen.add((clue.kind, clue.value))
                clues.append(clue)

        for line in ocr_lines(context.evidence):
            add(
                Clue(
                    stage="details",
                    kind="text",
                    value=line.text,
                    confidence=min(1.0, line.confidence / 100.0),
                    source="ocr",
                )
            )
        hypotheses: list[Hypothesis] = []
        known = {h.country_code for h in context.hypotheses if h.level == "country"}
        latest = context.results_of("text_clues")[-1:]
        for ev in latest:
            for lang in ev.result.get("languages", []):
                add(
                    Clue(
                        stage="details",
                        kind="language",
                        value=f"{lang['code']} ({lang['name']})",
                        confidence=float(lang["confidence"]),
                        source="text_clues",
                    )
                )
            for script in ev.result.get("scripts", []):
                if script["script"] != "Latin":
                    add(
                        Clue(
                            stage="details",
                            kind="script",
                            value=str(script["script"]),
                            confidence=float(script["share"]),
                            source="text_clues",
                        )
                    )
            countries = [
                c for c in ev.result.get("countries", []) if c["weight"] >= MIN_COUNTRY_WEIGHT
            ]
            for country in countries[:MAX_COUNTRIES]:
                if country["code"] in known:
                    continue
                hypotheses.append(
                    Hypothesis(
                        level="country",
                        name=country["name"],
                        country_code=country["code"],
                        confidence=min(0.9, float(country["weight"])),
                        rationale="; ".join(country.get("reasons", [])) or "text clues",
                    )
                )
        texts = sum(1 for c in clues if c.kind == "text")
        summary = f"{texts} new text line(s) read" if texts else "no new text read"
        if hypotheses:
            summary += "; countries from the text: " + ", ".join(
                f"{h.country_code} {h.confidence:.2f}" for h in hypotheses[:4]
            )
        return StageResult(
            stage="details", backend=self.name, summary=summary, clues=clues, hypotheses=hypotheses
        )

    def _semantic(self, context: StageContext) -> StageResult:
        known = {h.ref for h in context.hypotheses if h.ref}
        fit = _language_fit(context)
        best: dict[str, tuple[str, Hypothesis]] = {}
        clues: list[Clue] = []
        for ev in context.results_of("gazetteer"):
            scanned = str(ev.query.get("text") or "")
            for mention in ev.result.get("mentions", []):
                places = list(mention.get("places", []))[:MAX_HOMONYMS]
                if not places:
                    continue
                line = _line_of(scanned, int(mention["start"]), int(mention["end"]))
                strength = _mention_strength(str(mention["text"]), line)
                clues.append(
                    Clue(
                        stage="semantic",
                        kind="place_name",
                        value=str(mention["text"]),
                        confidence=round(strength, 3),
                        source="gazetteer",
                    )
                )
                for place, share in zip(places, _homonym_shares(places), strict=True):
                    ref = f"geonames:{place.get('geonameid')}" if place.get("geonameid") else None
                    key = ref or f"{place['name']}@{place['lat']:.3f},{place['lon']:.3f}"
                    level = _PLACE_LEVEL.get(str(place.get("kind")), "city")
                    language_fit = fit(place.get("country_code"))
                    confidence = (
                        _match_quality(place)
                        * strength
                        * share
                        * _population_prior(int(place.get("population") or 0))
                        * (REGION_FACTOR if level == "region" else 1.0)
                        * language_fit
                    )
                    hyp = Hypothesis(
                        level=level,
                        name=str(place["name"]),
                        country_code=place.get("country_code"),
                        lat=float(place["lat"]),
                        lon=float(place["lon"]),
                        radius_km=float(place.get("radius_km") or 5.0),
                        confidence=round(min(0.9, confidence), 4),
                        rationale=(
                            f"text {mention['text']!r} matches {place['name']} "
                            f"({place.get('match')}, pop. {place.get('population') or 0})"
                            + (
                                ""
                                if language_fit == 1.0
                                else "; the text's language is not at home there"
                            )
                        ),
                        ref=ref,
                    )
                    if key in known:
                        continue
                    if key not in best or best[key][1].confidence < hyp.confidence:
                        best[key] = (fold(str(mention["text"])), hyp)
        for ev in [*context.results_of("osm"), *context.results_of("overpass")]:
            if ev.query.get("kind") != "named":
                continue
            why = f"sign line {ev.query.get('name')!r} names an OSM feature"
            for hyp in feature_hypotheses(ev, SIGN_LINE_CONFIDENCE, why):
                if hyp.ref not in known and hyp.ref not in best:
                    best[str(hyp.ref)] = (fold(str(ev.query.get("name"))), hyp)
        hypotheses = sorted(_colocated(list(best.values())), key=lambda h: -h.confidence)
        summary = (
            f"{len(hypotheses)} place(s) named in the text; best: "
            + ", ".join(f"{h.name} ({h.country_code}) {h.confidence:.2f}" for h in hypotheses[:3])
            if hypotheses
            else "no place names found in the text"
        )
        seen_clues = {(c.kind, c.value) for c in context.clues}
        clues = [c for c in clues if (c.kind, c.value) not in seen_clues]
        return StageResult(
            stage="semantic",
            backend=self.name,
            summary=summary,
            clues=clues,
            hypotheses=hypotheses,
        )
