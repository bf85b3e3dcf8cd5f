"""KML export: parsed back with fastkml against the OGC KML 2.2 schema, and read by GDAL
where ogrinfo is installed."""

from __future__ import annotations

import html
import io
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pygeoif
import pytest
from fastkml import kml
from shapely.geometry import Point, shape

from gre.export import to_kml, write_exports
from gre.records import Trace

NS = "{http://www.opengis.net/kml/2.2}"


def _parse(text: str) -> Any:
    document = kml.KML.parse(io.BytesIO(text.encode("utf-8")), strict=True, validate=True)
    (doc,) = document.features
    return doc


def _folders(doc: Any) -> dict[str, Any]:
    return {folder.name: folder for folder in doc.features}


def _marks(folder: Any) -> dict[str, Any]:
    return {mark.name: mark for mark in folder.features}


def test_it_is_well_formed_kml_2_2(batch: list[Trace]) -> None:
    text = to_kml(batch)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == f"{NS}kml"
    assert root.find(f"{NS}Document/{NS}name").text == "gre"  # type: ignore[union-attr]


def test_a_folder_per_photo_with_named_placemarks(answered: Trace, batch: list[Trace]) -> None:
    doc = _parse(to_kml(batch))
    folders = _folders(doc)
    assert list(folders) == [
        "névache sign.jpg",
        "white wall.jpg",
        "broken.jpg",
        "alps.jpg",
        "suva.jpg",
        "longyearbyen.jpg",
    ]
    marks = _marks(folders["névache sign.jpg"])
    label = answered.prediction.label
    assert list(marks) == [
        label,
        f"{label}: radius 12 km",
        "#1 Briançon, Provence-Alpes-Côte d'Azur, FR",
        "#1 Briançon, Provence-Alpes-Côte d'Azur, FR: radius 30 km",
        f"#2 {answered.prediction.alternatives[1].label}",
        f"#2 {answered.prediction.alternatives[1].label}: radius 600 km",
    ]
    point = marks[label].geometry
    assert isinstance(point, pygeoif.Point)
    assert (point.x, point.y) == pytest.approx((6.6033, 45.0197))
    disc = marks[f"{label}: radius 12 km"].geometry
    assert isinstance(disc, pygeoif.Polygon)
    circle = shape(disc.__geo_interface__)
    assert circle.is_valid
    assert circle.contains(Point(6.6033, 45.0197))
    assert not circle.contains(Point(6.6033 + 0.3, 45.0197))  # ~24 km east


def test_the_description_carries_the_reasoning_escaped(answered: Trace, hostile: str) -> None:
    marks = _marks(_folders(_parse(to_kml([answered])))["névache sign.jpg"])
    description = marks[answered.prediction.label].description
    for expected in ("city", "0.82", "12 km", "Névache", "FR", "Clues read", "French"):
        assert expected in description
    assert "text: <q>Névache 4,2 km" in description  # the sign read, as a clue
    # Google Earth shows a description as HTML: the sign's markup must arrive as text
    assert "<script>" not in description
    assert "<img" not in description
    assert "&lt;script&gt;document.title=&quot;pwned&quot;&lt;/script&gt;" in description
    assert html.escape(hostile) in description
    extended = {d.name: d.value for d in marks[answered.prediction.label].extended_data.elements}
    assert extended["role"] == "answer"
    assert extended["level"] == "city"
    assert float(extended["radius_km"]) == 12.0


def test_a_photo_without_a_point_is_a_placemark_without_geometry(
    abstained: Trace, failed: Trace
) -> None:
    doc = _parse(to_kml([abstained, failed]))
    wall, broken = doc.features
    (mark,) = wall.features
    assert mark.name == "abstained: white wall.jpg"
    assert mark.geometry is None
    assert "nothing located the photo: no text, no GPS" in mark.description
    assert "nothing located the photo" in wall.description  # the folder's note
    (mark,) = broken.features
    assert mark.name.startswith("error: ")
    assert mark.geometry is None
    assert "not an image" in mark.description


def test_circles_are_split_at_the_antimeridian_and_enclose_the_poles(
    fiji: Trace, polar: Trace
) -> None:
    doc = _parse(to_kml([fiji, polar]))
    suva, svalbard = (_marks(f) for f in doc.features)
    disc = suva["Fiji: radius 400 km"].geometry
    assert isinstance(disc, pygeoif.MultiPolygon)
    pieces = [shape(p.__geo_interface__) for p in disc.geoms]
    assert len(pieces) == 2
    assert all(p.is_valid for p in pieces)
    assert any(p.contains(Point(178.44, -18.14)) for p in pieces)  # Suva
    assert any(p.contains(Point(-179.9, -17.8)) for p in pieces)  # across ±180°
    north = shape(svalbard["Svalbard, NO: radius 1,500 km"].geometry.__geo_interface__)
    assert north.is_valid
    assert north.covers(Point(-100.0, 89.99))
    south = shape(svalbard["#1 McMurdo, AQ: radius 1,500 km"].geometry.__geo_interface__)
    assert south.covers(Point(-100.0, -89.99))


def test_the_document_carries_the_attributions(
    answered: Trace, tool_credits: tuple[str, str]
) -> None:
    doc = _parse(to_kml([answered]))
    for credit in tool_credits:
        assert credit in doc.description


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="GDAL's ogrinfo is not installed")
def test_gdal_reads_a_layer_per_photo(batch: list[Trace], tmp_path: Path) -> None:
    target = tmp_path / "runs.kml"
    write_exports(batch, kml=target)
    done = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-so", str(target)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "ERROR" not in done.stderr
    for name, count in (
        ("névache sign.jpg", 6),
        ("white wall.jpg", 1),
        ("alps.jpg", 4),
        ("suva.jpg", 4),
        ("longyearbyen.jpg", 4),
    ):
        block = done.stdout.split(f"Layer name: {name}\n", 1)[1]
        assert f"Feature Count: {count}" in block.split("Layer name:", 1)[0]
