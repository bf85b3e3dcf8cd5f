"""OpenStreetMap look-ups for the model: one structured query model, two backends.

The model never writes Overpass QL: it sends an :class:`OsmInput` (a name, tag filters, an
area, "near" clauses), validated and bounded here; the backends build their own queries.

* ``osm`` (:class:`OsmLocalTool`): a user-supplied ``.osm.pbf`` extract, indexed once into
  the cache directory by :mod:`gre.tools.osm.local` and queried offline;
* ``overpass`` (:class:`OverpassTool`): the Overpass API through the shared HTTP client
  (User-Agent, rate limit, disk cache), see :mod:`gre.tools.osm.overpass`.

Both answer with the same :class:`OsmOutput`. OSM data © OpenStreetMap contributors, ODbL.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from rapidfuzz import fuzz

from gre.config import Settings
from gre.records import PlaceClaim
from gre.textnorm import fold
from gre.tools.base import Tool, ToolError, ToolOutput, ToolUnavailable, quote

if TYPE_CHECKING:
    from gre.tools.osm.local import LocalIndex

ATTRIBUTION = "Data © OpenStreetMap contributors, ODbL 1.0. https://osm.org/copyright"
MAX_RADIUS_M = 50_000.0
MAX_NEAR_M = 5_000.0
MAX_BBOX_DEG = 5.0
MAX_LIMIT = 200
FUZZY_MIN_SCORE = 85.0

OsmType = Literal["node", "way", "relation"]
MatchKind = Literal["exact", "folded", "fuzzy", "regex"]
MATCH_ORDER: dict[str | None, int] = {"exact": 0, "folded": 1, "fuzzy": 2, "regex": 3, None: 0}
TYPE_ORDER = {"node": 0, "way": 1, "relation": 2}

KEY_PATTERN = r"^[A-Za-z0-9_:.\-]{1,64}$"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_QUANTIFIED_GROUP = re.compile(r"\)[*+?]")
# Names: ``name``, these bases, and their ``:suffix`` forms (``name:fr``, ``alt_name:de``) ...
NAME_BASES = frozenset(
    {"name", "alt_name", "old_name", "official_name", "short_name"}
    | {"loc_name", "int_name", "nat_name", "reg_name"}
)
# ... except suffixes that are not names of the feature.
NOT_NAME_SUFFIXES = frozenset(
    {"prefix", "suffix", "etymology", "wikidata", "wikipedia", "pronunciation"}
    | {"source", "signed", "note"}
)


def _plain_text(value: str, what: str) -> str:
    if _CONTROL.search(value):
        raise ValueError(f"{what} must not contain control characters (newlines, tabs)")
    return value


@functools.lru_cache(maxsize=256)
def compiled(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    """A regex compiled once (validated patterns only)."""
    return re.compile(pattern, re.IGNORECASE if ignore_case else 0)


class TagFilter(BaseModel):
    """One tag condition: ``key`` present, ``key=value``, or ``key~regex``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=KEY_PATTERN, description="OSM key, e.g. amenity, shop, name:fr")
    value: str | None = Field(
        default=None, max_length=255, description="the value; null means any value"
    )
    op: Literal["=", "~"] = Field(
        default="=", description="'=' exact value, '~' a simple case-sensitive regex"
    )

    @field_validator("value")
    @classmethod
    def _value(cls, value: str | None) -> str | None:
        return None if value is None else _plain_text(value, "a tag value")

    @model_validator(mode="after")
    def _safe_regex(self) -> TagFilter:
        if self.op != "~":
            return self
        pattern = self.value
        if not pattern or len(pattern) > 100:
            raise ValueError("op '~' needs a regex of 1-100 characters")
        if re.search(r'[\\"{}]|\(\?|\[[:=.]', pattern) or _QUANTIFIED_GROUP.search(pattern):
            raise ValueError('the regex may not use \\ " { } (? [: [= [. or a quantified group')
        if sum(pattern.count(q) for q in "*+?") > 2:
            raise ValueError("the regex may use at most two quantifiers (* + ?)")
        try:
            compiled(pattern)
        except re.error as exc:
            raise ValueError(f"invalid regex: {exc}") from None
        return self

    def matches(self, tags: Mapping[str, str]) -> bool:
        value = tags.get(self.key)
        if value is None:
            return False
        if self.value is None:
            return True
        if self.op == "=":
            return value == self.value
        return compiled(self.value).search(value) is not None

    def label(self) -> str:
        return self.key if self.value is None else f"{self.key}{self.op}{self.value}"


class BBox(BaseModel):
    """A box in degrees (no antimeridian crossing, at most 5° a side)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    south: float = Field(ge=-90, le=90)
    west: float = Field(ge=-180, le=180)
    north: float = Field(ge=-90, le=90)
    east: float = Field(ge=-180, le=180)

    @model_validator(mode="after")
    def _ordered(self) -> BBox:
        if not (self.south < self.north and self.west < self.east):
            raise ValueError("bbox needs south < north and west < east")
        if self.north - self.south > MAX_BBOX_DEG or self.east - self.west > MAX_BBOX_DEG:
            raise ValueError(f"bbox sides must be at most {MAX_BBOX_DEG:g} degrees")
        return self


class Around(BaseModel):
    """A circle: a point and a radius in metres (at most 50 km)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    radius_m: float = Field(gt=0, le=MAX_RADIUS_M)


class NearClause(BaseModel):
    """Co-occurrence: some feature with all these tags lies within ``within_m`` metres."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tags: list[TagFilter] = Field(min_length=1, max_length=5)
    within_m: float = Field(gt=0, le=MAX_NEAR_M)

    def label(self) -> str:
        return ",".join(t.label() for t in self.tags)


class OsmInput(BaseModel):
    """One OSM query; ``kind`` says which fields it needs."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["named", "tags", "near"] = Field(
        description="named: features called `name`; tags: features with all `tags`; "
        "near: features (by `tags` and/or `name`) with every `near` clause satisfied"
    )
    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="a name in any language; matches name, name:*, alt_name, old_name, "
        "official_name ignoring case and accents",
    )
    fuzzy: bool = Field(default=False, description="also accept near-miss names (OCR errors)")
    tags: list[TagFilter] = Field(default_factory=list, max_length=5)
    area: BBox | Around | None = Field(
        default=None, description="where to search; required by the overpass tool"
    )
    near: list[NearClause] = Field(default_factory=list, max_length=3)
    limit: int = Field(default=20, ge=1, le=MAX_LIMIT)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = _plain_text(value, "name").strip()
        if not fold(value):
            raise ValueError("name must contain letters or digits")
        return value

    @model_validator(mode="after")
    def _fields_for_kind(self) -> OsmInput:
        if self.kind == "named" and self.name is None:
            raise ValueError("kind 'named' needs a name")
        if self.kind == "tags" and not self.tags:
            raise ValueError("kind 'tags' needs at least one tag filter")
        if self.kind == "near" and not (self.near and (self.tags or self.name)):
            raise ValueError("kind 'near' needs near clauses and tags or a name")
        if self.kind != "near" and self.near:
            raise ValueError("near clauses need kind 'near'")
        return self


class OsmFeature(BaseModel):
    """An OSM element: a node's position, or the centre of a way's/relation's bounding box."""

    osm_type: OsmType
    osm_id: int
    lat: float
    lon: float
    name: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    distance_m: float | None = Field(
        default=None,
        description="metres from the `around` point (locally to the geometry, "
        "on Overpass to the centre)",
    )
    match: MatchKind | None = Field(default=None, description="how the name matched")
    matched_via: list[str] = Field(
        default_factory=list, description="name tags that matched, or the nearby features"
    )

    @property
    def ref(self) -> str:
        return f"{self.osm_type}/{self.osm_id}"

    def sort_key(self) -> tuple[int, float, int, int]:
        return (
            MATCH_ORDER[self.match],
            self.distance_m or 0.0,
            TYPE_ORDER[self.osm_type],
            self.osm_id,
        )


def _describe(f: OsmFeature) -> str:
    extra = f", {f.distance_m:.0f} m" if f.distance_m is not None else ""
    extra += f", {f.match}" if f.match not in (None, "exact") else ""
    return f"{f.name or 'unnamed'} ({f.ref} {f.lat:.5f},{f.lon:.5f}{extra})"


FEATURE_WEIGHT = 0.7
"""A feature a query found (a sign line's name, a model's tags) before its share."""
FEATURE_RADIUS_KM = 0.3
MAX_CLAIMS = 5
_MATCH_FACTOR = {"exact": 1.0, "folded": 0.95, "fuzzy": 0.7, "regex": 0.6}


class OsmOutput(ToolOutput):
    """Features found, best first; the same shape from both backends."""

    features: list[OsmFeature] = Field(default_factory=list)
    source: Literal["local", "overpass"]
    query_ql: str | None = Field(default=None, description="the Overpass QL sent, if any")
    remark: str | None = Field(default=None, description="a non-fatal remark of the server")
    truncated: bool = False
    attribution: str = ATTRIBUTION

    def summary(self) -> str:
        if not self.features:
            line = f"no OSM feature found [{self.source}]"
        else:
            parts = "; ".join(_describe(f) for f in self.features[:3])
            more = f" (+{len(self.features) - 3})" if len(self.features) > 3 else ""
            cut = ", truncated" if self.truncated else ""
            line = f"{len(self.features)} OSM feature(s) [{self.source}{cut}]: {parts}{more}"
        if self.remark:
            line += f" | remark: {self.remark}"
        return " ".join(line.split())[:300]

    def for_model(self) -> str:
        head = f"{len(self.features)} OSM feature(s) [{self.source}]"
        rows = [head]
        for f in self.features[:5]:
            tags = ", ".join(f"{k}={v}" for k, v in list(f.tags.items())[:4])
            dist = f", {f.distance_m:.0f} m away" if f.distance_m is not None else ""
            rows.append(
                f"  {quote(f.name or 'unnamed')} ({f.ref}) at {f.lat:.5f}, {f.lon:.5f}{dist}; "
                f"tags {quote(tags)}"
            )
        return "\n".join(rows)

    def claims(self) -> list[PlaceClaim]:
        """Street-level places at the features found: fewer matches are more telling."""
        if not self.features:
            return []
        share = 1.0 / math.sqrt(len(self.features))
        out: list[PlaceClaim] = []
        for f in self.features[:MAX_CLAIMS]:
            factor = _MATCH_FACTOR.get(str(f.match), 0.8)
            name = f.name or ", ".join(f"{k}={v}" for k, v in list(f.tags.items())[:2]) or f.ref
            out.append(
                PlaceClaim(
                    lat=f.lat,
                    lon=f.lon,
                    radius_km=FEATURE_RADIUS_KM,
                    level="street",
                    label=name[:200],
                    weight=round(min(0.9, FEATURE_WEIGHT * factor * share), 4),
                    ref=f"osm:{f.ref}",
                    why=f"OSM {f.ref} ({f.match or 'tags'})",
                )
            )
        return out


# ------------------------------------------------------------------ shared matching


def is_name_key(key: str) -> bool:
    """True for keys that name the feature (``name``, ``name:fr``, ``alt_name``, ...)."""
    base, _, sub = key.partition(":")
    return base in NAME_BASES and (not sub or sub.split(":")[0] not in NOT_NAME_SUFFIXES)


def name_values(tags: Mapping[str, str]) -> list[tuple[str, str]]:
    """(key, name) for every name-like tag; ``a;b`` values give two names."""
    out: list[tuple[str, str]] = []
    for key, value in tags.items():
        if is_name_key(key):
            out.extend((key, part.strip()) for part in value.split(";") if part.strip())
    return out


def match_name(
    query: str,
    tags: Mapping[str, str],
    *,
    fuzzy: bool,
    pattern: re.Pattern[str] | None = None,
) -> tuple[MatchKind, list[str]] | None:
    """How ``tags`` name ``query`` (best kind) and the keys that matched that way, or None.

    Exact, then folded (case/accents/punctuation), then fuzzy (rapidfuzz ratio of the folded
    strings >= 85, when ``fuzzy``), then ``pattern`` (the regex Overpass matched remotely).
    """
    fq = fold(query)
    best: tuple[int, MatchKind] | None = None
    keys: list[str] = []
    for key, value in name_values(tags):
        kind: MatchKind
        if value == query:
            kind = "exact"
        elif fold(value) == fq:
            kind = "folded"
        elif fuzzy and fuzz.ratio(fold(value), fq) >= FUZZY_MIN_SCORE:
            kind = "fuzzy"
        elif pattern is not None and pattern.search(value):
            kind = "regex"
        else:
            continue
        rank = MATCH_ORDER[kind]
        if best is None or rank < best[0]:
            best, keys = (rank, kind), [key]
        elif rank == best[0] and key not in keys:
            keys.append(key)
    if best is None:
        return None
    return best[1], sorted(keys, key=lambda k: (k != "name", k))


def display_name(tags: Mapping[str, str]) -> str | None:
    """The ``name`` tag, else the first other name-like tag."""
    if "name" in tags:
        return tags["name"]
    values = name_values(tags)
    return values[0][1] if values else None


def near_label(
    clause: NearClause, osm_type: str, osm_id: int, tags: Mapping[str, str], distance_m: float
) -> str:
    """How a co-occurrence was met, e.g. ``highway=bus_stop node/1 'Place' at 42 m``."""
    name = display_name(tags)
    shown = f" {name!r}" if name else ""
    return f"{clause.label()} {osm_type}/{osm_id}{shown} at {distance_m:.0f} m"


# ------------------------------------------------------------------ the tools

_DESCRIPTION = (
    "Query OpenStreetMap with a structured request (never raw Overpass QL). "
    "kind=named: features called `name` (any language; set fuzzy for OCR errors); "
    "kind=tags: features with all `tags` (e.g. {key: amenity, value: pharmacy}); "
    "kind=near: co-occurrence, features with `tags`/`name` that have, for every `near` "
    "clause, a feature with the clause's tags within `within_m` metres (e.g. a pharmacy "
    "within 100 m of a bus stop). `area` is a bbox (south, west, north, east) or around "
    "(lat, lon, radius_m). Returns locations (node position or way/relation centre), tags, "
    "distances and what matched."
)


class OsmLocalTool(Tool[OsmInput, OsmOutput]):
    """OSM queries on a local ``.osm.pbf`` extract (Settings ``osm_extract``), offline."""

    name: ClassVar[str] = "osm"
    description: ClassVar[str] = (
        "OpenStreetMap in the local extract (offline; only the extract's region). " + _DESCRIPTION
    )
    input_model: ClassVar[type[BaseModel]] = OsmInput
    output_model: ClassVar[type[BaseModel]] = OsmOutput
    needs_network: ClassVar[bool] = False

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__(settings)
        configured = getattr(self.settings, "osm_extract", None)
        self.extract = Path(configured).expanduser() if configured else None
        self._index: LocalIndex | None = None
        self._open_lock = threading.Lock()

    def _index_path(self) -> Path | None:
        from gre.tools.osm import local as osm_local

        if self.extract is None or not self.extract.is_file():
            return None
        return osm_local.index_path(self.extract, self.settings.cache_dir)

    def _index_ready(self) -> bool:
        from gre.tools.osm import local as osm_local

        path = self._index_path()
        return path is not None and osm_local.index_is_current(path)

    def unavailable_reason(self) -> str | None:
        if self.extract is None:
            return "no OSM extract configured (set osm_extract / GRE_OSM_EXTRACT to a .osm.pbf)"
        if not self.extract.is_file():
            return f"OSM extract not found: {self.extract}"
        ready = self._index is not None or self._index_ready()
        if not ready and importlib.util.find_spec("osmium") is None:
            return "indexing the OSM extract needs pyosmium: pip install 'gre-suite[osm]'"
        return None

    def prepare_note(self) -> str | None:
        if self._index is not None or self.extract is None or self._index_ready():
            return None
        size_mb = self.extract.stat().st_size / 1e6 if self.extract.is_file() else 0.0
        return f"indexing the OSM extract {self.extract.name} ({size_mb:.0f} MB) once"

    def prepare(self) -> None:
        """Build (first time only) and open the extract's index."""
        self.index()

    def index(self) -> LocalIndex:
        """The open index of the extract (built on first use)."""
        from gre.tools.osm.local import LocalIndex

        with self._open_lock:
            if self._index is None:
                reason = self.unavailable_reason()
                if reason is not None or self.extract is None:
                    raise ToolUnavailable(reason or "no OSM extract configured")
                try:
                    self._index = LocalIndex.open(self.extract, self.settings.cache_dir)
                except (OSError, ValueError, RuntimeError) as exc:
                    raise ToolUnavailable(f"OSM extract unusable: {exc}") from exc
            return self._index

    def run(self, params: OsmInput) -> OsmOutput:
        return self.index().search(params)

    def close(self) -> None:
        with self._open_lock:
            if self._index is not None:
                self._index.close()
                self._index = None


class OverpassTool(Tool[OsmInput, OsmOutput]):
    """OSM queries on the Overpass API (Settings ``overpass_url``); needs the network."""

    name: ClassVar[str] = "overpass"
    description: ClassVar[str] = (
        "OpenStreetMap through the Overpass API (online, worldwide; `area` is required). "
        + _DESCRIPTION
    )
    input_model: ClassVar[type[BaseModel]] = OsmInput
    output_model: ClassVar[type[BaseModel]] = OsmOutput
    needs_network: ClassVar[bool] = True

    min_interval_s: float = 1.0  # between requests to one Overpass host

    def __init__(self, settings: Settings | None = None) -> None:
        from gre.tools.osm.overpass import DEFAULT_URL

        super().__init__(settings)
        self.url: str = getattr(self.settings, "overpass_url", None) or DEFAULT_URL

    def unavailable_reason(self) -> str | None:
        if importlib.util.find_spec("overpy") is None:
            return "the overpass tool needs overpy: pip install 'gre-suite[osm]'"
        return None

    def run(self, params: OsmInput) -> OsmOutput:
        from gre.tools.osm.overpass import overpass_search

        if params.area is None:
            raise ToolError("the overpass tool needs an area (a bbox or around a point)")
        return overpass_search(self.http, self.url, params, min_interval_s=self.min_interval_s)
