"""The remote backend of the OSM tools: Overpass QL built from an :class:`OsmInput`, sent
through the shared HTTP client, parsed with overpy.

Only this module writes QL. Keys are validated (``[A-Za-z0-9_:.-]``), every value goes into
a QL string literal with ``\\`` and ``"`` escaped, names become regexes with every regex
metacharacter escaped; a model can therefore not inject QL. Requests are POSTed as the
``data`` form field with a User-Agent, at most one per ``min_interval_s`` per host, retried on
429/5xx and cached on disk for a week. A ``remark`` that reports a runtime error (time-out,
out of memory) becomes a one-line :class:`~gre.tools.base.ToolError`; other remarks are
passed on in :attr:`OsmOutput.remark`.

Co-occurrence uses named sets and ``around`` chained both ways::

    nwr[A](area)->.a;
    nwr[B](around.a:X)->.b1;   nwr.a(around.b1:X)->.a;   ...
    nwr.b1(around.a:X)->.b1;
    .a out count; .a out tags center 500; .b1 out count; .b1 out tags center 1000;

The ``out count`` lines mark where each set's elements start in the answer. Overpass judges
``around`` on full geometries; reported distances here are between centres.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from gre.geo import haversine_km
from gre.textnorm import fold
from gre.tools.base import ToolError
from gre.tools.osm.tool import (
    NAME_BASES,
    Around,
    BBox,
    MatchKind,
    NearClause,
    OsmFeature,
    OsmInput,
    OsmOutput,
    OsmType,
    TagFilter,
    compiled,
    display_name,
    match_name,
    near_label,
)
from gre.tools.support.http import HttpClient, HttpError, HttpResponse, RateLimited

DEFAULT_URL = "https://overpass-api.de/api/interpreter"
QL_TIMEOUT_S = 25
CACHE_TTL_S = 7 * 24 * 3600.0
FETCH_PRIMARY = 500  # elements of the answer set fetched (then ranked and cut to `limit`)
FETCH_NEAR = 1000  # elements of each near set fetched (for matched_via)
NEAR_SHOWN = 3

NAME_KEY_REGEX = "^(" + "|".join(sorted(NAME_BASES)) + ")(:.*)?$"
_ERE_SPECIAL = frozenset("\\.[()*+?{|^$")
_STRIP_XML = re.compile(r"<remark>[^<>]*</remark>|<count\b[^>]*?(/>|>.*?</count>)", re.DOTALL)
_XML_REMARK = re.compile(r"<remark>(?P<msg>[^<>]*)</remark>")
_HTML_TAG = re.compile(r"<[^>]*>")


class OverpassRuntimeError(ToolError, RuntimeError):
    """Overpass answered with a runtime error remark (time-out, out of memory, ...)."""


# ------------------------------------------------------------------ building QL


def ql_string(text: str) -> str:
    """``text`` as a double-quoted Overpass QL string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f'"{escaped}"'


def regex_escape(text: str) -> str:
    """``text`` as a regex matching itself (POSIX ERE and Python ``re`` alike)."""
    return "".join("\\" + ch if ch in _ERE_SPECIAL else ch for ch in text)


@functools.cache
def _letter_forms() -> dict[str, str]:
    """Each ASCII letter's accented forms (Latin-1 and Latin Extended-A)."""
    forms: dict[str, str] = defaultdict(str)
    for ch in map(chr, range(0xC0, 0x17F)):
        base = fold(ch)
        if len(base) == 1 and base.isascii() and base.isalpha():
            forms[base] += ch
    return dict(forms)


def _loose_char(ch: str) -> str:
    """A regex for ``ch`` (folded) in any case and, for a Latin letter, with any accent."""
    forms = dict.fromkeys(ch + ch.upper() + _letter_forms().get(ch, ""))
    return regex_escape(ch) if len(forms) == 1 else "[" + "".join(forms) + "]"


# What fold() turns into one space; ']' first and '-' last are literal in ERE and Python.
NAME_SEPARATOR = "[]\"{}()'’!?,/.;:_ ‐‑‒–—[-]+"


def name_regex(name: str, fuzzy: bool) -> str:
    """The value regex (used case-insensitively) of a name search, from the folded name.

    Exact: the folded words with any accents and separators, as the whole value or one of
    its ``;``-separated parts (folded equality, as the local backend). Fuzzy: the words in
    order with anything between them.
    """
    words = ["".join(_loose_char(ch) for ch in word) for word in fold(name).split()]
    if fuzzy:
        return ".*".join(words)
    return f"(^|;) *{NAME_SEPARATOR.join(words)} *(;|$)"


def _num(x: float) -> str:
    return f"{x:.7f}".rstrip("0").rstrip(".")


def tag_clause(f: TagFilter) -> str:
    key = ql_string(f.key)
    if f.value is None:
        return f"[{key}]"
    return f"[{key}{f.op}{ql_string(f.value)}]"


def area_clause(area: BBox | Around) -> str:
    if isinstance(area, BBox):
        return f"({_num(area.south)},{_num(area.west)},{_num(area.north)},{_num(area.east)})"
    return f"(around:{_num(area.radius_m)},{_num(area.lat)},{_num(area.lon)})"


def set_names(q: OsmInput) -> list[str]:
    return ["a"] + [f"b{i}" for i in range(1, len(q.near) + 1)]


def build_ql(q: OsmInput) -> str:
    """The Overpass QL for ``q`` (which must have an area)."""
    if q.area is None:
        raise ValueError("an Overpass query needs an area")
    head = "nwr" + "".join(tag_clause(t) for t in q.tags)
    if q.name is not None:
        head += f"[~{ql_string(NAME_KEY_REGEX)}~{ql_string(name_regex(q.name, q.fuzzy))},i]"
    lines = [f"[out:json][timeout:{QL_TIMEOUT_S}];", f"{head}{area_clause(q.area)}->.a;"]
    for i, clause in enumerate(q.near, 1):
        tags, d = "".join(tag_clause(t) for t in clause.tags), _num(clause.within_m)
        lines.append(f"nwr{tags}(around.a:{d})->.b{i};")
        lines.append(f"nwr.a(around.b{i}:{d})->.a;")
    for i, clause in enumerate(q.near, 1):
        lines.append(f"nwr.b{i}(around.a:{_num(clause.within_m)})->.b{i};")
    for name in set_names(q):
        fetch = FETCH_PRIMARY if name == "a" else FETCH_NEAR
        lines.append(f".{name} out count;")
        lines.append(f".{name} out tags center {fetch};")
    return "\n".join(lines)


# ------------------------------------------------------------------ parsing answers


@dataclass
class Element:
    osm_type: OsmType
    osm_id: int
    lat: float
    lon: float
    tags: dict[str, str]


@dataclass
class Parsed:
    """An answer: its elements, the named sets each belongs to, totals, and a remark."""

    elements: list[Element] = field(default_factory=list)
    sets: dict[tuple[str, int], set[str]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    remark: str | None = None


def _overpy() -> Any:
    return importlib.import_module("overpy")


def check_remark(remark: object) -> str | None:
    """The remark in one line; raises :class:`OverpassRuntimeError` unless it is benign."""
    if remark is None:
        return None
    text = " ".join(str(remark).split())
    if text.startswith("runtime remark:"):
        return text
    heavy = any(word in text.lower() for word in ("timed out", "timeout", "memory"))
    hint = " (narrow the area, the radius or the tags)" if heavy else ""
    raise OverpassRuntimeError(f"Overpass: {text}{hint}")


def _way_center(way: Any, overpy: Any) -> tuple[Any, Any] | None:
    if way.center_lat is not None and way.center_lon is not None:
        return way.center_lat, way.center_lon
    try:  # answers with the way's nodes (`>;`) and no centre
        nodes = way.get_nodes(resolve_missing=False)
    except overpy.exception.DataIncomplete:
        return None
    if not nodes:
        return None
    lats, lons = [n.lat for n in nodes], [n.lon for n in nodes]
    return (min(lats) + max(lats)) / 2, (min(lons) + max(lons)) / 2


def _elements(result: Any, overpy: Any) -> list[Element]:
    out: list[Element] = []
    for node in result.nodes:
        tags = {str(k): str(v) for k, v in node.tags.items()}
        out.append(Element("node", int(node.id), float(node.lat), float(node.lon), tags))
    kinds: tuple[tuple[OsmType, Any], ...] = (("way", result.ways), ("relation", result.relations))
    for kind, items in kinds:
        for item in items:
            center = (
                _way_center(item, overpy) if kind == "way" else (item.center_lat, item.center_lon)
            )
            if center is None or center[0] is None or center[1] is None:
                continue  # no position in the answer (e.g. `out body` without centre)
            tags = {str(k): str(v) for k, v in item.tags.items()}
            out.append(Element(kind, int(item.id), float(center[0]), float(center[1]), tags))
    return [e for e in out if e.tags]  # untagged: geometry of other elements, not answers


def parse_response(content: bytes, names: list[str]) -> Parsed:
    """Parse an Overpass answer (JSON, or XML) into elements and their named sets.

    ``out count`` elements start the output of the next set in ``names``; an answer without
    them (a hand-written query) puts every element in the first set.
    """
    overpy = _overpy()
    parsed = Parsed()
    text = content.decode("utf-8", errors="replace")
    order: list[tuple[str, int, str]] = []
    try:
        if text.lstrip().startswith("<"):
            m = _XML_REMARK.search(text)
            parsed.remark = check_remark(m.group("msg") if m else None)
            result = overpy.Overpass().parse_xml(_STRIP_XML.sub("", text))
        else:
            data = json.loads(text, parse_float=Decimal)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            parsed.remark = check_remark(data.pop("remark", None))
            current = -1
            for raw in data.get("elements") or []:
                if raw.get("type") == "count":
                    current += 1
                    if current < len(names):
                        parsed.totals[names[current]] = int(raw.get("tags", {}).get("total", 0))
                elif current < len(names):
                    order.append((str(raw.get("type")), int(raw.get("id")), names[max(0, current)]))
            result = overpy.Result.from_json(data)
        parsed.elements = _elements(result, overpy)
    except OverpassRuntimeError:
        raise
    except (
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        ArithmeticError,
        overpy.exception.OverPyException,
    ) as exc:
        reason = " ".join(str(exc).split())[:200]
        raise ToolError(f"Overpass sent an answer that could not be read: {reason}") from None
    for kind, osm_id, name in order:
        parsed.sets.setdefault((kind, osm_id), set()).add(name)
    for e in parsed.elements:
        parsed.sets.setdefault((e.osm_type, e.osm_id), {names[0]})
    return parsed


# ------------------------------------------------------------------ the query


def _post(http: HttpClient, url: str, ql: str, min_interval_s: float, ttl_s: float) -> HttpResponse:
    try:
        return http.request(
            "POST",
            url,
            data={"data": ql},
            min_interval_s=min_interval_s,
            cache_ttl_s=ttl_s,
            retries=2,
        )
    except RateLimited as exc:
        raise ToolError(f"{exc}; try again later") from None
    except HttpError as exc:
        raise ToolError(" ".join(_HTML_TAG.sub(" ", str(exc)).split())[:300]) from None


def overpass_search(
    http: HttpClient, url: str, q: OsmInput, *, min_interval_s: float = 1.0
) -> OsmOutput:
    """Answer ``q`` from the Overpass API at ``url``."""
    ql = build_ql(q)
    names = set_names(q)
    response = _post(http, url, ql, min_interval_s, CACHE_TTL_S)
    try:
        parsed = parse_response(response.content, names)
    except OverpassRuntimeError:
        if not response.from_cache:
            raise
        # A failure is never served from the cache: ask again, storing the fresh answer.
        response = _post(http, url, ql, min_interval_s, 1e-9)
        parsed = parse_response(response.content, names)
    return _output(q, ql, parsed)


def _near_via(a: Element, clause: NearClause, candidates: list[Element]) -> list[str]:
    found = sorted(
        (
            (haversine_km(a.lat, a.lon, b.lat, b.lon) * 1000.0, b)
            for b in candidates
            if (b.osm_type, b.osm_id) != (a.osm_type, a.osm_id)
        ),
        key=lambda pair: (pair[0], pair[1].osm_type, pair[1].osm_id),
    )
    return [near_label(clause, b.osm_type, b.osm_id, b.tags, d) for d, b in found[:NEAR_SHOWN]]


def _output(q: OsmInput, ql: str, parsed: Parsed) -> OsmOutput:
    pattern = compiled(name_regex(q.name, q.fuzzy), True) if q.name is not None else None
    by_set: dict[str, list[Element]] = defaultdict(list)
    for e in parsed.elements:
        for name in parsed.sets[(e.osm_type, e.osm_id)]:
            by_set[name].append(e)
    features: list[OsmFeature] = []
    for e in by_set["a"]:
        if not all(t.matches(e.tags) for t in q.tags):
            continue
        match: MatchKind | None = None
        via: list[str] = []
        if q.name is not None:
            found = match_name(q.name, e.tags, fuzzy=q.fuzzy, pattern=pattern)
            if found is None:
                continue
            match, via = found
        for i, clause in enumerate(q.near, 1):
            via += _near_via(e, clause, by_set[f"b{i}"])
        distance = None
        if isinstance(q.area, Around):
            distance = round(haversine_km(q.area.lat, q.area.lon, e.lat, e.lon) * 1000.0, 1)
        features.append(
            OsmFeature(
                osm_type=e.osm_type,
                osm_id=e.osm_id,
                lat=e.lat,
                lon=e.lon,
                name=display_name(e.tags),
                tags=e.tags,
                distance_m=distance,
                match=match,
                matched_via=via,
            )
        )
    features.sort(key=OsmFeature.sort_key)
    total = max(parsed.totals.get("a", 0), len(features))
    return OsmOutput(
        features=features[: q.limit],
        source="overpass",
        query_ql=ql,
        remark=parsed.remark,
        truncated=total > q.limit,
    )
