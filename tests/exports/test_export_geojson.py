"""GeoJSON export: RFC 7946 (validated by the geojson package, shapely and GDAL's ogrinfo)."""

from __future__ import annotations

import json
import math
import random
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import geojson
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, shape

from gre.export import circle_geometry, to_geojson, write_json_atomic
from gre.geo import EARTH_RADIUS_KM, haversine_km
from gre.records import Trace


def _rings_wound_right(geometry: dict[str, Any]) -> bool:
    """Exterior rings counter-clockwise, holes clockwise (RFC 7946 §3.1.6)."""
    polygons = [geometry["coordinates"]]
    if geometry["type"] == "MultiPolygon":
        polygons = geometry["coordinates"]
    for rings in polygons:
        if not shapely.is_ccw(shapely.LinearRing(rings[0])):
            return False
        if any(shapely.is_ccw(shapely.LinearRing(hole)) for hole in rings[1:]):
            return False
    return True


def _in_range(geometry: dict[str, Any]) -> bool:
    xy = shapely.get_coordinates(shape(geometry))
    return bool((abs(xy[:, 0]) <= 180).all() and (abs(xy[:, 1]) <= 90).all())


def _features(fc: dict[str, Any], **match: Any) -> list[dict[str, Any]]:
    return [f for f in fc["features"] if all(f["properties"].get(k) == v for k, v in match.items())]


def test_the_collection_is_valid_rfc7946(batch: list[Trace]) -> None:
    fc = to_geojson(batch)
    parsed = geojson.loads(json.dumps(fc, allow_nan=False))
    assert parsed.is_valid, parsed.errors()
    assert parsed.errors() == []
    for feature in fc["features"]:
        assert geojson.loads(json.dumps(feature)).is_valid
        geometry = feature["geometry"]
        if geometry is None:
            continue
        assert shape(geometry).is_valid, (
            feature["properties"],
            shapely.is_valid_reason(shape(geometry)),
        )
        assert _in_range(geometry)
        if geometry["type"] != "Point":
            assert _rings_wound_right(geometry), feature["properties"]


def test_every_photo_is_a_feature_and_one_without_a_point_says_why(batch: list[Trace]) -> None:
    fc = to_geojson(batch)
    photos = {f["properties"]["photo"] for f in fc["features"]}
    assert photos == {
        "photos/névache sign.jpg",
        "photos/white wall.jpg",
        "photos/broken.jpg",
        "photos/alps.jpg",
        "photos/suva.jpg",
        "photos/longyearbyen.jpg",
    }
    (wall,) = _features(fc, photo="photos/white wall.jpg")
    assert wall["geometry"] is None
    assert wall["properties"]["status"] == "abstained"
    assert wall["properties"]["role"] == "abstained"
    assert wall["properties"]["reason"] == "nothing located the photo: no text, no GPS"
    (broken,) = _features(fc, status="error")
    assert broken["geometry"] is None
    assert broken["properties"]["reason"] == "cannot open photos/broken.jpg: not an image"


def test_the_answer_and_its_alternatives_come_with_their_circles(answered: Trace) -> None:
    fc = to_geojson([answered])
    roles = [(f["properties"]["role"], f["properties"]["rank"]) for f in fc["features"]]
    assert roles == [
        ("answer", 0),
        ("radius", 0),
        ("alternative", 1),
        ("alternative_radius", 1),
        ("alternative", 2),
        ("alternative_radius", 2),
    ]
    point = fc["features"][0]
    assert point["geometry"] == {"type": "Point", "coordinates": [6.6033, 45.0197]}
    assert point["properties"]["label"] == "Névache, Provence-Alpes-Côte d'Azur, FR"
    assert point["properties"]["radius_km"] == 12.0
    briancon = shape(fc["features"][3]["geometry"])
    assert briancon.contains(Point(6.6436, 44.8986))
    assert not briancon.contains(Point(6.6436 + 1.0, 44.8986))  # ~80 km east, outside 30 km


def test_the_collection_carries_the_tools_attributions(
    answered: Trace, fiji: Trace, tool_credits: tuple[str, str]
) -> None:
    fc = to_geojson([answered, fiji])
    assert fc["attribution"] == "; ".join(tool_credits)
    assert "attribution" not in to_geojson([fiji])


def test_a_3000_km_circle_is_kept(continental: Trace) -> None:
    fc = to_geojson([continental])
    (disc,) = _features(fc, role="radius")
    geometry = shape(disc["geometry"])
    assert geometry.is_valid
    assert geometry.contains(Point(10.0, 48.0))
    assert geometry.contains(Point(-3.7, 40.4))  # Madrid, ~1,650 km away
    assert not geometry.contains(Point(37.6, 55.75 + 20))  # far north of Moscow, 3,700 km


def test_fiji_is_split_at_the_antimeridian(fiji: Trace) -> None:
    fc = to_geojson([fiji])
    for role in ("radius", "alternative_radius"):
        (disc,) = _features(fc, role=role)
        assert disc["geometry"]["type"] == "MultiPolygon"
        pieces = [
            shape({"type": "Polygon", "coordinates": p}) for p in disc["geometry"]["coordinates"]
        ]
        assert len(pieces) == 2
        assert {round(p.bounds[0]) for p in pieces} | {round(p.bounds[2]) for p in pieces} >= {
            -180,
            180,
        }
    (answer,) = _features(fc, role="radius")
    geometry = shape(answer["geometry"])
    assert geometry.contains(Point(178.44, -18.14))  # Suva
    assert geometry.contains(Point(-179.9, -17.8))  # just across ±180°
    assert not geometry.contains(Point(0.0, -17.8))  # not the rest of the world


def test_a_circle_over_a_pole_encloses_the_pole(polar: Trace) -> None:
    fc = to_geojson([polar])
    (north,) = _features(fc, role="radius")
    (south,) = _features(fc, role="alternative_radius")
    for feature, pole in ((north, 89.99), (south, -89.99)):
        geometry = shape(feature["geometry"])
        assert geometry.is_valid
        for lon in (-179.0, -90.0, 0.0, 90.0, 179.0):
            assert geometry.covers(Point(lon, pole))
        assert not geometry.contains(Point(15.65, -pole))  # not the opposite pole
    assert shape(north["geometry"]).contains(Point(15.65, 78.22))  # Longyearbyen
    assert shape(south["geometry"]).contains(Point(166.67, -77.85))  # McMurdo


CASES = [
    (45.0, 6.0, 50.0),
    (-17.7, 178.0, 500.0),
    (-17.7, 178.0, 3000.0),
    (85.0, 10.0, 1000.0),
    (-88.0, -60.0, 800.0),
    (90.0, 0.0, 300.0),
    (0.0, 0.0, 3000.0),
    (0.0, 0.0, 11000.0),
    (0.0, 179.0, 11000.0),
    (45.0, 170.0, 15000.0),
    (10.0, 20.0, 19000.0),
    (0.0, 180.0, 500.0),
    (0.0, -180.0, 500.0),
]


@pytest.mark.parametrize(("lat", "lon", "radius_km"), CASES)
def test_a_circle_is_the_disc_on_the_sphere(lat: float, lon: float, radius_km: float) -> None:
    """Points well inside or outside the disc (by great-circle distance) fall on that side."""
    geometry = circle_geometry(lat, lon, radius_km)
    assert geometry is not None
    polygon = shape(geometry)
    assert polygon.is_valid
    assert _rings_wound_right(geometry)
    shapely.prepare(polygon)
    rng = random.Random(7)
    margin = max(60.0, radius_km * 0.01)  # a 128-gon's chords lie inside the true circle
    checked = 0
    for _ in range(3000):
        p_lat = math.degrees(math.asin(rng.uniform(-1, 1)))
        p_lon = rng.uniform(-180, 180)
        d = haversine_km(lat, lon, p_lat, p_lon)
        if abs(d - radius_km) < margin:
            continue
        checked += 1
        assert polygon.covers(Point(p_lon, p_lat)) == (d < radius_km), (p_lat, p_lon, d)
    assert checked > 2000


def test_a_circle_larger_than_the_earth_is_the_world() -> None:
    world = circle_geometry(0.0, 0.0, math.pi * EARTH_RADIUS_KM + 1)
    assert world is not None
    assert shape(world).area == pytest.approx(360 * 180)
    assert circle_geometry(0.0, 0.0, 0.0) is None
    assert circle_geometry(0.0, 0.0, None) is None
    assert circle_geometry(0.0, 0.0, float("nan")) is None


@settings(max_examples=150, deadline=None)
@given(
    lat=st.floats(-90, 90),
    lon=st.floats(-180, 180),
    radius_km=st.floats(0.001, 21000),
)
def test_any_circle_is_a_valid_polygon(lat: float, lon: float, radius_km: float) -> None:
    geometry = circle_geometry(lat, lon, radius_km)
    assert geometry is not None
    polygon = shape(geometry)
    assert polygon.is_valid, shapely.is_valid_reason(polygon)
    assert _in_range(geometry)
    assert _rings_wound_right(geometry)
    assert geojson.loads(json.dumps(geometry)).is_valid
    assert polygon.buffer(1e-5).covers(Point(lon, max(-89.9999, min(89.9999, lat))))


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="GDAL's ogrinfo is not installed")
def test_gdal_reads_every_feature(batch: list[Trace], tmp_path: Path) -> None:
    target = tmp_path / "runs.geojson"
    fc = to_geojson(batch)
    write_json_atomic(target, fc)
    done = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-so", str(target)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "ERROR" not in done.stderr
    assert f"Feature Count: {len(fc['features'])}" in done.stdout
    assert "Extent: (-180.000000, -90.000000) - (180.000000, 90.000000)" in done.stdout
    full = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-q", str(target)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert full.returncode == 0, full.stderr
    kinds = Counter(f["geometry"]["type"] for f in fc["features"] if f["geometry"])
    assert kinds["MultiPolygon"] == 2  # Fiji's two circles
    assert full.stdout.count("MULTIPOLYGON (((") == kinds["MultiPolygon"]
    assert len(re.findall(r"(?<!MULTI)POLYGON \(\(", full.stdout)) == kinds["Polygon"]
    assert full.stdout.count("POINT (") == kinds["Point"]
