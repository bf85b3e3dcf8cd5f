"""The ``none`` backend: no model, the stages are driven by rules over tool results.

It sees no pixels itself. Its clues are what the tools read (OCR text,
language, script) and its hypotheses are what the tools resolved (countries
from the language, places named in the text). The weights below are the whole
of its judgement; they are deliberately simple and documented here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gre.agent.evidence import ocr_lines
from gre.agent.schema import Clue, Hypothesis, Level, Stage, StageResult
from gre.agent.vlm.base import StageContext
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


def _match_quality(place: dict[str, Any]) -> float:
    """1 for an exact or folded match; a fuzzy one counts far less (OCR noise, a near-miss)."""
    if place.get("match") == "fuzzy":
        return max(0.0, (float(place.get("score", 0.0)) - 80.0) / 20.0) * 0.6
    return 1.0


def _mention_strength(text: str, lines: set[str]) -> float:
    """How likely a matched span names a place: a whole sign line, several words, length."""
    folded = fold(text)
    strength = 0.5
    if folded in lines:
        strength += 0.2
    if len(folded.split()) >= 2:
        strength += 0.1
    return min(1.0, strength + min(0.2, len(folded) / 50.0))


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
        lines = {fold(c.value) for c in context.clues if c.kind == "text"}
        known = {h.ref for h in context.hypotheses if h.ref}
        best: dict[str, Hypothesis] = {}
        clues: list[Clue] = []
        for ev in context.results_of("gazetteer"):
            for mention in ev.result.get("mentions", []):
                places = list(mention.get("places", []))[:MAX_HOMONYMS]
                if not places:
                    continue
                strength = _mention_strength(str(mention["text"]), lines)
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
                    confidence = (
                        _match_quality(place)
                        * strength
                        * share
                        * _population_prior(int(place.get("population") or 0))
                    )
                    hyp = Hypothesis(
                        level=_PLACE_LEVEL.get(str(place.get("kind")), "city"),
                        name=str(place["name"]),
                        country_code=place.get("country_code"),
                        lat=float(place["lat"]),
                        lon=float(place["lon"]),
                        radius_km=float(place.get("radius_km") or 5.0),
                        confidence=round(min(0.9, confidence), 4),
                        rationale=(
                            f"text {mention['text']!r} matches {place['name']} "
                            f"({place.get('match')}, pop. {place.get('population') or 0})"
                        ),
                        ref=ref,
                    )
                    if key in known:
                        continue
                    if key not in best or best[key].confidence < hyp.confidence:
                        best[key] = hyp
        hypotheses = sorted(best.values(), key=lambda h: -h.confidence)
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
