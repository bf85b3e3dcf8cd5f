"""What the gazetteer answers with: places, mentions of places in a text, countries."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel

MatchKind = Literal["exact", "folded", "fuzzy"]
PlaceKind = Literal["city", "admin2", "admin1", "country", "continent"]
PLACE_KINDS: tuple[PlaceKind, ...] = get_args(PlaceKind)


class Place(BaseModel):
    """A named place: a city, an admin region, a country or a continent."""

    geonameid: int | None
    name: str
    kind: PlaceKind
    lat: float
    lon: float
    country_code: str | None
    country: str | None
    admin1: str | None
    admin2: str | None
    population: int = 0
    matched_name: str | None = None
    match: MatchKind | None = None
    score: float = 0.0
    distance_km: float | None = None
    radius_km: float


class Mention(BaseModel):
    """A span of scanned text that names places (homonyms best first)."""

    text: str
    start: int
    end: int
    places: list[Place]


class CountryInfo(BaseModel):
    """Facts about a country; located at the population-weighted medoid of its cities."""

    code: str
    name: str
    lat: float
    lon: float
    radius_km: float
    population: int
    continent: str | None
    capital: str | None
    languages: list[str]
