"""The ``none`` backend: no model; each stage reports what the tools found, as clues.

It sees no pixels and proposes no places of its own: the tools' claims (a GPS fix,
the countries the text's language implies, the places a sign names, the map features
its lines name) become candidates in verification, for this backend as for any other,
and the planner (:mod:`gre.agent.planner`) chooses the tools. What is left here is
the record a model would otherwise write: the text read, its languages and scripts,
the place names found, and a one-line summary per stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from gre.agent.evidence import ocr_lines
from gre.agent.vlm.base import BackendCapabilities, StageContext
from gre.records import Clue, PlaceClaim, Stage, StageResult
from gre.tools.gazetteer import GazetteerOutput
from gre.tools.gazetteer.claims import line_of, mention_strength
from gre.tools.text_clues import TextCluesOutput

NO_SCENE = (
    "no model configured: scene attributes (setting, climate, vegetation, architecture, "
    "road furniture, driving side) were not assessed"
)


class RulesBackend:
    """Tools-only reasoning: the tools' results as clues and summaries."""

    name = "none"
    model: str | None = None
    capabilities = BackendCapabilities(sees_pixels=False, refines=False, generates_text=False)
    """No eyes and no judgement: a second look at the scene, or at the semantics with the
    disagreement stated, adds nothing without a model (only a re-read of the text can)."""

    def propose(self, stage: Stage, images: Sequence[Path], context: StageContext) -> StageResult:
        if stage == "scene":
            return StageResult(stage=stage, backend=self.name, summary=NO_SCENE)
        clues = _details(context) if stage == "details" else _semantic(context)
        seen = {(c.kind, c.value) for c in context.clues}
        fresh: list[Clue] = []
        for clue in clues:
            if (clue.kind, clue.value) not in seen:
                seen.add((clue.kind, clue.value))
                fresh.append(clue)
        summary = _summary(stage, fresh, context)
        return StageResult(stage=stage, backend=self.name, summary=summary, clues=fresh)

    def prepare(self) -> str | None:
        return None

    def close(self) -> None:
        return None


def _details(context: StageContext) -> list[Clue]:
    clues = [
        Clue(
            stage="details",
            kind="text",
            value=line.text,
            confidence=min(1.0, line.confidence / 100.0),
            source="ocr",
        )
        for line in ocr_lines(context.evidence)
    ]
    for ev in context.results_of("text_clues")[-1:]:
        try:
            out = TextCluesOutput.model_validate(ev.result)
        except ValidationError:
            continue
        for lang in out.languages:
            clues.append(
                Clue(
                    stage="details",
                    kind="language",
                    value=f"{lang.code} ({lang.name})",
                    confidence=lang.confidence,
                    source="text_clues",
                )
            )
        for script in out.scripts:
            if script.script != "Latin":
                clues.append(
                    Clue(
                        stage="details",
                        kind="script",
                        value=script.script,
                        confidence=script.share,
                        source="text_clues",
                    )
                )
    return clues


def _semantic(context: StageContext) -> list[Clue]:
    clues: list[Clue] = []
    for ev in context.results_of("gazetteer"):
        if ev.query.get("mode") != "scan":
            continue
        try:
            scan = GazetteerOutput.model_validate(ev.result)
        except ValidationError:
            continue
        text = scan.text or ""
        for mention in scan.mentions:
            if mention.places:
                strength = mention_strength(mention.text, line_of(text, mention.start, mention.end))
                clues.append(
                    Clue(
                        stage="semantic",
                        kind="place_name",
                        value=mention.text,
                        confidence=round(strength, 3),
                        source="gazetteer",
                    )
                )
    return clues


def _claims(context: StageContext, tools: tuple[str, ...]) -> list[PlaceClaim]:
    """This run's claims by ``tools``, strongest first."""
    claims = [c for ev in context.evidence if ev.ok and ev.tool in tools for c in ev.claims]
    return sorted(claims, key=lambda c: -c.weight)


def _summary(stage: Stage, clues: list[Clue], context: StageContext) -> str:
    if stage == "details":
        texts = sum(1 for c in clues if c.kind == "text")
        summary = f"{texts} new text line(s) read" if texts else "no new text read"
        countries = [c for ev in context.results_of("text_clues")[-1:] for c in ev.claims]
        if countries:
            summary += "; countries from the text: " + ", ".join(
                f"{c.country} {c.weight:.2f}" for c in countries[:4]
            )
        return summary
    places = [c for c in _claims(context, ("gazetteer", "osm", "overpass")) if c.level != "country"]
    if not places:
        return "no place names found in the text"
    best = ", ".join(f"{c.label} ({c.country or '?'}) {c.weight:.2f}" for c in places[:3])
    return f"{len(places)} place(s) named in the text; best: {best}"
