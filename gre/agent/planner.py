"""The planner: which tools each stage requests by rule, whatever the backend.

Every backend gets these requests (a model that asks for nothing still has the photo
read): EXIF at ingest; OCR (a layout pass first, a sparse-text pass when the graph
comes back, crops where a model pointed) and text clues on what was read in details;
a gazetteer scan of that text, look-ups of names a model gave as clues and map look-ups
of sign lines the gazetteer did not explain in semantic (and, once, a scan of the
analyst's hint text at trust 0.5). A model's own requests come on top, through the
same executor. The planner is called again after its requests ran (round after round)
until it has nothing new: OCR, then text clues on its text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from gre.agent.evidence import ocr_text
from gre.agent.hints import HINT_TRUST, HINT_WHY
from gre.agent.lookups import area_of, osm_input, unmatched_lines
from gre.records import Box, Candidate, Clue, Evidence, StageResult, ToolRequest
from gre.tools.text_clues import TextCluesOutput

PlanStage = Literal["ingest", "scene", "details", "semantic"]

MAX_LOOKUPS = 8
"""Gazetteer look-ups of names a model gave as clues, per stage visit."""
MAX_OVERPASS_LINES = 3
"""Sign lines looked up on the live map per visit (the public Overpass API is shared)."""
MAX_LEGACY_QUERIES = 4
MAX_SUGGESTIONS = 2
"""Calls one tool may suggest per planner round."""
MAX_STREETS = 3
"""Street names looked up per visit."""
MIN_HINT_WEIGHT = 0.25
"""A text's surest country needs this weight to narrow a street's geocoding."""

Suggest = Callable[[Sequence[Evidence]], list[dict[str, Any]]]


@dataclass(frozen=True)
class RunView:
    """What the planner reads: the run so far, and which tools would run now."""

    round: int
    evidence: list[Evidence]
    clues: list[Clue]
    stages: list[StageResult]
    candidates: list[Candidate]
    usable: Callable[[str], bool]
    """Whether a tool would run now (installed, allowed, able to run here)."""
    metadata: bool = True
    """Whether the photo's metadata may be read (not under ``--ignore-metadata``)."""
    suggesters: Mapping[str, Suggest] = field(default_factory=dict)
    """Usable tools that suggest their own calls (:meth:`gre.tools.base.Tool.suggest`)."""
    search_max_results: int = 10
    online: bool = False
    """Whether network tools may run (the geocoder asks Nominatim only then)."""
    hint_text: str | None = None
    """The analyst's free-text hint (data), scanned once for place names in semantic."""

    def of(self, tool: str) -> list[Evidence]:
        """Evidence from ``tool`` (failures included, so a failing call is not repeated)."""
        return [e for e in self.evidence if e.tool == tool]


def plan(stage: PlanStage, view: RunView) -> list[ToolRequest]:
    """The requests ``stage`` makes by rule now (empty when it has nothing new).

    The stage's own rules first; when they have nothing, what tools suggest for
    themselves (a plugin that checks EXIF's UTC offset, say).
    """
    return _stage_rules(stage, view) or suggested(view)


def suggested(view: RunView) -> list[ToolRequest]:
    """Calls tools suggest for themselves, less those already run with the same input."""
    out: list[ToolRequest] = []
    for tool, suggest in view.suggesters.items():
        done = [e.query for e in view.of(tool)]
        try:
            inputs = suggest(view.evidence)
        except Exception:  # a plugin's bug costs its own suggestion, nothing else
            continue
        for params in inputs[:MAX_SUGGESTIONS]:
            if not any(all(q.get(k) == v for k, v in params.items()) for q in done):
                out.append(ToolRequest(tool=tool, input=dict(params), why="suggested by the tool"))
                done.append(params)
    return out


def _stage_rules(stage: PlanStage, view: RunView) -> list[ToolRequest]:
    if stage == "ingest":
        if view.of("exif") or not view.metadata:
            return []
        return [ToolRequest(tool="exif", why="GPS, time and camera from the photo's metadata")]
    if stage == "details":
        return _details(view)
    if stage == "semantic":
        return _semantic(view)
    return []


def _box_key(box: dict[str, Any] | Box) -> tuple[float, float, float, float]:
    b = box if isinstance(box, Box) else Box.model_validate(box)
    return (b.x0, b.y0, b.x1, b.y1)


def _details(view: RunView) -> list[ToolRequest]:
    ocr = view.of("ocr")
    passes = {str(e.query.get("mode")) for e in ocr if e.query.get("whole_image", True)}
    read = {_box_key(b) for e in ocr for b in e.query.get("boxes", [])}
    boxes: list[Box] = []
    for stage in view.stages:
        for box in stage.ocr_regions:
            if _box_key(box) not in read:
                read.add(_box_key(box))
                boxes.append(box)
    # whole-image passes only when the stage starts: the scene reader first, then, when the
    # graph comes back to read again, tesseract's sparse-text pass
    mode = None
    if view.round == 0:
        mode = next((m for m in ("auto", "sparse") if m not in passes), None)
    requests: list[ToolRequest] = []
    if mode is not None or boxes:
        params: dict[str, Any] = {
            "mode": mode or "auto",
            "whole_image": mode is not None,
            "boxes": [b.model_dump(mode="json") for b in boxes],
        }
        if mode == "sparse":  # a second reading is worth it from the other engine
            params["engine"] = "tesseract"
        why = f"{mode} pass" if mode else "regions a model pointed at"
        requests.append(ToolRequest(tool="ocr", input=params, why=why))
        return requests  # text clues wait for what OCR reads
    text = ocr_text(view.evidence)
    done = [e.query.get("text") for e in view.of("text_clues")]
    if text and (not done or done[-1] != text):
        requests.append(ToolRequest(tool="text_clues", input={"text": text}, why="text read"))
    return requests


def text_languages(evidence: Sequence[Evidence]) -> list[str]:
    """The languages the latest text clues found (ISO 639-1), surest first."""
    clues = text_clues_of(evidence)
    found = clues.languages if clues is not None else []
    return [g.code for g in sorted(found, key=lambda g: -g.confidence)][:3]


def can_reread(view: RunView) -> bool:
    """A sparse-text OCR pass is left and could help: the first pass read some text."""
    passes = {str(e.query.get("mode")) for e in view.of("ocr") if e.query.get("whole_image", True)}
    return "sparse" not in passes and view.usable("ocr") and bool(ocr_text(view.evidence))


def _semantic(view: RunView) -> list[ToolRequest]:
    requests: list[ToolRequest] = []
    text = ocr_text(view.evidence)
    gaz = view.of("gazetteer")
    if text and text not in {e.query.get("text") for e in gaz}:
        scan: dict[str, Any] = {"mode": "scan", "text": text}
        languages = text_languages(view.evidence)
        if languages:
            scan["languages"] = languages
        requests.append(ToolRequest(tool="gazetteer", input=scan, why="place names"))
    hint = view.hint_text
    if hint and view.usable("gazetteer") and hint not in {e.query.get("text") for e in gaz}:
        requests.append(
            ToolRequest(
                tool="gazetteer",
                input={"mode": "scan", "text": hint},
                why=HINT_WHY,
                confidence=HINT_TRUST,
            )
        )
    asked = {e.query.get("name") for e in gaz}
    names: dict[str, float] = {}
    for c in view.clues:
        if c.kind in ("place_name", "landmark") and c.source == "model" and c.value not in asked:
            names[c.value] = max(names.get(c.value, 0.0), c.confidence)
    for name, confidence in list(names.items())[:MAX_LOOKUPS]:
        requests.append(
            ToolRequest(
                tool="gazetteer",
                input={"mode": "lookup", "name": name, "limit": 5},
                why="a name a model read or recognised",
                confidence=confidence,
            )
        )
    if not requests:  # map look-ups wait for the scan: they look up what it left unexplained
        requests.extend(_street_lookups(view))
        requests.extend(r for r in _map_lookups(view) if not _same_lookup(r, requests))
    return requests


def _same_lookup(request: ToolRequest, others: Sequence[ToolRequest]) -> bool:
    return any(o.tool == request.tool and o.input == request.input for o in others)


def text_clues_of(evidence: Sequence[Evidence]) -> TextCluesOutput | None:
    """The latest text clues found, if any."""
    for ev in reversed(evidence):
        if ev.tool == "text_clues" and ev.ok:
            try:
                return TextCluesOutput.model_validate(ev.result)
            except ValueError:
                return None
    return None


def country_hint(view: RunView) -> str | None:
    """The country the run leans to: the best candidate's, else the text's surest."""
    best = max(view.candidates, key=lambda c: c.score or c.weight, default=None)
    if best is not None and best.country_code:
        return best.country_code
    clues = text_clues_of(view.evidence)
    top = clues.countries[0] if clues and clues.countries else None
    return top.code if top is not None and top.weight >= MIN_HINT_WEIGHT else None


def _street_lookups(view: RunView) -> list[ToolRequest]:
    """Street names the text clues found, looked up as streets: on the local extract, and
    online with the geocoder inside the country the run leans to (a street name alone
    is in too many towns to geocode worldwide)."""
    clues = text_clues_of(view.evidence)
    if clues is None or not clues.streets:
        return []
    streets = clues.streets[:MAX_STREETS]
    why = "a street name read on the photo"
    out: list[ToolRequest] = []
    if view.usable("osm"):
        asked = {e.query.get("name") for e in view.of("osm")}
        out += [
            ToolRequest(
                tool="osm",
                input={"kind": "named", "name": s, "fuzzy": True, "limit": 10},
                why=why,
            )
            for s in streets
            if s not in asked
        ]
    country = country_hint(view)
    if view.online and country and view.usable("geocode"):
        asked = {e.query.get("query") for e in view.of("geocode")}
        out += [
            ToolRequest(
                tool="geocode",
                input={"mode": "forward", "query": s, "country_codes": [country], "limit": 5},
                why=f"{why}, in {country}",
            )
            for s in streets
            if s not in asked
        ]
    return out


def _map_lookups(view: RunView) -> list[ToolRequest]:
    """Sign lines the gazetteer did not explain, looked up by name on the map.

    With a local OSM extract, across the whole extract; online, with Overpass around
    the best candidate so far (on a loop pass, when there is one).
    """
    lines = unmatched_lines(view.evidence)
    if not lines:
        return []
    asked = {(e.tool, e.query.get("name")) for e in [*view.of("osm"), *view.of("overpass")]}
    why = "a sign line the gazetteer does not know"
    if view.usable("osm"):
        return [
            ToolRequest(
                tool="osm",
                input={"kind": "named", "name": name, "fuzzy": True, "limit": 10},
                why=why,
            )
            for name in lines
            if ("osm", name) not in asked
        ]
    area = area_of(view.candidates)
    if area is None or not view.usable("overpass"):
        return []
    return [
        ToolRequest(
            tool="overpass",
            input={"kind": "named", "name": name, "fuzzy": True, "area": area, "limit": 10},
            why=why,
        )
        for name in lines[:MAX_OVERPASS_LINES]
        if ("overpass", name) not in asked
    ]


def legacy_requests(result: StageResult, view: RunView) -> list[ToolRequest]:
    """A stage result's older ``osm_queries`` / ``search_queries`` as tool requests."""
    out: list[ToolRequest] = []
    map_tool = "osm" if view.usable("osm") else "overpass"
    area = area_of(view.candidates)
    for query in result.osm_queries[:MAX_LEGACY_QUERIES]:
        out.append(
            ToolRequest(
                tool=map_tool,
                input=osm_input(query, area),
                why=query.why or "a map query the model planned",
                confidence=query.confidence,
            )
        )
    for text in result.search_queries[:MAX_LEGACY_QUERIES]:
        out.append(
            ToolRequest(
                tool="search",
                input={"query": text, "max_results": view.search_max_results},
                why="a web search the model planned",
            )
        )
    return out
