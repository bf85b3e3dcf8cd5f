"""What a model must answer at each stage: JSON schemas, strict parsing, and repair.

The schema sent to the server (``response_format: json_schema``) is built from
the pydantic model of the stage, so the model, the server's guided decoding and
our validation agree on one definition.

Tool requests are a field of the answer (``tool_requests``) when a :class:`ToolOffer`
says which tools may be asked for now and how many; without one the field is not in
the schema. ``osm_queries`` and ``search_queries`` are an older form: never asked
for, still read when a reply has them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gre.errors import GreError
from gre.records import (
    Box,
    Clue,
    ClueKind,
    Hypothesis,
    Level,
    NearRequest,
    OsmQuery,
    Stage,
    StageResult,
    ToolRequest,
)

STAGE_KINDS: dict[Stage, tuple[ClueKind, ...]] = {
    "scene": (
        "setting",
        "climate",
        "vegetation",
        "terrain",
        "architecture",
        "road",
        "driving_side",
        "transport",
        "other",
    ),
    "details": ("text", "language", "script", "road", "transport", "architecture", "other"),
    "semantic": ("place_name", "landmark", "other"),
}
STAGE_LEVELS: dict[Stage, tuple[Level, ...]] = {
    "scene": ("continent", "country"),
    "details": ("country", "region", "city"),
    "semantic": ("region", "city", "street"),
}
MAX_CLUES = 16
MAX_HYPOTHESES = 6
MAX_BOXES = 6
MAX_QUERIES = 4
MAX_TOOL_REQUESTS = 4
"""The most tool requests one answer may make (the stage's budget may allow fewer)."""

T = TypeVar("T")
R = TypeVar("R")


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClueOut(_Out):
    kind: str
    value: str = Field(min_length=1, max_length=300)
    confidence: float = Field(ge=0, le=1)


class HypothesisOut(_Out):
    level: str
    name: str | None = Field(default=None, max_length=200)
    country_code: str | None = Field(default=None, pattern=r"^[A-Za-z]{2}$")
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    confidence: float = Field(ge=0, le=1)
    rationale: str = Field(default="", max_length=500)


class BoxOut(_Out):
    x0: float = Field(ge=0, le=1)
    y0: float = Field(ge=0, le=1)
    x1: float = Field(ge=0, le=1)
    y1: float = Field(ge=0, le=1)
    why: str = Field(default="", max_length=200)


class NearOut(_Out):
    tags: list[str] = Field(min_length=1, max_length=5)
    within_m: float = Field(gt=0, le=5000)


class OsmQueryOut(_Out):
    name: str | None = Field(default=None, max_length=200)
    tags: list[str] = Field(default_factory=list, max_length=5)
    near: list[NearOut] = Field(default_factory=list, max_length=3)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    radius_m: float | None = Field(default=None, gt=0, le=50_000)
    confidence: float = Field(default=0.5, ge=0, le=1)
    why: str = Field(default="", max_length=300)


class ToolRequestOut(_Out):
    tool: str = Field(min_length=1, max_length=100)
    input: dict[str, Any] = Field(default_factory=dict)
    why: str = Field(default="", max_length=300)


@dataclass(frozen=True)
class ToolOffer:
    """The tools an answer may request now, and at most how many requests."""

    names: tuple[str, ...]
    limit: int

    @classmethod
    def of(cls, names: Sequence[str], max_requests: int) -> ToolOffer | None:
        """The offer for a stage's call, or None when no tool may be requested."""
        limit = min(MAX_TOOL_REQUESTS, max_requests)
        return cls(tuple(names), limit) if names and limit > 0 else None


class StageOut(_Out):
    summary: str = Field(max_length=1000)
    clues: list[ClueOut] = Field(default_factory=list, max_length=MAX_CLUES)
    hypotheses: list[HypothesisOut] = Field(default_factory=list, max_length=MAX_HYPOTHESES)
    ocr_regions: list[BoxOut] = Field(default_factory=list, max_length=MAX_BOXES)
    osm_queries: list[OsmQueryOut] = Field(default_factory=list, max_length=MAX_QUERIES)
    search_queries: list[str] = Field(default_factory=list, max_length=MAX_QUERIES)
    tool_requests: list[ToolRequestOut] = Field(default_factory=list, max_length=MAX_TOOL_REQUESTS)


def stage_schema(stage: Stage, offer: ToolOffer | None = None) -> dict[str, Any]:
    """The JSON schema of one stage's answer: that stage's kinds and levels as enums, and
    ``tool_requests`` naming the offered tools (left out when nothing is offered)."""
    schema = StageOut.model_json_schema()
    defs = schema["$defs"]
    props = schema["properties"]
    defs["ClueOut"]["properties"]["kind"] = {"enum": list(STAGE_KINDS[stage]), "type": "string"}
    defs["HypothesisOut"]["properties"]["level"] = {
        "enum": list(STAGE_LEVELS[stage]),
        "type": "string",
    }
    if stage == "semantic":
        props.pop("ocr_regions")
    for key in ("osm_queries", "search_queries"):
        props.pop(key)
    for name in ("OsmQueryOut", "NearOut"):
        defs.pop(name)
    if offer is None:
        props.pop("tool_requests")
        defs.pop("ToolRequestOut")
    else:
        defs["ToolRequestOut"]["properties"]["tool"] = {"enum": list(offer.names), "type": "string"}
        props["tool_requests"]["maxItems"] = offer.limit
    return schema


class StageOutputError(GreError, ValueError):
    """A model's answer is not a valid stage result; the message is shown back to the model."""


MAX_REPLY_CHARS = 200_000
"""A reply longer than this is not repaired (1,024 tokens is about 4,000 characters)."""
MAX_DEPTH = 32
"""Deeper JSON is no stage result: it is refused before parsing."""
MAX_ATTEMPTS = 16
"""Balanced ``{...}`` spans tried as JSON, first first."""


def _loads(text: str) -> Any:
    """``json.loads`` that refuses deep nesting in one line (no RecursionError)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise StageOutputError("the reply's JSON is nested too deeply") from None


def _objects(text: str) -> list[tuple[int, int]]:
    """Balanced ``{...}`` spans of ``text`` no deeper than MAX_DEPTH, by start: one pass.

    Strings are tracked inside braces only, so quotes in chatter around the JSON do
    not matter.
    """
    spans: list[tuple[int, int]] = []
    stack: list[int] = []
    depth_below: list[int] = []  # per open brace: the deepest nesting inside it so far
    in_string = escaped = False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == "{":
            stack.append(i)
            depth_below.append(1)
        elif not stack:
            continue
        elif ch == '"':
            in_string = True
        elif ch == "}":
            start, depth = stack.pop(), depth_below.pop()
            if depth_below:
                depth_below[-1] = max(depth_below[-1], depth + 1)
            if depth <= MAX_DEPTH:
                spans.append((start, i + 1))
    return sorted(spans)


def extract_json(text: str) -> Any:
    """The first complete JSON object in ``text`` (code fences and chatter around it ignored).

    The work is bounded: one pass over at most MAX_REPLY_CHARS, then at most
    MAX_ATTEMPTS parses of spans no deeper than MAX_DEPTH.
    """
    if len(text) > MAX_REPLY_CHARS:
        raise StageOutputError(
            f"the reply is {len(text):,} characters, over the {MAX_REPLY_CHARS:,} a stage may use"
        )
    for start, end in _objects(text)[:MAX_ATTEMPTS]:
        try:
            return _loads(text[start:end])
        except (json.JSONDecodeError, StageOutputError):
            continue
    raise StageOutputError("no complete JSON object in the reply")


def _to_result(stage: Stage, out: StageOut, dropped: list[str]) -> StageResult:
    clues = [
        Clue(stage=stage, kind=c.kind, value=c.value, confidence=c.confidence) for c in out.clues
    ]
    hypotheses = _valid(
        out.hypotheses,
        lambda h: Hypothesis(
            level=h.level,
            name=h.name,
            country_code=h.country_code,
            lat=h.lat,
            lon=h.lon,
            confidence=h.confidence,
            rationale=h.rationale,
        ),
        lambda h: f"hypothesis {h.name or h.country_code}",
        dropped,
    )
    boxes = _valid(
        out.ocr_regions,
        lambda b: Box(x0=b.x0, y0=b.y0, x1=b.x1, y1=b.y1, why=b.why),
        lambda _b: "box",
        dropped,
    )
    queries = _valid(
        out.osm_queries,
        lambda q: OsmQuery(
            name=q.name,
            tags=q.tags,
            near=[NearRequest(tags=n.tags, within_m=n.within_m) for n in q.near],
            lat=q.lat,
            lon=q.lon,
            radius_m=q.radius_m,
            confidence=q.confidence,
            why=q.why,
        ),
        lambda _q: "osm query",
        dropped,
    )
    requests = _valid(
        out.tool_requests,
        lambda r: ToolRequest(tool=r.tool, input=r.input, why=r.why),
        lambda r: f"tool request {r.tool}",
        dropped,
    )
    return StageResult(
        stage=stage,
        summary=out.summary,
        clues=clues,
        hypotheses=hypotheses,
        ocr_regions=boxes,
        tool_requests=requests,
        osm_queries=queries,
        search_queries=[q.strip()[:300] for q in out.search_queries if q.strip()],
        error="; ".join(dropped) if dropped else None,
    )


def _valid(
    items: Iterable[T],
    make: Callable[[T], R],
    label: Callable[[T], str],
    dropped: list[str],
) -> list[R]:
    """``make`` of each item; one that fails validation is left out and noted in ``dropped``."""
    out: list[R] = []
    for item in items:
        try:
            out.append(make(item))
        except ValidationError as exc:
            dropped.append(f"{label(item)}: {_first_error(exc)}")
    return out


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ()))
    return f"{where}: {err['msg']}" if where else str(err["msg"])


def _check_enums(stage: Stage, out: StageOut) -> None:
    for i, c in enumerate(out.clues):
        if c.kind not in STAGE_KINDS[stage]:
            raise StageOutputError(
                f"clues.{i}.kind {c.kind!r} is not one of {', '.join(STAGE_KINDS[stage])}"
            )
    for i, h in enumerate(out.hypotheses):
        if h.level not in STAGE_LEVELS[stage]:
            raise StageOutputError(
                f"hypotheses.{i}.level {h.level!r} is not one of {', '.join(STAGE_LEVELS[stage])}"
            )


def _check_requests(out: StageOut, offer: ToolOffer | None) -> None:
    if not out.tool_requests:
        return
    if offer is None:
        raise StageOutputError("tool_requests: no tool can be requested now; leave them out")
    if len(out.tool_requests) > offer.limit:
        raise StageOutputError(f"tool_requests: at most {offer.limit} now")
    for i, r in enumerate(out.tool_requests):
        if r.tool not in offer.names:
            raise StageOutputError(
                f"tool_requests.{i}.tool {r.tool!r} is not one of {', '.join(offer.names)}"
            )


def parse_stage(stage: Stage, text: str, offer: ToolOffer | None = None) -> StageResult:
    """Strictly parse a model's answer; raise StageOutputError saying what is wrong."""
    if len(text) > MAX_REPLY_CHARS:
        raise StageOutputError(f"the reply is {len(text):,} characters, too long for a stage")
    try:
        data = _loads(text)
    except json.JSONDecodeError as exc:
        raise StageOutputError(f"not valid JSON ({exc.msg} at char {exc.pos})") from None
    try:
        out = StageOut.model_validate(data)
    except ValidationError as exc:
        raise StageOutputError(_first_error(exc)) from None
    _check_enums(stage, out)
    _check_requests(out, offer)
    dropped: list[str] = []
    result = _to_result(stage, out, dropped)
    if dropped:
        raise StageOutputError(dropped[0])
    return result


def repair_stage(stage: Stage, text: str, offer: ToolOffer | None = None) -> StageResult:
    """Salvage what is valid: the first JSON object, keeping each valid item and dropping the rest.

    Raises StageOutputError when nothing usable remains.
    """
    data = extract_json(text)
    if not isinstance(data, dict):
        raise StageOutputError("the reply's JSON is not an object")
    dropped: list[str] = []

    def keep(
        key: str, model: type[BaseModel], allowed: tuple[str, ...] | None, field: str
    ) -> list[Any]:
        items = data.get(key) or []
        kept: list[Any] = []
        if not isinstance(items, list):
            dropped.append(f"{key}: not a list")
            return kept
        for item in items:
            try:
                obj = model.model_validate(item)
            except ValidationError as exc:
                dropped.append(f"{key}: {_first_error(exc)}")
                continue
            if allowed is not None and getattr(obj, field) not in allowed:
                dropped.append(f"{key}: {field} {getattr(obj, field)!r} not allowed at {stage}")
                continue
            kept.append(obj)
        return kept

    clues = keep("clues", ClueOut, STAGE_KINDS[stage], "kind")[:MAX_CLUES]
    hyps = keep("hypotheses", HypothesisOut, STAGE_LEVELS[stage], "level")[:MAX_HYPOTHESES]
    boxes = keep("ocr_regions", BoxOut, None, "")[:MAX_BOXES]
    queries = (
        keep("osm_queries", OsmQueryOut, None, "")[:MAX_QUERIES] if stage == "semantic" else []
    )
    searches = data.get("search_queries") if stage == "semantic" else None
    requests: list[Any] = []
    if offer is not None:
        requests = keep("tool_requests", ToolRequestOut, offer.names, "tool")
        if len(requests) > offer.limit:
            dropped.append(f"tool_requests: {len(requests) - offer.limit} over the limit")
            requests = requests[: offer.limit]
    elif data.get("tool_requests"):
        dropped.append("tool_requests: none can be made now")
    summary = data.get("summary")
    out = StageOut(
        summary=str(summary)[:1000] if summary is not None else "",
        clues=clues,
        hypotheses=hyps,
        ocr_regions=boxes,
        osm_queries=queries,
        search_queries=[str(s)[:300] for s in searches][:MAX_QUERIES]
        if isinstance(searches, list)
        else [],
        tool_requests=requests,
    )
    if not (out.summary or out.clues or out.hypotheses or out.ocr_regions or out.tool_requests):
        raise StageOutputError("nothing usable in the reply: " + "; ".join(dropped[:3]))
    return _to_result(stage, out, dropped)
