"""The local backend of the OSM tools: a ``.osm.pbf`` extract indexed once into SQLite.

The index (``<cache_dir>/osm/<extract>-<hash of size and mtime>-v<N>.sqlite``, written to a
temporary file and moved into place) holds every tagged node, way and relation of the
extract: ``feature`` (position, tags as JSON, geometry), ``tag`` (key, value), ``name`` (the
folded form of every name-like tag) and an R-tree ``geo`` of bounding boxes. A way's
geometry is its node locations; a relation's is its member ways and nodes (sub-relations are
left out). Like Overpass, a feature's position is its node location or the centre of its
bounding box, and ``around`` distances are measured to the whole geometry (lines, not
filled areas), so a shop is "within 20 m of" a long street anywhere along it.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import math
import re
import sqlite3
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process

from gre.geo import EARTH_RADIUS_KM, haversine_km
from gre.textnorm import fold
from gre.tools.base import ToolError
from gre.tools.osm.tool import (
    FUZZY_MIN_SCORE,
    MATCH_ORDER,
    Around,
    BBox,
    MatchKind,
    NearClause,
    OsmFeature,
    OsmInput,
    OsmOutput,
    OsmType,
    TagFilter,
    display_name,
    match_name,
    name_values,
    near_label,
)
from gre.tools.support.sqlite_index import ReadOnlyConnections, atomic_file, ensure_built, read_meta

SCHEMA_VERSION = 1
COORD = 10_000_000  # osmium's fixed-point coordinates: degrees * 1e7
M_PER_DEG = EARTH_RADIUS_KM * 1000.0 * math.pi / 180.0
MAX_CANDIDATES = 100_000  # features one query may examine before it must be narrowed
NEAR_SHOWN = 3
TAG_FIRST_MAX = 2000  # a tag this rare is looked up before the area, else after it
_SQL_VARS = 900
_BATCH = 5000

Progress = Callable[[str], None]
Box = tuple[float, float, float, float]  # south, north, west, east
Parts = list[list[tuple[float, float]]]  # lines (or single points) of (lat, lon)
_TYPES: tuple[OsmType, ...] = ("node", "way", "relation")
_CODE = {"node": 0, "way": 1, "relation": 2, "n": 0, "w": 1, "r": 2}

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE feature (id INTEGER PRIMARY KEY, lat REAL NOT NULL, lon REAL NOT NULL,
                      tags TEXT NOT NULL, geom BLOB);
CREATE TABLE tag (key TEXT NOT NULL, value TEXT NOT NULL, fid INTEGER NOT NULL,
                  PRIMARY KEY (key, value, fid)) WITHOUT ROWID;
CREATE TABLE name (fname TEXT NOT NULL, rfname TEXT NOT NULL, fid INTEGER NOT NULL);
CREATE VIRTUAL TABLE geo USING rtree (id, min_lat, max_lat, min_lon, max_lon);
"""
_INDEXES = """
CREATE INDEX name_f ON name (fname, fid);
CREATE INDEX name_r ON name (rfname);
"""
_ROW = "f.id, f.lat, f.lon, f.tags, f.geom, g.min_lat, g.max_lat, g.min_lon, g.max_lon"
_IN_BOX = "g.max_lat >= ? AND g.min_lat <= ? AND g.max_lon >= ? AND g.min_lon <= ?"


def fid_of(kind: str, osm_id: int) -> int:
    """The index's id of an OSM element (type in the two low bits)."""
    return osm_id * 4 + _CODE[kind]


# ------------------------------------------------------------------ geometry


def encode_parts(parts: Sequence[array[int]]) -> bytes:
    """Lines of fixed-point (lat, lon) pairs as one blob: count, lengths, coordinates."""
    head = array("i", [len(parts), *(len(p) // 2 for p in parts)])
    return head.tobytes() + b"".join(p.tobytes() for p in parts)


def decode_parts(blob: bytes) -> Parts:
    data = array("i")
    data.frombytes(blob)
    n, pos, out = data[0], 1 + data[0], []
    for length in data[1 : 1 + n]:
        coords = data[pos : pos + 2 * length]
        out.append([(coords[i] / COORD, coords[i + 1] / COORD) for i in range(0, len(coords), 2)])
        pos += 2 * length
    return out


def _segments(parts: Parts, kx: float, box: Box | None) -> list[tuple[float, float, float, float]]:
    """Projected segments (a lone point is a zero-length one), those near ``box`` only."""
    out = []
    for part in parts:
        pts = [(lon * kx, lat * M_PER_DEG) for lat, lon in part]
        pairs = itertools.pairwise(pts) if len(pts) > 1 else [(pts[0], pts[0])]
        for (x1, y1), (x2, y2) in pairs:
            if box is None or (
                max(y1, y2) >= box[0]
                and min(y1, y2) <= box[1]
                and max(x1, x2) >= box[2]
                and min(x1, x2) <= box[3]
            ):
                out.append((x1, y1, x2, y2))
    return out


def _point_segment(px: float, py: float, s: tuple[float, float, float, float]) -> float:
    x1, y1, x2, y2 = s
    dx, dy = x2 - x1, y2 - y1
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((px - x1) * dx + (py - y1) * dy) / length2))
    return math.hypot(px - x1 - t * dx, py - y1 - t * dy)


def _cross(ax: float, ay: float, bx: float, by: float, cx: float, cy: float) -> float:
    return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)


def _segment_segment(s: tuple[float, ...], t: tuple[float, ...]) -> float:
    d1, d2 = _cross(*t[:2], *t[2:], *s[:2]), _cross(*t[:2], *t[2:], *s[2:])
    d3, d4 = _cross(*s[:2], *s[2:], *t[:2]), _cross(*s[:2], *s[2:], *t[2:])
    if (d1 > 0 > d2 or d1 < 0 < d2) and (d3 > 0 > d4 or d3 < 0 < d4):
        return 0.0
    return min(
        _point_segment(s[0], s[1], t),  # type: ignore[arg-type]
        _point_segment(s[2], s[3], t),  # type: ignore[arg-type]
        _point_segment(t[0], t[1], s),  # type: ignore[arg-type]
        _point_segment(t[2], t[3], s),  # type: ignore[arg-type]
    )


def _projected_box(parts: Parts, kx: float, margin: float) -> Box:
    lats = [lat for part in parts for lat, _ in part]
    lons = [lon for part in parts for _, lon in part]
    return (
        min(lats) * M_PER_DEG - margin,
        max(lats) * M_PER_DEG + margin,
        min(lons) * kx - margin,
        max(lons) * kx + margin,
    )


def distance_m(a: Parts, b: Parts, limit: float) -> float:
    """Shortest distance in metres between two geometries, exact when it is <= ``limit``.

    Points are compared by great-circle distance; lines on a local equirectangular
    projection (good to a fraction of a percent at the distances allowed here).
    """
    if len(a) == len(b) == 1 and len(a[0]) == len(b[0]) == 1:
        (lat1, lon1), (lat2, lon2) = a[0][0], b[0][0]
        return haversine_km(lat1, lon1, lat2, lon2) * 1000.0
    kx = M_PER_DEG * math.cos(math.radians(a[0][0][0]))
    sa = _segments(a, kx, _projected_box(b, kx, limit))
    sb = _segments(b, kx, _projected_box(a, kx, limit))
    best = math.inf
    for s in sa:
        for t in sb:
            d = _segment_segment(s, t)
            if d < best:
                best = d
                if best == 0.0:
                    return 0.0
    return best


def _touches_box(parts: Parts, bbox: BBox) -> bool:
    """True when the geometry has a point in ``bbox`` or crosses its edge."""
    for part in parts:
        for lat, lon in part:
            if bbox.south <= lat <= bbox.north and bbox.west <= lon <= bbox.east:
                return True
    s, w, n, e = bbox.south, bbox.west, bbox.north, bbox.east
    ring = [[(s, w), (s, e), (n, e), (n, w), (s, w)]]
    return distance_m(parts, ring, 0.0) == 0.0 if sum(map(len, parts)) > 1 else False


def _expand(box: Box, metres: float) -> Box:
    s, n, w, e = box
    dlat = metres / M_PER_DEG
    dlon = metres / (M_PER_DEG * max(0.01, math.cos(math.radians(max(abs(s), abs(n)) + dlat))))
    return s - dlat, n + dlat, w - dlon, e + dlon


def region_of(area: BBox | Around | None) -> Box | None:
    """The search box of an area (a circle's bounding box)."""
    if area is None:
        return None
    if isinstance(area, BBox):
        return area.south, area.north, area.west, area.east
    return _expand((area.lat, area.lat, area.lon, area.lon), area.radius_m)


# ------------------------------------------------------------------ building


def index_path(extract: Path, cache_dir: Path) -> Path:
    """Where the index of ``extract`` lives (a new name when the file changes)."""
    st = Path(extract).stat()
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(extract).name.removesuffix(".pbf"))
    stem = stem.removesuffix("_osm")[:60] or "extract"
    digest = hashlib.sha256(f"{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:12]
    return Path(cache_dir) / "osm" / f"{stem}-{digest}-v{SCHEMA_VERSION}.sqlite"


def index_is_current(path: Path) -> bool:
    """True when ``path`` is a complete index of this schema version."""
    meta = read_meta(path)
    return meta.get("schema_version") == str(SCHEMA_VERSION) and meta.get("complete") == "1"


def ensure_index(extract: Path, cache_dir: Path, *, progress: Progress | None = None) -> Path:
    """Build the index of ``extract`` unless a current one exists; return its path.

    Concurrent builders wait on a lock file; older indexes of the same extract are removed.
    """
    path = index_path(extract, cache_dir)
    stem = path.name.rsplit("-", 2)[0]
    return ensure_built(
        path,
        index_is_current,
        lambda: build_index(extract, path, progress=progress),
        lambda: (
            old
            for old in path.parent.glob(f"{stem}-*-v*.sqlite")
            if old.name.count("-") == path.name.count("-")
        ),
    )


@dataclass
class _Writer:
    """Rows of the index, written in batches."""

    conn: sqlite3.Connection
    features: list[tuple[Any, ...]] = field(default_factory=list)
    geo: list[tuple[Any, ...]] = field(default_factory=list)
    tags: list[tuple[str, str, int]] = field(default_factory=list)
    names: list[tuple[str, str, int]] = field(default_factory=list)
    count: int = 0

    def add(self, fid: int, tags: dict[str, str], parts: Sequence[array[int]]) -> None:
        """One feature; ``parts`` are fixed-point (lat, lon) lines, a node is one point."""
        lats = [p[i] for p in parts for i in range(0, len(p), 2)]
        lons = [p[i] for p in parts for i in range(1, len(p), 2)]
        if not lats:
            return
        s, n, w, e = min(lats) / COORD, max(lats) / COORD, min(lons) / COORD, max(lons) / COORD
        blob = None if len(lats) == 1 else encode_parts(parts)
        tag_json = json.dumps(tags, ensure_ascii=False, separators=(",", ":"))
        self.features.append((fid, (s + n) / 2, (w + e) / 2, tag_json, blob))
        self.geo.append((fid, s, n, w, e))
        self.tags.extend((k, v, fid) for k, v in tags.items())
        for fname in {fold(v) for _, v in name_values(tags)} - {""}:
            self.names.append((fname, fname[::-1], fid))
        self.count += 1
        if len(self.features) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        c = self.conn
        c.executemany("INSERT INTO feature VALUES (?,?,?,?,?)", self.features)
        c.executemany("INSERT INTO geo VALUES (?,?,?,?,?)", self.geo)
        c.executemany("INSERT INTO tag VALUES (?,?,?)", self.tags)
        c.executemany("INSERT INTO name VALUES (?,?,?)", self.names)
        for rows in (self.features, self.geo, self.tags, self.names):
            rows.clear()


def _read_extract(extract: Path, out: _Writer, say: Progress) -> None:
    """Stream the extract twice: tagged relations' members first, then nodes and ways."""
    import osmium

    relations: list[tuple[int, dict[str, str], list[tuple[str, int]]]] = []
    member_ways: set[int] = set()
    rel_reader = osmium.FileProcessor(str(extract), osmium.osm.RELATION)
    for rel in rel_reader.with_filter(osmium.filter.EmptyTagFilter()):
        if not isinstance(rel, osmium.osm.Relation):
            continue
        members = [(m.type, m.ref) for m in rel.members if m.type in ("n", "w")]
        relations.append((rel.id, dict(rel.tags), members))
        member_ways.update(ref for kind, ref in members if kind == "w")
    say(f"{len(relations)} relations")

    tagged_nodes = osmium.filter.EmptyTagFilter()
    tagged_nodes.enable_for(osmium.osm.NODE)
    reader = osmium.FileProcessor(str(extract), osmium.osm.NODE | osmium.osm.WAY)
    reader.with_locations().with_filter(tagged_nodes)
    way_lines: dict[int, array[int]] = {}
    for obj in reader:
        if isinstance(obj, osmium.osm.Node):
            if obj.location.valid():
                point = array("i", [obj.location.y, obj.location.x])
                out.add(fid_of("n", obj.id), dict(obj.tags), [point])
            continue
        if not isinstance(obj, osmium.osm.Way):
            continue
        tags = dict(obj.tags)
        if not tags and obj.id not in member_ways:
            continue
        line = array("i")
        for node_ref in obj.nodes:
            if node_ref.location.valid():
                line.append(node_ref.y)
                line.append(node_ref.x)
        if tags:
            out.add(fid_of("w", obj.id), tags, [line])
        if obj.id in member_ways:
            way_lines[obj.id] = line
    say(f"{out.count} nodes and ways")

    locations = reader.node_location_storage
    for rel_id, tags, members in relations:
        parts: list[array[int]] = []
        for kind, ref in members:
            if kind == "w" and len(way_lines.get(ref, ())):
                parts.append(way_lines[ref])
            elif kind == "n" and locations is not None:
                with contextlib.suppress(KeyError, ValueError, RuntimeError):
                    loc = locations.get(ref)
                    if loc.valid():
                        parts.append(array("i", [loc.y, loc.x]))
        if parts:
            out.add(fid_of("r", rel_id), tags, parts)


def build_index(extract: Path, path: Path, *, progress: Progress | None = None) -> dict[str, str]:
    """Index ``extract`` at ``path`` (atomically: a temporary file, then ``os.replace``)."""
    t0 = time.perf_counter()

    def say(msg: str) -> None:
        if progress is not None:
            progress(f"{msg} ({time.perf_counter() - t0:.1f} s)")

    with atomic_file(path) as tmp:
        conn = sqlite3.connect(tmp)
        try:
            conn.executescript(
                "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-64000;"
            )
            conn.executescript(_SCHEMA)
            writer = _Writer(conn)
            _read_extract(extract, writer, say)
            writer.flush()
            conn.executescript(_INDEXES)
            st = Path(extract).stat()
            meta = {
                "schema_version": str(SCHEMA_VERSION),
                "extract": str(Path(extract).resolve()),
                "extract_size": str(st.st_size),
                "features": str(writer.count),
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "build_s": f"{time.perf_counter() - t0:.2f}",
                "complete": "1",
            }
            conn.executemany("INSERT INTO meta VALUES (?,?)", meta.items())
            conn.commit()
        finally:
            conn.close()
    say(f"indexed {writer.count} features")
    return meta


# ------------------------------------------------------------------ querying


@dataclass
class _Row:
    fid: int
    lat: float
    lon: float
    tags: dict[str, str]
    blob: bytes | None
    box: Box
    distance: float | None = None
    match: MatchKind | None = None
    via: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, row: Sequence[Any]) -> _Row:
        fid, lat, lon, tags, blob, s, n, w, e = row
        return cls(fid, lat, lon, json.loads(tags), blob, (s, n, w, e))

    @cached_property
    def parts(self) -> Parts:
        return [[(self.lat, self.lon)]] if self.blob is None else decode_parts(self.blob)

    def sort_key(self) -> tuple[int, float, int, int]:
        return MATCH_ORDER[self.match], self.distance or 0.0, self.fid % 4, self.fid // 4

    def feature(self) -> OsmFeature:
        return OsmFeature(
            osm_type=_TYPES[self.fid % 4],
            osm_id=self.fid // 4,
            lat=round(self.lat, 7),
            lon=round(self.lon, 7),
            name=display_name(self.tags),
            tags=self.tags,
            distance_m=None if self.distance is None else round(self.distance, 1),
            match=self.match,
            matched_via=self.via,
        )


def _prefix_end(prefix: str) -> str:
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


class LocalIndex:
    """Read-only queries on one extract's index (thread-safe: a connection per thread)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._connections = ReadOnlyConnections(self.path, "OSM index")
        self._conn = self._connections.get
        self.meta = dict(self._conn().execute("SELECT key, value FROM meta").fetchall())

    @classmethod
    def open(
        cls, extract: Path, cache_dir: Path, *, progress: Progress | None = None
    ) -> LocalIndex:
        """Open the index of ``extract``, building it first when missing or outdated."""
        return cls(ensure_index(Path(extract), Path(cache_dir), progress=progress))

    def close(self) -> None:
        """Close every connection; later queries raise RuntimeError."""
        self._connections.close()

    # -------------------------------------------------------------- candidates

    def _rows(self, sql: str, args: Sequence[Any]) -> list[_Row]:
        rows = self._conn().execute(sql + f" LIMIT {MAX_CANDIDATES + 1}", args).fetchall()
        if len(rows) > MAX_CANDIDATES:
            raise ToolError(
                f"more than {MAX_CANDIDATES} candidate features: narrow the area or the tags"
            )
        return [_Row.of(r) for r in rows]

    @staticmethod
    def _where(t: TagFilter) -> tuple[str, list[str]]:
        if t.op == "=" and t.value is not None:
            return "t.key = ? AND t.value = ?", [t.key, t.value]
        return "t.key = ?", [t.key]

    def _count(self, t: TagFilter, cap: int) -> int:
        """Index rows of ``t``, counted up to ``cap``."""
        where, args = self._where(t)
        sql = f"SELECT count(*) FROM (SELECT 1 FROM tag t WHERE {where} LIMIT {cap})"
        return int(self._conn().execute(sql, args).fetchone()[0])

    def _driver(self, tags: Sequence[TagFilter]) -> TagFilter:
        """The filter with the fewest index rows, to find candidates by."""
        exact = [t for t in tags if t.op == "=" and t.value is not None]
        if len(exact) == 1 or (exact and len(tags) == 1):
            return exact[0]
        return min(exact or tags, key=lambda t: self._count(t, MAX_CANDIDATES + 1))

    def _by_tags(
        self, tags: Sequence[TagFilter], box: Box | None, geo_first: bool | None = None
    ) -> list[_Row]:
        """Candidates for ``tags`` (in ``box``); callers check every filter on the rows.

        A common tag (``geo_first`` None: decided by counting) is looked up after the
        R-tree, a rare one before it; a key without a value is then checked on the rows.
        """
        t = self._driver(tags)
        where, args = self._where(t)
        if box is None:
            sql = f"SELECT {_ROW} FROM tag t JOIN feature f ON f.id = t.fid "
            return self._rows(sql + f"JOIN geo g ON g.id = t.fid WHERE {where}", args)
        if geo_first is None:
            geo_first = self._count(t, TAG_FIRST_MAX) >= TAG_FIRST_MAX
        if geo_first and len(args) == 1:
            sql = f"SELECT {_ROW} FROM geo g CROSS JOIN feature f ON f.id = g.id WHERE {_IN_BOX}"
            return self._rows(sql, box)
        join = "geo g CROSS JOIN tag t" if geo_first else "tag t JOIN geo g"
        sql = f"SELECT {_ROW} FROM {join} ON g.id = t.fid JOIN feature f ON f.id = t.fid "
        return self._rows(sql + f"WHERE {where} AND {_IN_BOX}", [*args, *box])

    def _fuzzy_fnames(self, fq: str) -> list[str]:
        """Folded names within the fuzzy cut-off of ``fq`` sharing its first or last third."""
        n, c = len(fq), FUZZY_MIN_SCORE / 100.0
        lo, hi = math.ceil(n * c / (2.0 - c)), math.floor(n * (2.0 - c) / c)
        k = max(3, math.ceil(n / 3))
        found: set[str] = set()
        for prefix, column, flip in ((fq[:k], "fname", False), (fq[::-1][:k], "rfname", True)):
            sql = (
                f"SELECT DISTINCT {column} FROM name WHERE {column} >= ? AND {column} < ? "
                f"AND length({column}) BETWEEN ? AND ?"
            )
            for (value,) in self._conn().execute(sql, (prefix, _prefix_end(prefix), lo, hi)):
                found.add(value[::-1] if flip else value)
        hits = process.extract(fq, list(found), scorer=fuzz.ratio, score_cutoff=FUZZY_MIN_SCORE)
        return [choice for choice, _, _ in hits]

    def _by_name(self, name: str, fuzzy: bool, box: Box | None) -> list[_Row]:
        fq = fold(name)
        fnames = sorted({fq, *(self._fuzzy_fnames(fq) if fuzzy else [])})[:_SQL_VARS]
        sql = f"SELECT DISTINCT {_ROW} FROM name n JOIN feature f ON f.id = n.fid "
        sql += f"JOIN geo g ON g.id = n.fid WHERE n.fname IN ({','.join('?' * len(fnames))})"
        args: list[Any] = list(fnames)
        if box is not None:
            sql += f" AND {_IN_BOX}"
            args += list(box)
        return self._rows(sql, args)

    # -------------------------------------------------------------- the query

    def search(self, q: OsmInput) -> OsmOutput:
        """Answer ``q`` from the index; the same output as the Overpass backend."""
        box = region_of(q.area)
        if q.name is not None:
            rows = self._by_name(q.name, q.fuzzy, box)
        else:
            rows = self._by_tags(q.tags, box)
        found: list[_Row] = []
        for row in rows:
            if not all(t.matches(row.tags) for t in q.tags) or not self._in_area(row, q.area):
                continue
            if q.name is not None:
                match = match_name(q.name, row.tags, fuzzy=q.fuzzy)
                if match is None:
                    continue
                row.match, row.via = match[0], match[1]
            found.append(row)
        found.sort(key=_Row.sort_key)
        kept: list[_Row] = []
        cache: dict[int, _Row] = {}
        for row in found:
            if all(self._near(row, clause, cache) for clause in q.near):
                kept.append(row)
                if len(kept) > q.limit:
                    break
        return OsmOutput(
            features=[r.feature() for r in kept[: q.limit]],
            source="local",
            truncated=len(kept) > q.limit,
        )

    @staticmethod
    def _in_area(row: _Row, area: BBox | Around | None) -> bool:
        if area is None:
            return True
        if isinstance(area, BBox):
            return _touches_box(row.parts, area)
        row.distance = distance_m([[(area.lat, area.lon)]], row.parts, area.radius_m)
        return row.distance <= area.radius_m

    def _near(self, row: _Row, clause: NearClause, cache: dict[int, _Row]) -> bool:
        """Whether ``clause`` holds for ``row``; adds the nearest matches to ``row.via``."""
        box = _expand(row.box, clause.within_m)
        hits: list[tuple[float, _Row]] = []
        for cand in self._by_tags(clause.tags, box, geo_first=True):
            other = cache.setdefault(cand.fid, cand)
            if other.fid == row.fid or not all(t.matches(other.tags) for t in clause.tags):
                continue
            d = distance_m(row.parts, other.parts, clause.within_m)
            if d <= clause.within_m:
                hits.append((d, other))
        hits.sort(key=lambda h: (h[0], h[1].fid))
        for d, other in hits[:NEAR_SHOWN]:
            kind, osm_id = _TYPES[other.fid % 4], other.fid // 4
            row.via.append(near_label(clause, kind, osm_id, other.tags, d))
        return bool(hits)
