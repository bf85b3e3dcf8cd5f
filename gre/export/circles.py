"""Geodesic circles as RFC 7946 polygons: split at the antimeridian, poles enclosed, any radius."""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Any

from gre.geo import EARTH_RADIUS_KM

CIRCLE_VERTICES = 128
PRECISION = 6  # decimal places of a coordinate: about 0.1 m
MIN_DRAWN_KM = 0.01  # a smaller circle is drawn at this radius (rounding would collapse it)
_POLE_LAT = 89.9999  # a centre on a pole is moved this far off it (bearings are undefined there)
_WORLD = [[-180.0, -90.0], [180.0, -90.0], [180.0, 90.0], [-180.0, 90.0], [-180.0, -90.0]]


def circle_ring(
    lat: float, lon: float, radius_km: float, vertices: int = CIRCLE_VERTICES
) -> list[tuple[float, float]]:
    """A closed ring of (lon, lat) around the circle, its inside on the left (counter-clockwise
    seen from above), longitudes wrapped into [-180, 180]: the ring may jump across ±180°."""
    d = max(radius_km, MIN_DRAWN_KM) / EARTH_RADIUS_KM
    lat = max(-_POLE_LAT, min(_POLE_LAT, lat))
    p1, l1 = math.radians(lat), math.radians(lon)
    ring: list[tuple[float, float]] = []
    for i in range(vertices):
        bearing = -2 * math.pi * i / vertices
        sin_p2 = math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(bearing)
        p2 = math.asin(max(-1.0, min(1.0, sin_p2)))
        l2 = l1 + math.atan2(
            math.sin(bearing) * math.sin(d) * math.cos(p1),
            math.cos(d) - math.sin(p1) * math.sin(p2),
        )
        lon2 = (math.degrees(l2) + 180.0) % 360.0 - 180.0
        ring.append((round(lon2, PRECISION), round(math.degrees(p2), PRECISION)))
    ring.append(ring[0])
    return ring


def _rounded(ring: Any) -> list[list[float]]:
    return [[round(x, PRECISION), round(y, PRECISION)] for x, y, *_ in ring.coords]


def circle_geometry(lat: float, lon: float, radius_km: float | None) -> dict[str, Any] | None:
    """A GeoJSON Polygon or MultiPolygon for the disc of ``radius_km`` around a point.

    Pieces are split at ±180° (RFC 7946 §3.1.9), a disc over a pole encloses it, one larger
    than a hemisphere is the world less the complement; exterior rings run counter-clockwise
    and holes clockwise. None only without a positive, finite radius.
    """
    if radius_km is None or not math.isfinite(radius_km) or radius_km <= 0:
        return None
    if radius_km >= math.pi * EARTH_RADIUS_KM:
        return {"type": "Polygon", "coordinates": [_WORLD]}
    import antimeridian
    import shapely
    from shapely.geometry import Polygon
    from shapely.geometry.polygon import orient

    ring = circle_ring(lat, lon, radius_km)
    crosses = any(abs(b[0] - a[0]) > 180.0 for a, b in pairwise(ring))
    if not crosses and shapely.is_ccw(shapely.LinearRing(ring)):
        # the usual disc: neither ±180° nor a pole inside, smaller than a hemisphere
        return {"type": "Polygon", "coordinates": [[[x, y] for x, y in ring]]}
    # a ring wound clockwise in the plane is a disc larger than its complement: with
    # fix_winding=False the package keeps it as the world with a hole, as it is on the sphere
    fixed = antimeridian.fix_polygon(Polygon(ring), fix_winding=False)
    pieces = [orient(p, sign=1.0) for p in getattr(fixed, "geoms", [fixed])]
    polygons = [[_rounded(p.exterior), *(_rounded(hole) for hole in p.interiors)] for p in pieces]
    if len(polygons) == 1:
        return {"type": "Polygon", "coordinates": polygons[0]}
    return {"type": "MultiPolygon", "coordinates": polygons}
