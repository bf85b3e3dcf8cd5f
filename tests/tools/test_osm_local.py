"""The OSM tool's local backend on the real Monaco extract, checked against the raw data.

Every expectation is computed in the test from the ``.osm.pbf`` itself (read with pyosmium,
independently of the index): names, coordinates, counts, and brute-force co-occurrences.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from gre.config import Settings
from gre.geo import haversine_km
from gre.testing.tool_contract import check_tool
from gre.textnorm import fold
from gre.tools.osm.local import (
    LocalIndex,
    distance_m,
    ensure_index,
    index_is_current,
    index_path,
)
from gre.tools.osm.tool import OsmInput, OsmLocalTool, OsmOutput

osmium = pytest.importorskip("osmium")

CASINO_WAY = 161769674  # "Casino de Monte Carlo" in the 2016 extract (found by the test below)
CASINO_PUBLISHED = (43.7397, 7.4281)  # 43°44′23″N 7°25′41″E, the casino's published position


@dataclass
class Raw:
    """Tagged nodes and ways of the extract, straight from pyosmium."""

    nodes: dict[int, tuple[float, float, dict[str, str]]] = field(default_factory=dict)
    ways: dict[int, tuple[list[tuple[float, float]], dict[str, str]]] = field(default_factory=dict)
    relations: dict[int, dict[str, str]] = field(default_factory=dict)

    def elements(self) -> Iterator[tuple[str, int, dict[str, str]]]:
        for nid, (_, _, tags) in self.nodes.items():
            yield "node", nid, tags
        for wid, (_, tags) in self.ways.items():
            yield "way", wid, tags
        for rid, tags in self.relations.items():
            yield "relation", rid, tags

    def with_tag(self, key: str, value: str) -> set[tuple[str, int]]:
        return {(k, i) for k, i, tags in self.elements() if tags.get(key) == value}


@pytest.fixture(scope="module")
def monaco(shared_data: Path) -> Path:
    return shared_data / "osm" / "monaco.osm.pbf"


@pytest.fixture(scope="module")
def raw(monaco: Path) -> Raw:
    data = Raw()
    reader = osmium.FileProcessor(str(monaco)).with_locations()
    for obj in reader.with_filter(osmium.filter.EmptyTagFilter()):
        tags = dict(obj.tags)
        if obj.is_node():
            data.nodes[obj.id] = (obj.location.lat, obj.location.lon, tags)
        elif obj.is_way():
            coords = [(n.lat, n.lon) for n in obj.nodes if n.location.valid()]
            data.ways[obj.id] = (coords, tags)
        elif obj.is_relation():
            data.relations[obj.id] = tags
    return data


@pytest.fixture(scope="module")
def index(monaco: Path, session_cache: Path) -> Iterator[LocalIndex]:
    idx = LocalIndex.open(monaco, session_cache)
    yield idx
    idx.close()


def ask(index: LocalIndex, **query: Any) -> OsmOutput:
    return index.search(OsmInput.model_validate(query))


def refs(out: OsmOutput) -> set[tuple[str, int]]:
    return {(f.osm_type, f.osm_id) for f in out.features}


PHARMACY = [{"key": "amenity", "value": "pharmacy"}]
BUS_STOP = [{"key": "highway", "value": "bus_stop"}]
PRIMARY = [{"key": "highway", "value": "primary"}]


# --- the index file ---------------------------------------------------------------------------


def test_index_is_built_once_into_the_cache(
    index: LocalIndex, monaco: Path, session_cache: Path
) -> None:
    path = index_path(monaco, session_cache)
    assert index.path == path and path.parent == session_cache / "osm"
    assert path.name.startswith("monaco-") and path.name.endswith("-v1.sqlite")
    assert index_is_current(path)
    before = path.stat().st_mtime_ns
    assert ensure_index(monaco, session_cache) == path  # current: not rebuilt
    assert path.stat().st_mtime_ns == before
    assert not list(path.parent.glob("*.tmp"))
    assert int(index.meta["features"]) > 30_000


def test_a_changed_extract_gets_a_new_index(monaco: Path, tmp_path: Path) -> None:
    copy = tmp_path / "monaco.osm.pbf"
    copy.write_bytes(monaco.read_bytes())
    first = index_path(copy, tmp_path)
    os.utime(copy, ns=(0, 10**18))
    assert index_path(copy, tmp_path) != first


# --- named features ---------------------------------------------------------------------------


def test_casino_is_found_at_its_coordinates(index: LocalIndex, raw: Raw) -> None:
    # What the 2016 data calls it: the casino-tagged building named "Casino de Monte Carlo".
    (casino_way,) = [
        wid
        for wid, (_, tags) in raw.ways.items()
        if tags.get("amenity") == "casino" and "Monte Carlo" in tags.get("name", "")
        if tags.get("name", "").startswith("Casino")
    ]
    assert casino_way == CASINO_WAY
    coords, tags = raw.ways[CASINO_WAY]
    assert tags["name"] == "Casino de Monte Carlo"

    out = ask(index, kind="named", name="Casino de Monte-Carlo")
    assert out.source == "local" and "OpenStreetMap" in out.attribution
    top = out.features[0]
    assert (top.osm_type, top.osm_id) == ("way", CASINO_WAY)
    assert top.match == "folded" and top.matched_via == ["name"]
    lats, lons = [c[0] for c in coords], [c[1] for c in coords]
    centre = ((min(lats) + max(lats)) / 2, (min(lons) + max(lons)) / 2)
    assert haversine_km(top.lat, top.lon, *centre) * 1000 < 1.0
    assert max(haversine_km(top.lat, top.lon, lat, lon) for lat, lon in coords) * 1000 < 100
    assert haversine_km(top.lat, top.lon, *CASINO_PUBLISHED) * 1000 < 100
    assert "Casino de Monte Carlo" in out.summary()


def test_a_name_in_another_language_matches_its_tag(index: LocalIndex, raw: Raw) -> None:
    name_en = raw.ways[CASINO_WAY][1]["name:en"]
    out = ask(index, kind="named", name=name_en)
    top = out.features[0]
    assert (top.osm_id, top.match, top.matched_via) == (CASINO_WAY, "exact", ["name:en"])
    assert top.name == "Casino de Monte Carlo"


def test_street_by_folded_and_fuzzy_name(index: LocalIndex, raw: Raw) -> None:
    expected = {
        (kind, i)
        for kind, i, tags in raw.elements()
        if fold(tags.get("name", "")) == "boulevard des moulins"
    }
    assert len(expected) >= 3
    folded = ask(index, kind="named", name="BOULEVARD DES MOULINS")
    assert refs(folded) == expected and {f.match for f in folded.features} == {"folded"}
    assert all(f.osm_type == "way" and f.tags.get("highway") for f in folded.features)

    typo = ask(index, kind="named", name="Boulevard des Moulns", fuzzy=True)
    assert refs(typo) == expected and {f.match for f in typo.features} == {"fuzzy"}
    assert not ask(index, kind="named", name="Boulevard des Moulns").features


def test_accents_fold(index: LocalIndex, raw: Raw) -> None:
    (node,) = [i for i, (_, _, t) in raw.nodes.items() if t.get("name") == "Pharmacie de Carnolès"]
    out = ask(index, kind="named", name="pharmacie de carnoles")
    assert [(f.osm_id, f.match) for f in out.features] == [(node, "folded")]


# --- tags and areas ---------------------------------------------------------------------------


def test_tag_query_counts_every_pharmacy(index: LocalIndex, raw: Raw) -> None:
    expected = raw.with_tag("amenity", "pharmacy")
    assert len(expected) == 23
    out = ask(index, kind="tags", tags=PHARMACY, limit=200)
    assert refs(out) == expected and not out.truncated
    few = ask(index, kind="tags", tags=PHARMACY, limit=5)
    assert len(few.features) == 5 and few.truncated


def test_several_tags_and_a_regex(index: LocalIndex, raw: Raw) -> None:
    out = ask(
        index,
        kind="tags",
        tags=[*PHARMACY, {"key": "name", "value": "^Pharmacie de", "op": "~"}],
        limit=200,
    )
    expected = {
        ("node", i)
        for i, (_, _, t) in raw.nodes.items()
        if t.get("amenity") == "pharmacy" and t.get("name", "").startswith("Pharmacie de")
    }
    assert expected and refs(out) == expected


def test_around_a_point(index: LocalIndex, raw: Raw) -> None:
    lat, lon, radius = 43.7397, 7.4281, 600.0
    expected = {}
    for nid, (nlat, nlon, tags) in raw.nodes.items():
        if tags.get("amenity") == "pharmacy":
            d = haversine_km(lat, lon, nlat, nlon) * 1000
            assert abs(d - radius) > 1, "borderline case, pick another radius"
            if d <= radius:
                expected[("node", nid)] = d
    assert len(expected) >= 3
    area = {"lat": lat, "lon": lon, "radius_m": radius}
    out = ask(index, kind="tags", tags=PHARMACY, area=area, limit=200)
    assert refs(out) == set(expected)
    for f in out.features:
        assert f.distance_m == pytest.approx(expected[(f.osm_type, f.osm_id)], abs=0.1)
    assert [f.distance_m for f in out.features] == sorted(f.distance_m or 0 for f in out.features)


def test_in_a_bbox(index: LocalIndex, raw: Raw) -> None:
    s, w, n, e = 43.725, 7.40, 43.745, 7.43
    expected = {
        ("node", i)
        for i, (lat, lon, t) in raw.nodes.items()
        if t.get("amenity") == "pharmacy" and s <= lat <= n and w <= lon <= e
    }
    bbox = {"south": s, "west": w, "north": n, "east": e}
    out = ask(index, kind="tags", tags=PHARMACY, area=bbox, limit=200)
    assert expected and refs(out) == expected


def test_a_way_in_a_bbox_that_only_crosses_it(index: LocalIndex, raw: Raw) -> None:
    coords, tags = raw.ways[CASINO_WAY]
    lats = [c[0] for c in coords]
    mid_lat = (min(lats) + max(lats)) / 2
    # A thin box across the building's middle, wider than it: no vertex inside, edges crossed.
    bbox = {"south": mid_lat - 1e-6, "north": mid_lat + 1e-6, "west": 7.42, "east": 7.44}
    if any(abs(lat - mid_lat) <= 1e-6 for lat in lats):
        pytest.skip("a vertex lies in the box")
    out = ask(index, kind="named", name=tags["name"], area=bbox)
    assert [f.osm_id for f in out.features] == [CASINO_WAY]


# --- co-occurrence, verified by brute force ---------------------------------------------------


def _segment_min_m(lat: float, lon: float, line: list[tuple[float, float]]) -> float:
    """Distance to a polyline by sampling it every ~0.5 m with great-circle distances."""
    best = math.inf
    for (a_lat, a_lon), (b_lat, b_lon) in zip(line, line[1:] or line, strict=False):
        steps = max(1, int(haversine_km(a_lat, a_lon, b_lat, b_lon) * 2000))
        for k in range(steps + 1):
            t = k / steps
            p = (a_lat + t * (b_lat - a_lat), a_lon + t * (b_lon - a_lon))
            best = min(best, haversine_km(lat, lon, *p) * 1000)
    return best


def _pharmacies_near_bus_stops(raw: Raw, within: float) -> dict[int, float]:
    stops = [(lat, lon) for lat, lon, t in raw.nodes.values() if t.get("highway") == "bus_stop"]
    assert not any(t.get("highway") == "bus_stop" for _, t in raw.ways.values())
    out = {}
    for nid, (lat, lon, tags) in raw.nodes.items():
        if tags.get("amenity") == "pharmacy":
            d = min(haversine_km(lat, lon, s_lat, s_lon) * 1000 for s_lat, s_lon in stops)
            assert abs(d - within) > 0.5, "borderline case, pick another distance"
            if d <= within:
                out[nid] = d
    return out


@pytest.fixture(scope="module")
def to_primary(raw: Raw) -> dict[int, float]:
    """Each pharmacy's distance to the nearest primary road (when under 100 m)."""
    roads = [c for c, t in raw.ways.values() if t.get("highway") == "primary"]
    out = {}
    for nid, (lat, lon, tags) in raw.nodes.items():
        if tags.get("amenity") != "pharmacy":
            continue
        close = [  # roads whose bounding box, grown by ~200 m, holds the pharmacy
            r
            for r in roads
            if min(p[0] for p in r) - 0.002 <= lat <= max(p[0] for p in r) + 0.002
            and min(p[1] for p in r) - 0.003 <= lon <= max(p[1] for p in r) + 0.003
        ]
        d = min((_segment_min_m(lat, lon, road) for road in close), default=math.inf)
        if d < 100:
            out[nid] = d
    return out


def _pharmacies_near_primary(to_primary: dict[int, float], within: float) -> set[int]:
    for d in to_primary.values():
        assert abs(d - within) > 1.0, "borderline case, pick another distance"
    return {nid for nid, d in to_primary.items() if d <= within}


def test_pharmacies_within_100_m_of_a_bus_stop(index: LocalIndex, raw: Raw) -> None:
    expected = _pharmacies_near_bus_stops(raw, 100.0)
    assert 5 <= len(expected) < 23
    near = [{"tags": BUS_STOP, "within_m": 100}]
    out = ask(index, kind="near", tags=PHARMACY, near=near, limit=200)
    assert {f.osm_id for f in out.features} == set(expected)
    for f in out.features:
        assert f.osm_type == "node" and f.matched_via
        nearest = f.matched_via[0]
        assert nearest.startswith("highway=bus_stop node/")
        assert nearest.endswith(f"at {expected[f.osm_id]:.0f} m")


def test_pharmacies_within_30_m_of_a_primary_road(
    index: LocalIndex, to_primary: dict[int, float]
) -> None:
    expected = _pharmacies_near_primary(to_primary, 30.0)
    assert 3 <= len(expected) < 23
    near = [{"tags": PRIMARY, "within_m": 30}]
    out = ask(index, kind="near", tags=PHARMACY, near=near, limit=200)
    assert {f.osm_id for f in out.features} == expected
    assert all(v.startswith("highway=primary way/") for f in out.features for v in f.matched_via)


def test_two_clauses_must_both_hold(
    index: LocalIndex, raw: Raw, to_primary: dict[int, float]
) -> None:
    near_stop = set(_pharmacies_near_bus_stops(raw, 100.0))
    expected = near_stop & _pharmacies_near_primary(to_primary, 30.0)
    near = [{"tags": BUS_STOP, "within_m": 100}, {"tags": PRIMARY, "within_m": 30}]
    out = ask(index, kind="near", tags=PHARMACY, near=near, limit=200)
    assert expected and {f.osm_id for f in out.features} == expected


def test_a_feature_is_not_its_own_neighbour(index: LocalIndex, raw: Raw) -> None:
    pharmacies = {
        i: (lat, lon) for i, (lat, lon, t) in raw.nodes.items() if t.get("amenity") == "pharmacy"
    }
    expected = {
        i
        for i, a in pharmacies.items()
        if any(j != i and haversine_km(*a, *b) * 1000 <= 300 for j, b in pharmacies.items())
    }
    assert 0 < len(expected) < len(pharmacies)
    gaps = [haversine_km(*a, *b) * 1000 for a in pharmacies.values() for b in pharmacies.values()]
    assert all(abs(g - 300) > 0.5 for g in gaps), "borderline case, pick another distance"
    near = [{"tags": PHARMACY, "within_m": 300}]
    out = ask(index, kind="near", tags=PHARMACY, near=near, limit=200)
    assert {f.osm_id for f in out.features} == expected


def test_geometry_distance() -> None:
    line = [[(43.0, 7.0), (43.0, 7.01)]]  # ~813 m west-east
    north = [[(43.0009, 7.005)]]  # ~100 m north of its middle
    assert distance_m(north, line, 200) == pytest.approx(100.1, abs=0.5)
    assert distance_m(line, [[(42.999, 7.005), (43.001, 7.005)]], 10) == 0.0  # crossing
    assert distance_m(north, [[(43.0009, 7.005)]], 1) == 0.0


# --- the tool ---------------------------------------------------------------------------------


def test_tool_keeps_the_contract(monaco: Path, session_cache: Path, settings: Settings) -> None:
    settings = settings.model_copy(update={"osm_extract": monaco})
    calls = check_tool(
        OsmLocalTool,
        valid=[
            {"kind": "named", "name": "Casino de Monte-Carlo"},
            {"kind": "tags", "tags": PHARMACY, "limit": 3},
            {"kind": "near", "tags": PHARMACY, "near": [{"tags": BUS_STOP, "within_m": 50}]},
        ],
        invalid=[{"kind": "named"}, {"kind": "tags", "tags": [{"key": "a]b"}]}],
        cache_dir=session_cache,
        settings=settings,
    )
    assert all(c.ok for c in calls[:3])


def test_tool_without_an_extract_says_why(settings: Settings, tmp_path: Path) -> None:
    tool = OsmLocalTool(settings)
    assert "osm_extract" in (tool.unavailable_reason() or "")
    missing = OsmLocalTool(settings.model_copy(update={"osm_extract": tmp_path / "x.osm.pbf"}))
    assert "not found" in (missing.unavailable_reason() or "")


def test_tool_prepares_then_answers(monaco: Path, tmp_path: Path) -> None:
    settings = Settings(cache_dir=tmp_path, offline=True).model_copy(update={"osm_extract": monaco})
    tool = OsmLocalTool(settings)
    assert tool.unavailable_reason() is None
    assert "monaco.osm.pbf" in (tool.prepare_note() or "")
    tool.prepare()
    assert tool.prepare_note() is None
    out = tool.run(OsmInput(kind="named", name="Casino de Monte Carlo"))
    assert out.features[0].osm_id == CASINO_WAY
    tool.close()


def test_query_model_is_bounded() -> None:
    for bad in (
        {"kind": "tags", "tags": [{"key": "amenity]"}]},
        {"kind": "tags", "tags": [{"key": "a", "value": "x\ny"}]},
        {"kind": "tags", "tags": [{"key": "a", "value": "(a+)+", "op": "~"}]},
        {"kind": "tags", "tags": [{"key": "a", "value": "a\\d", "op": "~"}]},
        {"kind": "tags", "tags": [{"key": "a", "value": "a.*b.*c.*", "op": "~"}]},
        {"kind": "tags", "tags": [{"key": "a", "op": "~"}]},
        {"kind": "named", "name": "a\nb"},
        {"kind": "named", "name": "  "},
        {"kind": "named"},
        {"kind": "near", "tags": PHARMACY},
        {"kind": "tags", "tags": PHARMACY, "near": [{"tags": BUS_STOP, "within_m": 5}]},
        {"kind": "tags", "tags": PHARMACY, "area": {"lat": 0, "lon": 0, "radius_m": 60_000}},
        {"kind": "tags", "tags": PHARMACY, "area": {"south": 0, "west": 0, "north": 9, "east": 1}},
        {"kind": "tags", "tags": PHARMACY, "limit": 201},
        {"kind": "tags", "tags": PHARMACY, "near_m": 1},
    ):
        with pytest.raises(ValidationError):
            OsmInput.model_validate(bad)
