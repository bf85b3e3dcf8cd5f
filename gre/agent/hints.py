"""The analyst's hints: hard constraints on candidates and map searches, and hint text.

Each constraint given (countries, bbox, near) must hold, so adding one narrows the
region (any of the countries listed will do): a candidate outside it is ruled out
(weight 0, flag ``outside_hints``), a GPS fix included, with a warning that names the
conflict. Map searches (``osm``,
``overpass``) made while the hints have a bbox or near get its area when they have
none, and one whose area lies outside it is refused (:func:`bound_request`). The
free text is data: shown to the model, and scanned by the gazetteer at trust 0.5.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gre.geo import haversine_km
from gre.records import Candidate, Hints, ToolRequest
from gre.tools.gazetteer.borders import inside

OUTSIDE_FLAG = "outside_hints"
"""The flag of a candidate the hints rule out."""
HINT_BY = "hint"
"""``requested_by`` of the gazetteer scan of the hint text."""
HINT_WHY = "place names in the analyst's hint"
HINT_TRUST = 0.5
"""Trust of the hint text's claims ("probably Spain" is a weak Spain claim)."""
MAP_TOOLS = frozenset({"osm", "overpass"})
MAX_AREA_DEG = 5.0
"""The map tools' largest bbox side (``gre.tools.osm.tool.MAX_BBOX_DEG``)."""
MAX_AREA_M = 50_000.0
"""The map tools' largest search radius (``gre.tools.osm.tool.MAX_RADIUS_M``)."""

Box = tuple[float, float, float, float]


def hints_of(options: Mapping[str, Any] | None) -> Hints | None:
    """The hints a run's options carry (None when there are none)."""
    data = (options or {}).get("hints")
    return Hints.model_validate(data) if data else None


def describe(hints: Hints) -> str:
    """The hard constraints in one line, e.g. ``countries ES, PT; within 50 km of Lyon``."""
    parts: list[str] = []
    if hints.countries:
        parts.append("countries " + ", ".join(hints.countries))
    if hints.bbox is not None:
        s, w, n, e = hints.bbox
        parts.append(f"bbox S {s:g}, W {w:g}, N {n:g}, E {e:g}")
    if hints.near is not None:
        near = hints.near
        where = near.label or f"{near.lat:.4f}, {near.lon:.4f}"
        parts.append(f"within {near.radius_km:g} km of {where}")
    return "; ".join(parts) or "no constraints"


def _lon_in(lon: float, west: float, east: float) -> bool:
    return west <= lon <= east if west <= east else lon >= west or lon <= east


def in_box(box: Box, lat: float, lon: float) -> bool:
    """Whether a point lies in (south, west, north, east); west > east crosses 180°."""
    south, west, north, east = box
    return south <= lat <= north and _lon_in(lon, west, east)


def _lon_gap(a: float, b: float) -> float:
    d = abs(a - b) % 360.0
    return min(d, 360.0 - d)


def box_distance_km(box: Box, lat: float, lon: float) -> float:
    """About how far a point is from a box (0 inside it)."""
    if in_box(box, lat, lon):
        return 0.0
    south, west, north, east = box
    clat = min(max(lat, south), north)
    clon = lon if _lon_in(lon, west, east) else min((west, east), key=lambda x: _lon_gap(lon, x))
    return haversine_km(lat, lon, clat, clon)


def allows(
    hints: Hints, lat: float, lon: float, country: str | None = None, radius_km: float = 0.0
) -> bool:
    """Whether a place (a point, its country, its own radius) lies inside the hints' region.

    A country constraint reads the place's country code, or for a point without one the
    border test (a country without a shape here neither rules it in nor out).
    """
    if not hints.constrains:
        return True
    if hints.countries:
        if country:
            if country.upper() not in hints.countries:
                return False
        else:
            found = [inside(code, lat, lon) for code in hints.countries]
            if not any(f is not False for f in found):  # None: no shape here, not ruled out
                return False
    if hints.bbox is not None and not in_box(hints.bbox, lat, lon):
        return False
    near = hints.near
    return near is None or (
        haversine_km(lat, lon, near.lat, near.lon) <= near.radius_km + radius_km
    )


def rule_out(
    candidates: Sequence[Candidate], hints: Hints | None
) -> tuple[list[Candidate], list[str]]:
    """The candidates with those outside the hints at weight 0 (flag ``outside_hints``),
    and a warning for the newly ruled out (a GPS fix outside gets its own)."""
    if hints is None or not hints.constrains:
        return list(candidates), []
    out: list[Candidate] = []
    warnings: list[str] = []
    newly = 0
    where = describe(hints)
    for cand in candidates:
        if allows(hints, cand.lat, cand.lon, cand.country_code, cand.radius_km):
            out.append(cand)
            continue
        if OUTSIDE_FLAG not in cand.flags:
            if cand.measured:
                warnings.append(
                    f"the GPS fix {cand.lat:.5f}, {cand.lon:.5f} lies outside the hints "
                    f"({where}): the metadata and the hints disagree; the fix is ruled out"
                )
            else:
                newly += 1
        flags = cand.flags if OUTSIDE_FLAG in cand.flags else [*cand.flags, OUTSIDE_FLAG]
        out.append(cand.model_copy(update={"weight": 0.0, "flags": flags}))
    if newly:
        warnings.insert(0, f"hints ruled out {newly} candidate(s) outside {where}")
    return out, warnings


def ruled_out_all(candidates: Sequence[Candidate]) -> bool:
    """True when there were candidates and the hints ruled out every one."""
    return bool(candidates) and all(OUTSIDE_FLAG in c.flags for c in candidates)


def map_area(hints: Hints) -> dict[str, float] | None:
    """The hints' region as a map tool's ``area`` (the near circle, else the bbox), or
    None when it is larger than the map tools accept or crosses 180°."""
    near = hints.near
    if near is not None and near.radius_km * 1000 <= MAX_AREA_M:
        return {"lat": near.lat, "lon": near.lon, "radius_m": near.radius_km * 1000}
    if hints.bbox is not None:
        south, west, north, east = hints.bbox
        if west <= east and north - south <= MAX_AREA_DEG and east - west <= MAX_AREA_DEG:
            return {"south": south, "west": west, "north": north, "east": east}
    return None


def _area_box(area: Mapping[str, Any]) -> Box | None:
    try:
        return (
            float(area["south"]),
            float(area["west"]),
            float(area["north"]),
            float(area["east"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _area_circle(area: Mapping[str, Any]) -> tuple[float, float, float] | None:
    try:
        return float(area["lat"]), float(area["lon"]), float(area["radius_m"]) / 1000
    except (KeyError, TypeError, ValueError):
        return None


def _boxes_meet(a: Box, b: Box) -> bool:
    if a[2] < b[0] or b[2] < a[0]:
        return False
    return any(_lon_in(x, b[1], b[3]) for x in (a[1], a[3])) or any(
        _lon_in(x, a[1], a[3]) for x in (b[1], b[3])
    )


def _meets(area: Mapping[str, Any], hints: Hints) -> bool | None:
    """Whether a map area overlaps the hints' bbox and near circle, each one given
    (None: an unreadable area)."""
    box, circle = _area_box(area), _area_circle(area)
    if box is None and circle is None:
        return None
    near = hints.near
    if box is not None:
        if hints.bbox is not None and not _boxes_meet(box, hints.bbox):
            return False
        return near is None or box_distance_km(box, near.lat, near.lon) <= near.radius_km
    assert circle is not None
    lat, lon, radius = circle
    if hints.bbox is not None and box_distance_km(hints.bbox, lat, lon) > radius:
        return False
    return near is None or haversine_km(lat, lon, near.lat, near.lon) <= near.radius_km + radius


def bound_request(
    request: ToolRequest, hints: Hints | None
) -> tuple[ToolRequest, str | None, bool]:
    """A map request bounded by the hints: ``(request, refusal, area_filled)``.

    Only ``osm``/``overpass`` requests, and only while the hints have a bbox or near:
    one without an area gets the hints' area (when it fits the tools' limits); one whose
    area lies outside the hints' region is refused with a one-line reason.
    """
    if (
        hints is None
        or request.tool not in MAP_TOOLS
        or (hints.bbox is None and hints.near is None)
    ):
        return request, None, False
    area = request.input.get("area")
    if area is None:
        filled = map_area(hints)
        if filled is None:
            return request, None, False
        return request.model_copy(update={"input": {**request.input, "area": filled}}), None, True
    if isinstance(area, Mapping) and _meets(area, hints) is False:
        return (
            request,
            f"the request's area lies outside the analyst's hints ({describe(hints)})",
            False,
        )
    return request, None, False
