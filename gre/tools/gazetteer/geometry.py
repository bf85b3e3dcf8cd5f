"""Geometry of the gazetteer: settlement radii, weighted medoids, region extents, latitude bands."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from gre.geo import EARTH_RADIUS_KM, haversine_km

MEDOID_POINTS = 200  # cities considered when locating a country
REGION_MEDOID_POINTS = 100  # ... and an admin region
MEDOID_CANDIDATES = 8  # candidate medoids evaluated exactly (nearest the centroid, largest)
BAND_DEG = 0.5  # latitude band height of the (kind, band, lon, lat) spatial index


def city_radius_km(population: int) -> float:
    """Rough radius of a settlement: ~2 km at 500 inhabitants to ~30 km at 10 million."""
    scale: float = (max(population, 500) / 500.0) ** 0.2734
    return round(min(40.0, 2.0 * scale), 2)


def unit_vector(lat: float, lon: float) -> tuple[float, float, float]:
    """The point on the unit sphere for (lat, lon) in degrees."""
    p, q = math.radians(lat), math.radians(lon)
    return math.cos(p) * math.cos(q), math.cos(p) * math.sin(q), math.sin(p)


def weighted_medoid(
    vectors: Sequence[tuple[float, float, float]],
    weights: Sequence[float],
    max_points: int = MEDOID_POINTS,
) -> tuple[int, list[float]]:
    """Index of the point minimising the weighted great-circle distance to the others.

    ``vectors`` are :func:`unit_vector` points. The ``max_points`` heaviest points are
    used; the candidates are the points nearest their weighted mean plus the heaviest
    ones. Also returns the distances (km) from the medoid to every point.
    """
    acos = math.acos
    n = len(vectors)
    if n == 1:
        return 0, [0.0]
    order = sorted(range(n), key=lambda i: -weights[i])[:max_points]
    xs = [vectors[i][0] for i in order]
    ys = [vectors[i][1] for i in order]
    zs = [vectors[i][2] for i in order]
    ws = [weights[i] + 1.0 for i in order]
    m = len(order)
    if m <= MEDOID_CANDIDATES:
        candidates = list(range(m))
    else:
        cx = sum(w * x for w, x in zip(ws, xs, strict=True))
        cy = sum(w * y for w, y in zip(ws, ys, strict=True))
        cz = sum(w * z for w, z in zip(ws, zs, strict=True))
        near = sorted(range(m), key=lambda i: -(xs[i] * cx + ys[i] * cy + zs[i] * cz))
        half = MEDOID_CANDIDATES // 2
        candidates = list(dict.fromkeys(near[: MEDOID_CANDIDATES - half] + list(range(half))))
    best, best_cost = candidates[0], math.inf
    for i in candidates:
        xi, yi, zi = xs[i], ys[i], zs[i]
        cost = sum(
            w * acos(max(-1.0, min(1.0, xi * x + yi * y + zi * z)))
            for x, y, z, w in zip(xs, ys, zs, ws, strict=True)
        )
        if cost < best_cost:
            best, best_cost = i, cost
    bx, by, bz = xs[best], ys[best], zs[best]
    dists = [
        EARTH_RADIUS_KM * acos(max(-1.0, min(1.0, bx * x + by * y + bz * z))) for x, y, z in vectors
    ]
    return order[best], dists


def spread_radius_km(dists: Sequence[float]) -> float:
    """Extent of a region from its cities' distances to its centre (90th percentile)."""
    if not dists:
        return 5.0
    ordered = sorted(dists)
    return round(max(5.0, ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]), 1)


def band_of(lat: float) -> int:
    """The latitude band of the (kind, band, lon, lat) spatial index."""
    return math.floor(lat / BAND_DEG)


def bbox_radius_km(lat: float, lon: float, bbox: dict[str, Any]) -> float:
    """Distance from a centre to the farthest edge midpoint of a bounding box."""
    points = [(float(bbox[k]), lon) for k in ("north", "south") if bbox.get(k) is not None]
    points += [(lat, float(bbox[k])) for k in ("east", "west") if bbox.get(k) is not None]
    return round(max((haversine_km(lat, lon, a, b) for a, b in points), default=3000.0), 1)
