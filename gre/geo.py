"""Spherical geometry on a mean-radius Earth (R = 6371.0 km)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

EARTH_RADIUS_KM = 6371.0


def valid_latlon(lat: float, lon: float) -> bool:
    """True for finite coordinates inside [-90, 90] x [-180, 180]."""
    return (
        math.isfinite(lat)
        and math.isfinite(lon)
        and -90.0 <= lat <= 90.0
        and -180.0 <= lon <= 180.0
    )


def placeholder_point(lat: float, lon: float) -> bool:
    """0,0 ("Null Island", in the Gulf of Guinea) and the poles exactly: what software
    and obedient models write for "no position". Such a point is never evidence."""
    return (abs(lat) < 0.01 and abs(lon) < 0.01) or abs(lat) == 90.0


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two points given in degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _to_xyz(lat: float, lon: float) -> tuple[float, float, float]:
    p, lam = math.radians(lat), math.radians(lon)
    return math.cos(p) * math.cos(lam), math.cos(p) * math.sin(lam), math.sin(p)


def weighted_centroid(
    points: Sequence[tuple[float, float]], weights: Iterable[float] | None = None
) -> tuple[float, float]:
    """Weighted mean of points on the sphere (3-D mean projected back), in degrees.

    Antipodal sets with no defined mean return the heaviest point.
    """
    if not points:
        raise ValueError("weighted_centroid needs at least one point")
    ws = [1.0] * len(points) if weights is None else [max(0.0, w) for w in weights]
    if len(ws) != len(points):
        raise ValueError("points and weights differ in length")
    if sum(ws) <= 0:
        ws = [1.0] * len(points)
    x = y = z = 0.0
    for (lat, lon), w in zip(points, ws, strict=True):
        px, py, pz = _to_xyz(lat, lon)
        x, y, z = x + w * px, y + w * py, z + w * pz
    norm = math.sqrt(x * x + y * y + z * z)
    if norm < 1e-9 * sum(ws):
        return points[max(range(len(points)), key=ws.__getitem__)]
    return math.degrees(math.asin(max(-1.0, min(1.0, z / norm)))), math.degrees(math.atan2(y, x))
