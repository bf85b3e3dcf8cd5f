"""The records a run produces: clues, evidence, candidates, the prediction and its trace.

All of them are JSON-native pydantic models: the graph state holds their
``model_dump(mode="json")`` form, and the trace printed by ``--json`` is a
:class:`Trace`.
"""

from __future__ import annotations

import unicodedata
from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from gre import __version__
from gre.geo import valid_latlon

Stage = Literal["scene", "details", "semantic"]
STAGES: tuple[Stage, ...] = ("scene", "details", "semantic")

Level = Literal["unknown", "continent", "country", "region", "city", "street"]
LEVELS: tuple[Level, ...] = ("unknown", "continent", "country", "region", "city", "street")
ClaimLevel = Literal["continent", "country", "region", "city", "street"]

ClueKind = Literal[
    "setting",
    "climate",
    "vegetation",
    "terrain",
    "architecture",
    "road",
    "driving_side",
    "transport",
    "text",
    "language",
    "script",
    "place_name",
    "landmark",
    "metadata",
    "other",
]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Box(_Record):
    """A region of the image in fractions of its width and height (0..1)."""

    x0: float = Field(ge=0, le=1)
    y0: float = Field(ge=0, le=1)
    x1: float = Field(ge=0, le=1)
    y1: float = Field(ge=0, le=1)
    why: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> Box:
        if self.x1 <= self.x0 or self.y1 <= self.y0:
            raise ValueError("a box needs x0 < x1 and y0 < y1")
        return self


class Clue(_Record):
    """Something observed in the photo (by the model or a tool)."""

    id: str = ""
    stage: Stage
    kind: ClueKind
    value: str = Field(max_length=2000)
    confidence: float = Field(default=0.5, ge=0, le=1)
    source: str = "model"


class Hypothesis(_Record):
    """A proposed location: a named place, a country, or a point."""

    id: str = ""
    level: Level
    name: str | None = None
    country_code: str | None = Field(default=None, description="ISO 3166-1 alpha-2")
    lat: float | None = None
    lon: float | None = None
    radius_km: float | None = Field(default=None, gt=0)
    confidence: float = Field(default=0.5, ge=0, le=1)
    rationale: str = ""
    ref: str | None = Field(default=None, description="resolved identifier, e.g. geonames:2988507")
    clue_ids: list[str] = Field(default_factory=list)

    @field_validator("country_code")
    @classmethod
    def _upper(cls, v: str | None) -> str | None:
        return v.upper() if v else v

    @model_validator(mode="after")
    def _located(self) -> Hypothesis:
        has_point = self.lat is not None and self.lon is not None
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon come together")
        if has_point and not valid_latlon(self.lat, self.lon):  # type: ignore[arg-type]
            raise ValueError(f"coordinates out of range: {self.lat}, {self.lon}")
        if not has_point and not self.name and not self.country_code:
            raise ValueError("a hypothesis needs a name, a country code or coordinates")
        return self


class NearRequest(_Record):
    """Co-occurrence: a feature with these tags lies within ``within_m`` metres."""

    tags: list[str] = Field(min_length=1, max_length=5, description='"key=value" or "key"')
    within_m: float = Field(gt=0, le=5000)


class OsmQuery(_Record):
    """A map query a model plans (the tool builds the actual query; no QL from model text)."""

    name: str | None = Field(default=None, max_length=200)
    tags: list[str] = Field(default_factory=list, max_length=5, description='"key=value" or "key"')
    near: list[NearRequest] = Field(default_factory=list, max_length=3)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    radius_m: float | None = Field(default=None, gt=0, le=50_000)
    confidence: float = Field(default=0.5, ge=0, le=1)
    why: str = Field(default="", max_length=300)

    @model_validator(mode="after")
    def _asks_something(self) -> OsmQuery:
        if not (self.name or self.tags):
            raise ValueError("an OSM query needs a name or tags")
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon come together")
        return self


class PlaceClaim(_Record):
    """A place a tool result asserts: a disc on the sphere, how specific it is, how strongly.

    Claims become candidates through one path (verify), for built-in tools and plugins
    alike. ``weight`` is the strength of this result alone for this place (0..1);
    ``measured`` marks a positioning fix (GPS) rather than an inference, which text
    evidence and checks do not weigh down.
    """

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    radius_km: float = Field(gt=0, le=20_000)
    level: ClaimLevel
    label: str = Field(min_length=1, max_length=200)
    weight: float = Field(ge=0, le=1)
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2")
    ref: str | None = Field(default=None, description="what it names, e.g. geonames:2988507")
    why: str = Field(default="", max_length=500)
    measured: bool = False

    @field_validator("country")
    @classmethod
    def _alpha2(cls, v: str | None) -> str | None:
        if v is None:
            return None
        if len(v) != 2 or not v.isascii() or not v.isalpha():
            raise ValueError(f"country must be ISO 3166-1 alpha-2, got {v!r}")
        return v.upper()


class ToolRequest(_Record):
    """A call the reasoner asks for: a registered tool by name, with its typed input.

    The input is validated against the tool's input model when the request runs; a
    request that cannot run (unknown tool, invalid input, offline, over budget) is
    recorded as a failed call with a one-line reason. ``error`` carries a request the
    backend itself could not read (e.g. a malformed function call).
    """

    tool: str = Field(max_length=100)
    input: dict[str, Any] = Field(default_factory=dict)
    why: str = Field(default="", max_length=300)
    id: str = Field(default="", max_length=100, description="the model's call id, if any")
    confidence: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="how far the requester believes the premise (a looked-up name is in the "
        "photo); the result's claims are scaled by it",
    )
    error: str | None = None


class StageResult(_Record):
    """What a backend proposes at one reasoning stage."""

    stage: Stage
    summary: str = ""
    clues: list[Clue] = Field(default_factory=list)
    hypotheses: list[Hypothesis] = Field(default_factory=list)
    ocr_regions: list[Box] = Field(default_factory=list)
    tool_requests: list[ToolRequest] = Field(default_factory=list)
    osm_queries: list[OsmQuery] = Field(
        default_factory=list, description="older form of osm/overpass tool requests"
    )
    search_queries: list[str] = Field(
        default_factory=list, description="older form of search tool requests"
    )
    round: int = Field(default=0, ge=0, description="the backend's call within this stage")
    ok: bool = True
    error: str | None = None
    backend: str = ""
    usage: dict[str, int] = Field(default_factory=dict)
    latency_ms: float = 0.0
    attempts: int = Field(default=0, description="model calls made for this stage")
    repaired: bool = Field(default=False, description="salvaged from an invalid reply")
    raw: str | None = Field(default=None, description="the model's last reply, verbatim")


class Generation(_Record):
    """One free-text model reply (GRE's single-pass protocol), verbatim."""

    text: str = ""
    ok: bool = True
    error: str | None = None
    finish_reason: str | None = None
    usage: dict[str, int] = Field(default_factory=dict)
    latency_ms: float = 0.0
    model: str | None = None


class Evidence(_Record):
    """One tool result, normalised, with its provenance and what it bears on.

    ``text`` is what the model is shown (the output's ``for_model()``), ``claims`` the
    places it asserts (its ``claims()``); ``result`` keeps the whole normalised output
    and ``raw`` the service's own answer. ``about`` names the hypothesis a check was
    requested for: its checks bear on that hypothesis's candidates only.
    """

    id: str
    tool: str
    query: dict[str, Any] = Field(default_factory=dict)
    ok: bool = True
    error: str | None = None
    skipped: bool = False
    summary: str = ""
    text: str = ""
    claims: list[PlaceClaim] = Field(default_factory=list)
    result: dict[str, Any] = Field(default_factory=dict)
    raw: Any = None
    stage: str = ""
    requested_by: str = Field(default="", description="planner, verify, or the backend's name")
    request_id: str = ""
    trust: float = Field(default=1.0, ge=0, le=1, description="claims are scaled by this")
    about: str | None = None
    supports: list[str] = Field(default_factory=list)
    contradicts: list[str] = Field(default_factory=list)


class Candidate(_Record):
    """A location the run considers, with its own uncertainty and support."""

    id: str
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    radius_km: float = Field(gt=0)
    level: Level
    label: str
    country_code: str | None = None
    weight: float = Field(ge=0, le=1, description="strength of the evidence for this place alone")
    prior: float | None = Field(
        default=None, ge=0, le=1, description="the weight before checks weighed it down"
    )
    score: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="after fusion: the confidence this place would have as the answer",
    )
    source: str = ""
    evidence: list[str] = Field(default_factory=list)
    hypothesis: str | None = None
    ref: str | None = Field(default=None, description="what a tool found, e.g. osm:way/123")
    measured: bool = Field(default=False, description="a positioning fix, not an inference")
    why: str = Field(default="", description="why this place: the claim's or hypothesis's reason")
    flags: list[str] = Field(
        default_factory=list,
        description="what verification found suspect, e.g. echoes_text: a model's place "
        "that only repeats the photo's own text (possibly injected)",
    )


class NamedPlace(_Record):
    name: str
    country_code: str | None = None
    admin1: str | None = None
    lat: float
    lon: float
    distance_km: float


class Prediction(_Record):
    """The answer: a point, a confidence radius, a level and ranked alternatives."""

    lat: float | None = None
    lon: float | None = None
    radius_km: float | None = None
    level: Level = "unknown"
    label: str = "unknown"
    country_code: str | None = None
    confidence: float = Field(default=0.0, ge=0, le=1)
    nearest_place: NamedPlace | None = None
    alternatives: list[Candidate] = Field(default_factory=list)
    abstained: bool = False
    reason: str = ""


class ToolCall(_Record):
    """One tool invocation as it happened."""

    id: str
    tool: str
    stage: str
    params: dict[str, Any] = Field(default_factory=dict)
    ok: bool
    skipped: bool = False
    error: str | None = None
    summary: str = ""
    started_at: float
    duration_ms: float


class NodeTiming(_Record):
    node: str
    iteration: int
    started_at: float
    duration_ms: float


class PhotoInfo(_Record):
    path: str
    work_path: str
    sha256: str
    format: str
    width: int
    height: int
    bytes: int


MAX_HINT_CHARS = 500
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class NearHint(_Record):
    """Near a place: within ``radius_km`` of a point (``label`` names it, e.g. "Lyon")."""

    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    radius_km: float = Field(gt=0, le=20_000, allow_inf_nan=False, description="km, up to 20000")
    label: str = Field(default="", max_length=200)


class Hints(_Record):
    """What the analyst knows or believes about where the photo was taken.

    ``text`` is free text shown to the model as data (and scanned for place names);
    ``countries``, ``bbox`` and ``near`` are hard constraints: a candidate outside all
    of them is ruled out. ``bbox`` is (south, west, north, east) in degrees; west >
    east crosses the antimeridian.
    """

    text: str | None = Field(default=None, max_length=MAX_HINT_CHARS)
    countries: list[str] = Field(default_factory=list, description="ISO 3166-1 alpha-2")
    bbox: tuple[float, float, float, float] | None = Field(
        default=None, description="south, west, north, east (degrees)"
    )
    near: NearHint | None = None

    @field_validator("text")
    @classmethod
    def _plain(cls, v: str | None) -> str | None:
        if v is None:
            return None
        for ch in v:
            if unicodedata.category(ch) == "Cc" or ch in _BIDI_CONTROLS:
                raise ValueError(f"hint text must not contain control characters (found {ch!r})")
        v = v.strip()
        return v or None

    @field_validator("countries")
    @classmethod
    def _iso(cls, v: list[str]) -> list[str]:
        import pycountry

        out: list[str] = []
        for raw in v:
            code = raw.strip().upper()
            if len(code) != 2 or not code.isascii() or not code.isalpha():
                raise ValueError(f"country must be an ISO 3166-1 alpha-2 code, got {raw!r}")
            if pycountry.countries.get(alpha_2=code) is None:
                raise ValueError(f"unknown country code {raw!r} (ISO 3166-1 alpha-2, e.g. ES)")
            if code not in out:
                out.append(code)
        return out

    @field_validator("bbox")
    @classmethod
    def _box(
        cls, v: tuple[float, float, float, float] | None
    ) -> tuple[float, float, float, float] | None:
        if v is None:
            return None
        south, west, north, east = v
        if not all(-90 <= x <= 90 for x in (south, north)):
            raise ValueError(f"bbox south and north must be within -90..90, got {south}, {north}")
        if not all(-180 <= x <= 180 for x in (west, east)):
            raise ValueError(f"bbox west and east must be within -180..180, got {west}, {east}")
        if south >= north:
            raise ValueError(f"bbox needs south < north, got south {south}, north {north}")
        if west == east:
            raise ValueError(f"bbox needs west != east (west > east crosses 180°), got {west}")
        return v

    @property
    def constrains(self) -> bool:
        """Whether there is a hard constraint (countries, bbox or near)."""
        return bool(self.countries) or self.bbox is not None or self.near is not None


TRACE_SCHEMA_VERSION = 2
"""Version of the :class:`Trace` shape. 2 added ``gre_version``, ``input_path``,
``started_at`` and ``finished_at`` and nulled the deleted working copy's paths."""


class TracePhoto(_Record):
    """The photo as a trace publishes it: :class:`PhotoInfo` less the working copy's path."""

    path: str
    work_path: str | None = Field(
        default=None,
        description="always null since schema 2: the working copy is deleted when the run ends",
    )
    sha256: str
    format: str
    width: int
    height: int
    bytes: int


def _without(value: Any, paths: frozenset[str]) -> Any:
    """``value`` with every string in ``paths`` replaced by None, in nested lists and dicts."""
    if isinstance(value, str):
        return None if value in paths else value
    if isinstance(value, dict):
        return {k: _without(v, paths) for k, v in value.items()}
    if isinstance(value, list):
        return [_without(v, paths) for v in value]
    return value


class Trace(_Record):
    """Everything one photo's run did, in order: the product's record of its reasoning.

    Paths of files deleted when the run ends (the working copy) are null, wherever a
    tool's input or output named them. Traces of schema 1 still read (their new fields
    are filled in or left null).
    """

    schema_version: int = TRACE_SCHEMA_VERSION
    gre_version: str | None = Field(
        default_factory=lambda: __version__, description="the gre that made it (null: schema 1)"
    )
    input_path: str | None = Field(
        default=None, description="the photo as given, kept when it could not be opened"
    )
    started_at: AwareDatetime | None = Field(default=None, description="ISO 8601, UTC")
    finished_at: AwareDatetime | None = Field(default=None, description="ISO 8601, UTC")
    photo: TracePhoto | None = Field(
        default=None, description="the photo as opened (null when it could not be)"
    )
    backend: str
    graph: str = "staged"
    model: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    hints: Hints | None = Field(default=None, description="the analyst's hints, as given")
    steps: int = 0
    stages: list[StageResult] = Field(default_factory=list)
    generations: list[Generation] = Field(default_factory=list)
    clues: list[Clue] = Field(default_factory=list)
    hypotheses: list[Hypothesis] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)
    candidates: list[Candidate] = Field(default_factory=list)
    tool_calls: list[ToolCall] = Field(default_factory=list)
    timings: list[NodeTiming] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    prediction: Prediction
    error: str | None = None
    duration_ms: float = 0.0

    @model_validator(mode="before")
    @classmethod
    def _upgrade(cls, data: Any) -> Any:
        """A schema 1 trace: no gre version known, the input path is the photo's."""
        version = data.get("schema_version") if isinstance(data, dict) else None
        if not isinstance(version, int) or version >= 2:
            return data
        photo = data.get("photo")
        path = photo.get("path") if isinstance(photo, dict) else None
        return {"gre_version": None, "input_path": path, **data}

    def forget_paths(self, *paths: str) -> Trace:
        """A copy with ``paths`` (files deleted after the run) nulled in tool inputs and results."""
        gone = frozenset(p for p in paths if p)
        if not gone:
            return self
        calls = [c.model_copy(update={"params": _without(c.params, gone)}) for c in self.tool_calls]
        evidence = [
            e.model_copy(
                update={
                    "query": _without(e.query, gone),
                    "result": _without(e.result, gone),
                    "raw": _without(e.raw, gone),
                }
            )
            for e in self.evidence
        ]
        return self.model_copy(update={"tool_calls": calls, "evidence": evidence})
