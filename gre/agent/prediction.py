"""The answer: a Prediction from the fused candidates, its nearest named place and its wording."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError

from gre.agent.converge import Fusion
from gre.agent.executor import Executor
from gre.records import Clue, Evidence, NamedPlace, Prediction, ToolRequest
from gre.tools.gazetteer import GazetteerOutput

FINE_LEVELS = frozenset({"city", "street"})
"""Answers this fine get a nearest named place (for a country it would mislead)."""
MAX_READ_SHOWN = 3


def nearest_place(rec: Executor, lat: float, lon: float) -> NamedPlace | None:
    """The gazetteer's nearest populated place to a point, or None (a failure is only evidence)."""
    params = {"mode": "reverse", "lat": lat, "lon": lon, "limit": 1}
    _, ev = rec.request(ToolRequest(tool="gazetteer", input=params), by="answer")
    if not ev.ok:
        return None
    try:
        places = GazetteerOutput.model_validate(ev.result).places
    except ValidationError:
        return None
    if not places:
        return None
    p = places[0]
    return NamedPlace(
        name=p.name,
        country_code=p.country_code,
        admin1=p.admin1,
        lat=p.lat,
        lon=p.lon,
        distance_km=round(float(p.distance_km or 0.0), 3),
    )


def abstention(evidence: Sequence[Evidence], clues: Sequence[Clue]) -> str:
    """Why nothing was located, honestly: what failed, whether metadata was read, what
    text was read."""
    parts: list[str] = []
    for ev in evidence:
        if not ev.ok and not ev.skipped and ev.error and ev.requested_by in ("planner", ""):
            parts.append(f"{ev.tool} failed ({ev.error[:80]})")
    exif = [e for e in evidence if e.tool == "exif" and e.ok]
    if exif and not any(e.claims for e in exif):
        parts.append("no GPS in the metadata")
    elif not exif:
        parts.append("metadata not read")
    texts = [c.value for c in clues if c.kind == "text"]
    if texts:
        shown = ", ".join(repr(t[:40]) for t in texts[:MAX_READ_SHOWN])
        more = f" and {len(texts) - MAX_READ_SHOWN} more" if len(texts) > MAX_READ_SHOWN else ""
        parts.append(f"read {shown}{more}, which names no place found")
    else:
        parts.append("no text read")
    return "no location evidence: " + "; ".join(dict.fromkeys(parts))


def reason(fusion: Fusion, *, tools_only: bool) -> str:
    """One line on why: the level, where the answer's evidence came from, and its own reason."""
    answer = fusion.answer
    if answer is None:
        return "no location evidence"
    source = answer.source.replace("_", " ") or "the tools"
    basis = f"{answer.level}-level answer from {source}"
    if answer.why:
        basis += f": {answer.why}"
    if tools_only:
        basis += " (tools only, no model)"
    return basis


def predict(
    fusion: Fusion,
    rec: Executor,
    *,
    tools_only: bool,
    evidence: Sequence[Evidence] = (),
    clues: Sequence[Clue] = (),
) -> Prediction:
    """The prediction for a fusion: its point, radius, level, label and alternatives."""
    answer = fusion.answer
    if answer is None and fusion.ranked:
        best = fusion.ranked[0]
        why = (
            f"every candidate was contradicted by the checks (best: {best.label}, "
            f"weight {best.weight:.2f} of {best.prior or 0:.2f})"
        )
        return Prediction(abstained=True, reason=why)
    if answer is None or fusion.lat is None or fusion.lon is None:
        return Prediction(abstained=True, reason=abstention(evidence, clues))
    fine = answer.level in FINE_LEVELS
    nearest = nearest_place(rec, fusion.lat, fusion.lon) if fine else None
    return Prediction(
        lat=round(fusion.lat, 6),
        lon=round(fusion.lon, 6),
        radius_km=round(fusion.radius_km or answer.radius_km, 3),
        level=answer.level,
        label=answer.label,
        country_code=answer.country_code or (nearest.country_code if nearest else None),
        confidence=fusion.confidence,
        nearest_place=nearest,
        alternatives=fusion.alternatives,
        reason=reason(fusion, tools_only=tools_only),
    )
