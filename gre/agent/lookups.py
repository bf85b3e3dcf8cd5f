"""Map, search and geocoding look-ups that refine the answer, planned by a model or by rules.

Everything here builds tool inputs from the run so far and turns tool outputs back into
hypotheses; the graph nodes decide when to call them. A model plans OSM queries as
structured requests (:class:`~gre.records.OsmQuery`): the tools build the queries.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from gre.agent.evidence import ocr_lines
from gre.records import Candidate, Evidence, OsmQuery
from gre.textnorm import fold
from gre.tools.gazetteer import GazetteerOutput

MAX_LINE_LOOKUPS = 4
DEFAULT_AREA_M = 25_000.0
_FILLER = re.compile(r"\b\d+([.,]\d+)?\s*(km|m|mi|h|min|mn)?\b|\b[a-z]{1,3}\d{1,4}[a-z]?\b", re.I)


def clean_line(text: str) -> str:
    """A sign line without distances, times and route numbers ("Névache 4,2 km" → "Névache")."""
    return " ".join(_FILLER.sub(" ", text).split()).strip(" -–—|,.;:")


def unmatched_lines(evidence: list[Evidence], limit: int = MAX_LINE_LOOKUPS) -> list[str]:
    """Sign lines the gazetteer did not explain: worth a map look-up by name.

    Most promising first: destinations (a name beside a distance or a time, as
    "Névache 4,2 km"), then names of several words, then by OCR confidence, so
    that a stray capitalised fragment does not take a look-up from a real name.
    """
    matched: set[str] = set()
    for ev in evidence:
        if ev.tool == "gazetteer" and ev.ok and ev.query.get("mode") == "scan":
            scan = GazetteerOutput.model_validate(ev.result)
            matched.update(fold(m.text) for m in scan.mentions)
    ranked: dict[str, tuple[bool, bool, float]] = {}
    for line in ocr_lines(evidence):
        name = clean_line(line.text)
        folded = fold(name)
        letters = sum(ch.isalpha() for ch in folded)
        if letters < 4 or folded in matched or name in ranked:
            continue
        destination = bool(_FILLER.search(line.text))
        ranked[name] = (destination, len(name.split()) >= 2, line.confidence)
    order = sorted(ranked, key=lambda n: tuple(-float(k) for k in ranked[n]))
    return order[:limit]


def _tag_filter(spec: str) -> dict[str, Any]:
    key, sep, value = spec.partition("=")
    return {"key": key.strip(), "value": value.strip() if sep else None}


def area_of(candidates: Iterable[Candidate]) -> dict[str, float] | None:
    """An ``around`` area for map queries: the best candidate, capped at 25 km."""
    best = max(candidates, key=lambda c: c.score or c.weight, default=None)
    if best is None:
        return None
    radius = min(DEFAULT_AREA_M, max(1_000.0, best.radius_km * 1000.0))
    return {"lat": best.lat, "lon": best.lon, "radius_m": radius}


def osm_input(query: OsmQuery, fallback_area: dict[str, float] | None) -> dict[str, Any]:
    """The osm/overpass tool input for a planned query (validated by the tool)."""
    params: dict[str, Any] = {"limit": 20}
    if query.name:
        params["name"] = query.name
        params["fuzzy"] = True
    if query.tags:
        params["tags"] = [_tag_filter(t) for t in query.tags]
    if query.near:
        params["near"] = [
            {"tags": [_tag_filter(t) for t in n.tags], "within_m": n.within_m} for n in query.near
        ]
        params["kind"] = "near"
    else:
        params["kind"] = "named" if query.name else "tags"
    if query.lat is not None and query.lon is not None:
        params["area"] = {
            "lat": query.lat,
            "lon": query.lon,
            "radius_m": query.radius_m or DEFAULT_AREA_M,
        }
    elif fallback_area is not None:
        params["area"] = fallback_area
    return params
