"""Country borders: Natural Earth's 1:110m admin-0 polygons (public domain), with shapely.

A country is a shape, not a disc around its largest city: whether a point lies in it is
a point in a polygon (a disc of 420 km around Paris misses Marseille and takes in London).
Its answer point stays where its people are (the gazetteer's medoid: photos are taken
there). ``scripts/build_country_borders.py`` made ``data/borders.json``; at 1:110m a point
within ~10 km of a border may fall on the wrong side, and small countries (Monaco,
Vatican, Singapore...) have no shape here: they keep the gazetteer's disc.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

_lock = threading.Lock()


@dataclass(frozen=True)
class CountryShape:
    """One country's geometry: what lies inside it."""

    code: str
    geometry: Any  # a prepared shapely geometry (thread-safe for reads)

    def contains(self, lat: float, lon: float) -> bool:
        from shapely.geometry import Point

        return bool(self.geometry.covers(Point(lon, lat)))


@cache
def _shapes() -> dict[str, CountryShape]:
    from shapely import prepared
    from shapely.geometry import shape

    text = resources.files("gre.tools.gazetteer").joinpath("data/borders.json").read_text()
    out: dict[str, CountryShape] = {}
    for code, entry in json.loads(text)["countries"].items():
        geometry = shape(entry["geometry"])
        if not geometry.is_valid:
            geometry = geometry.buffer(0)
        out[code] = CountryShape(code=code, geometry=prepared.prep(geometry))
    return out


def country_shape(code: str | None) -> CountryShape | None:
    """The shape of the country with ISO alpha-2 ``code``, or None where there is none."""
    if not code:
        return None
    with _lock:  # the first call builds every shape
        shapes = _shapes()
    return shapes.get(code.upper())


def inside(code: str | None, lat: float, lon: float) -> bool | None:
    """Whether a point lies in a country; None where the country has no shape here."""
    found = country_shape(code)
    if found is None or not math.isfinite(lat) or not math.isfinite(lon):
        return None
    return found.contains(lat, lon)
