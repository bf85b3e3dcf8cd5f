"""Exports: the candidates of one or more runs as a GeoJSON FeatureCollection (RFC 7946)."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gre.geo import EARTH_RADIUS_KM
from gre.records import Trace

CIRCLE_VERTICES = 64
MAX_CIRCLE_KM = 1500.0


def circle(lat: float, lon: float, radius_km: float) -> list[list[float]] | None:
    """A closed ring approximating a geodesic circle; None where it would cross a pole or ±180°."""
    if radius_km <= 0 or radius_km > MAX_CIRCLE_KM:
        return None
    d = radius_km / EARTH_RADIUS_KM
    p1, l1 = math.radians(lat), math.radians(lon)
    ring: list[list[float]] = []
    for i in range(CIRCLE_VERTICES + 1):
        bearing = 2 * math.pi * (i % CIRCLE_VERTICES) / CIRCLE_VERTICES
        p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(bearing))
        l2 = l1 + math.atan2(
            math.sin(bearing) * math.sin(d) * math.cos(p1),
            math.cos(d) - math.sin(p1) * math.sin(p2),
        )
        lon2 = math.degrees(l2)
        if not -180.0 <= lon2 <= 180.0 or abs(math.degrees(p2)) >= 89.9:
            return None
        ring.append([round(lon2, 6), round(math.degrees(p2), 6)])
    return ring


def _feature(geometry: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": props}


def trace_features(trace: Trace) -> list[dict[str, Any]]:
    """The answer (point and radius circle) and each alternative of one trace."""
    photo = trace.photo.path if trace.photo else None
    pred = trace.prediction
    features: list[dict[str, Any]] = []
    if pred.lat is not None and pred.lon is not None:
        props = {
            "photo": photo,
            "rank": 0,
            "role": "answer",
            "label": pred.label,
            "level": pred.level,
            "radius_km": pred.radius_km,
            "confidence": pred.confidence,
            "country_code": pred.country_code,
            "nearest_place": pred.nearest_place.name if pred.nearest_place else None,
        }
        features.append(_feature({"type": "Point", "coordinates": [pred.lon, pred.lat]}, props))
        ring = circle(pred.lat, pred.lon, pred.radius_km or 0.0)
        if ring:
            features.append(
                _feature({"type": "Polygon", "coordinates": [ring]}, {**props, "role": "radius"})
            )
    for rank, alt in enumerate(pred.alternatives, start=1):
        features.append(
            _feature(
                {"type": "Point", "coordinates": [alt.lon, alt.lat]},
                {
                    "photo": photo,
                    "rank": rank,
                    "role": "alternative",
                    "label": alt.label,
                    "level": alt.level,
                    "radius_km": alt.radius_km,
                    "score": alt.score,
                    "country_code": alt.country_code,
                },
            )
        )
    return features


def to_geojson(traces: Iterable[Trace]) -> dict[str, Any]:
    """One FeatureCollection for all runs."""
    features = [f for trace in traces for f in trace_features(trace)]
    return {"type": "FeatureCollection", "features": features}


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to ``path`` via a temporary file, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=1)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
