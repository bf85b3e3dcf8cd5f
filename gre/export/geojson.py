"""GeoJSON (RFC 7946): each photo's answer and alternatives as points and circles.

Every photo has at least one feature: a photo without a point (abstained, or the run
failed) is a feature with a null geometry and its reason. Circles are split at ±180° and
wound counter-clockwise; the collection carries the attribution of the data behind it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from gre.export.circles import PRECISION, circle_geometry
from gre.export.common import answer_point, attributions, photo_path, reason, seconds, status
from gre.records import Trace


def _num(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None


def _point(lat: float, lon: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [round(lon, PRECISION), round(lat, PRECISION)]}


def _feature(geometry: dict[str, Any] | None, props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": props}


def trace_features(trace: Trace) -> list[dict[str, Any]]:
    """The answer (point and radius circle) and each alternative (point and circle) of a run,
    or one feature without geometry when it has no point."""
    pred = trace.prediction
    base = {"photo": photo_path(trace), "status": status(trace)}
    features: list[dict[str, Any]] = []
    point = answer_point(trace)
    if point is not None:
        lat, lon = point
        props = {
            **base,
            "rank": 0,
            "role": "answer",
            "label": pred.label,
            "level": pred.level,
            "radius_km": _num(pred.radius_km),
            "confidence": pred.confidence,
            "country_code": pred.country_code,
            "nearest_place": pred.nearest_place.name if pred.nearest_place else None,
            "reason": pred.reason,
            "seconds": seconds(trace),
        }
        features.append(_feature(_point(lat, lon), props))
        disc = circle_geometry(lat, lon, pred.radius_km)
        if disc is not None:
            features.append(_feature(disc, {**props, "role": "radius"}))
    else:
        features.append(
            _feature(
                None,
                {
                    **base,
                    "rank": 0,
                    "role": base["status"],
                    "label": pred.label,
                    "level": pred.level,
                    "reason": reason(trace),
                    "seconds": seconds(trace),
                },
            )
        )
    for rank, alt in enumerate(pred.alternatives, start=1):
        props = {
            **base,
            "rank": rank,
            "role": "alternative",
            "label": alt.label,
            "level": alt.level,
            "radius_km": alt.radius_km,
            "score": alt.score,
            "country_code": alt.country_code,
            "why": alt.why,
        }
        features.append(_feature(_point(alt.lat, alt.lon), props))
        disc = circle_geometry(alt.lat, alt.lon, alt.radius_km)
        if disc is not None:
            features.append(_feature(disc, {**props, "role": "alternative_radius"}))
    return features


def to_geojson(traces: Iterable[Trace]) -> dict[str, Any]:
    """One FeatureCollection for all runs, with an ``attribution`` member when data needs one."""
    runs = list(traces)
    collection: dict[str, Any] = {
        "type": "FeatureCollection",
        "features": [f for trace in runs for f in trace_features(trace)],
    }
    credits = attributions(runs)
    if credits:
        collection["attribution"] = "; ".join(credits)
    return collection
