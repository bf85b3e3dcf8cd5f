"""The ``geocode`` tool: Nominatim forward/reverse geocoding, falling back to the gazetteer.

Queries are built and parsed by geopy's ``Nominatim`` geocoder, whose HTTP goes through
:class:`HttpClientAdapter`, a geopy adapter over gre's shared :class:`HttpClient`: the
identifying User-Agent, at most one request per second per host (Nominatim's usage policy;
never less for the public instance), retries and a 30-day disk cache hold as for every
network tool. A self-hosted Nominatim is used by setting ``nominatim_domain`` (host[:port]
[/path]) and ``nominatim_scheme``.

The tool also runs offline: when the run is offline, or Nominatim fails, the offline
gazetteer answers and the output says so (``fell_back`` and ``reason``).
"""

from __future__ import annotations

import json
import threading
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from geopy.adapters import BaseSyncAdapter
from geopy.exc import GeocoderParseError, GeocoderRateLimited, GeocoderServiceError, GeopyError
from geopy.geocoders import Nominatim
from pydantic import BaseModel, Field, field_validator, model_validator

from gre.config import Settings
from gre.geo import haversine_km
from gre.records import ClaimLevel, PlaceClaim
from gre.tools.base import Tool, ToolError, ToolOutput, ToolUnavailable, quote
from gre.tools.gazetteer import PLACE_KINDS, Gazetteer, Place
from gre.tools.gazetteer import index as gazetteer_index
from gre.tools.support.http import HttpClient, HttpError, RateLimited

NOMINATIM_DOMAIN = "nominatim.openstreetmap.org"
DEFAULT_MIN_INTERVAL_S = 1.0  # Nominatim's usage policy: at most 1 request per second
CACHE_TTL_S = 30 * 86400.0
MAX_SUMMARY = 300  # characters (the tool contract's limit)
OSM_ATTRIBUTION = "Data © OpenStreetMap contributors, ODbL 1.0. https://osm.org/copyright"


class HttpClientAdapter(BaseSyncAdapter):  # type: ignore[misc]
    """A geopy adapter that sends geopy's GET requests through gre's :class:`HttpClient`."""

    def __init__(
        self,
        *,
        proxies: Any,
        ssl_context: Any,
        client: HttpClient,
        min_interval_s: float,
        cache_ttl_s: float,
    ) -> None:
        super().__init__(proxies=proxies, ssl_context=ssl_context)
        self.client = client
        self.min_interval_s = min_interval_s
        self.cache_ttl_s = cache_ttl_s
        self._local = threading.local()

    @property
    def last_from_cache(self) -> bool:
        """Whether this thread's last response came from the disk cache."""
        return bool(getattr(self._local, "from_cache", False))

    def get_text(self, url: str, *, timeout: float, headers: dict[str, str]) -> str:
        """GET ``url`` (the client's own time-out applies); errors as geopy's exceptions."""
        try:
            response = self.client.request(
                "GET",
                url,
                headers=headers,
                min_interval_s=self.min_interval_s,
                cache_ttl_s=self.cache_ttl_s,
            )
        except RateLimited as exc:
            raise GeocoderRateLimited(str(exc)) from exc
        except HttpError as exc:
            raise GeocoderServiceError(str(exc)) from exc
        self._local.from_cache = response.from_cache
        return response.text

    def get_json(self, url: str, *, timeout: float, headers: dict[str, str]) -> Any:
        text = self.get_text(url, timeout=timeout, headers=headers)
        try:
            return json.loads(text)
        except ValueError:
            raise GeocoderParseError(f"Could not parse JSON from {url}") from None


NOMINATIM_WEIGHT = 1.0
FALLBACK_WEIGHT = 0.8
SAME_PLACE_KM = 25.0
"""Results this close to the best one are the same place (a street's two halves)."""
RIVAL_IMPORTANCE = 0.5
"""A far result at least this share of the best's importance makes the name ambiguous."""


class GeoPlace(BaseModel):
    """A place found by Nominatim or, as a fallback, by the offline gazetteer."""

    name: str
    display_name: str
    lat: float
    lon: float
    country_code: str | None = Field(default=None, description="ISO 3166-1 alpha-2, upper case")
    type: str | None = Field(default=None, description="OSM type (city, attraction...) or kind")
    category: str | None = Field(default=None, description="OSM class (place, tourism...)")
    importance: float | None = None
    address: dict[str, str] = Field(default_factory=dict)
    bbox: tuple[float, float, float, float] | None = Field(
        default=None, description="south, north, west, east"
    )
    osm: str | None = Field(default=None, description="e.g. 'way/5013364'")
    distance_km: float | None = Field(default=None, description="reverse: from the query point")
    source: Literal["nominatim", "gazetteer"]


class GeocodeInput(BaseModel):
    """A forward (text -> places) or reverse (point -> address) query."""

    mode: Literal["forward", "reverse"]
    query: str | None = Field(
        default=None, max_length=300, description="forward: an address, place or POI name"
    )
    lat: float | None = Field(default=None, ge=-90, le=90, description="reverse: latitude")
    lon: float | None = Field(default=None, ge=-180, le=180, description="reverse: longitude")
    country_codes: list[str] | None = Field(
        default=None, max_length=20, description="forward: ISO alpha-2 codes to search within"
    )
    limit: int = Field(default=5, ge=1, le=20)
    language: str | None = Field(
        default=None, max_length=50, description="preferred name language, e.g. 'en'"
    )
    zoom: int | None = Field(
        default=None, ge=0, le=18, description="reverse: detail, 3 country .. 10 city .. 18 house"
    )

    @field_validator("country_codes")
    @classmethod
    def _codes(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        codes = [c.strip().upper() for c in value]
        if not all(len(c) == 2 and c.isascii() and c.isalpha() for c in codes):
            raise ValueError("country_codes must be two-letter ISO 3166-1 alpha-2 codes")
        return list(dict.fromkeys(codes)) or None

    @model_validator(mode="after")
    def _fields_for_mode(self) -> GeocodeInput:
        if self.mode == "forward":
            self.query = " ".join((self.query or "").split()) or None
            if self.query is None:
                raise ValueError("mode 'forward' needs a non-empty query")
        elif self.lat is None or self.lon is None:
            raise ValueError("mode 'reverse' needs lat and lon")
        return self


_REGION_TYPES = frozenset({"state", "region", "province", "county", "admin1", "admin2"})
_CITY_TYPES = frozenset(
    {"city", "town", "village", "hamlet", "municipality", "suburb", "city_district", "borough"}
)
_LEVEL_RADIUS_KM: dict[ClaimLevel, float] = {
    "street": 0.5,
    "city": 8.0,
    "region": 120.0,
    "country": 500.0,
    "continent": 2500.0,
}


def claim_level(place: GeoPlace) -> ClaimLevel:
    """How specific a geocoded place is, from its OSM type (or the gazetteer's kind)."""
    kind = (place.type or "").lower()
    if kind in ("country", "continent"):
        return "country" if kind == "country" else "continent"
    if kind in _REGION_TYPES:
        return "region"
    if kind in _CITY_TYPES or place.category == "place":
        return "city"
    return "street"


def claim_radius_km(place: GeoPlace, level: ClaimLevel) -> float:
    """Half the diagonal of the place's bounding box, else its level's usual size."""
    if place.bbox is not None:
        south, north, west, east = place.bbox
        half = haversine_km(south, west, north, east) / 2.0
        if half > 0:
            return min(max(half, 0.05), 5000.0)
    return _LEVEL_RADIUS_KM[level]


class GeocodeOutput(ToolOutput):
    """Places, best first; ``fell_back`` when the gazetteer answered instead of Nominatim.

    A forward look-up claims its best place (the gazetteer's fallback counts less, and
    so does a name found in several far-apart places: "Rue de la Paix" is in many
    towns); a reverse one claims nothing (it names what is at a point already known).
    """

    mode: Literal["forward", "reverse"] | None = None
    places: list[GeoPlace] = Field(default_factory=list)
    fell_back: bool = False
    reason: str | None = None
    from_cache: bool = Field(default=False, exclude=True)  # the summary says it; not data
    attribution: str = OSM_ATTRIBUTION

    def summary(self) -> str:
        source = "gazetteer" if self.fell_back else "nominatim"
        cached = ", cached" if self.from_cache else ""
        names = "; ".join(_short(p) for p in self.places[:3])
        more = f" (+{len(self.places) - 3})" if len(self.places) > 3 else ""
        found = f": {names}{more}" if self.places else ""
        why = f" [{self.reason}]" if self.reason else ""
        line = " ".join(f"{len(self.places)} place(s) via {source}{cached}{found}{why}".split())
        return line if len(line) <= MAX_SUMMARY else line[: MAX_SUMMARY - 3] + "..."

    def for_model(self) -> str:
        source = "gazetteer fallback" if self.fell_back else "Nominatim"
        rows = [
            f"{quote(p.display_name)} ({p.category or ''}/{p.type or ''}) at "
            f"{p.lat:.5f}, {p.lon:.5f} [{source}]"
            for p in self.places[:3]
        ]
        return "\n".join(rows) or f"no place found [{source}]"

    def claims(self) -> list[PlaceClaim]:
        if self.mode != "forward" or not self.places:
            return []
        best = self.places[0]
        level = claim_level(best)
        elsewhere = sum(1 for p in self.places[1:] if _rival(best, p))
        weight = NOMINATIM_WEIGHT if best.source == "nominatim" else FALLBACK_WEIGHT
        return [
            PlaceClaim(
                lat=best.lat,
                lon=best.lon,
                radius_km=claim_radius_km(best, level),
                level=level,
                label=best.display_name[:120] or best.name,
                weight=weight / (1 + elsewhere),
                country=best.country_code,
                ref=f"osm:{best.osm}" if best.osm else None,
                why=f"geocoded by {best.source}: {best.display_name[:120]}",
            )
        ]


def _rival(best: GeoPlace, other: GeoPlace) -> bool:
    """``other`` is another place of the name, far away and about as important: Paris,
    Texas is no rival to Paris, one Rue de la Paix is to another."""
    far = haversine_km(best.lat, best.lon, other.lat, other.lon) > SAME_PLACE_KM
    if best.importance and other.importance is not None:
        return far and other.importance >= RIVAL_IMPORTANCE * best.importance
    return far


def _short(place: GeoPlace) -> str:
    """'Tour Eiffel (tower, Paris, FR)': the name, its type, locality and country."""
    a = place.address
    locality = a.get("city") or a.get("town") or a.get("village") or a.get("state")
    parts = (place.type, locality if locality != place.name else None, place.country_code)
    context = ", ".join(x for x in parts if x)
    return f"{place.name} ({context})" if context else place.name


def _floats(values: Any) -> tuple[float, float, float, float] | None:
    try:
        a, b, c, d = (float(v) for v in values)
    except (TypeError, ValueError):
        return None
    return a, b, c, d


def from_nominatim(raw: dict[str, Any], point: tuple[float, float] | None = None) -> GeoPlace:
    """A place from one Nominatim ``format=json`` result (``point``: the reverse query)."""
    lat, lon = float(raw["lat"]), float(raw["lon"])
    display = str(raw.get("display_name") or "")
    address = raw.get("address")
    if not isinstance(address, dict):
        address = {}
    cc = address.get("country_code")
    osm_type, osm_id = raw.get("osm_type"), raw.get("osm_id")
    importance = raw.get("importance")
    return GeoPlace(
        name=str(raw.get("name") or display.split(",")[0]).strip() or display,
        display_name=display,
        lat=lat,
        lon=lon,
        country_code=str(cc).upper() if cc else None,
        type=raw.get("type"),
        category=raw.get("class") or raw.get("category"),
        importance=float(importance) if isinstance(importance, int | float) else None,
        address={str(k): str(v) for k, v in address.items()},
        bbox=_floats(raw.get("boundingbox")),
        osm=f"{osm_type}/{osm_id}" if osm_type and osm_id else None,
        distance_km=round(haversine_km(*point, lat, lon), 3) if point else None,
        source="nominatim",
    )


def from_gazetteer(place: Place) -> GeoPlace:
    """A place from the offline gazetteer."""
    parts = (place.name, place.admin2, place.admin1, place.country)
    address = {"county": place.admin2, "state": place.admin1, "country": place.country}
    return GeoPlace(
        name=place.name,
        display_name=", ".join(dict.fromkeys(p for p in parts if p)),
        lat=place.lat,
        lon=place.lon,
        country_code=place.country_code,
        type=place.kind,
        address={k: v for k, v in address.items() if v},
        distance_km=place.distance_km,
        source="gazetteer",
    )


class GeocodeTool(Tool[GeocodeInput, GeocodeOutput]):
    """The ``geocode`` tool (``http`` and ``min_interval_s`` may be injected, e.g. by tests)."""

    name: ClassVar[str] = "geocode"
    needs_network: ClassVar[bool] = False  # falls back to the offline gazetteer
    uses_network: ClassVar[bool] = True
    description: ClassVar[str] = (
        "Geocoding with OpenStreetMap Nominatim: 'forward' an address, street, landmark or "
        "business name (optional country_codes) -> places with coordinates, type and address; "
        "'reverse' lat/lon -> the address there (zoom 10 = city, 18 = building). When offline "
        "or Nominatim fails, the offline gazetteer answers (cities and regions only)."
    )
    input_model: ClassVar[type[BaseModel]] = GeocodeInput
    output_model: ClassVar[type[BaseModel]] = GeocodeOutput

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        http: HttpClient | None = None,
        min_interval_s: float | None = None,
    ) -> None:
        super().__init__(settings)
        self._http = http
        self._min_interval_s = min_interval_s
        self._geocoder: Any = None
        self._adapter: HttpClientAdapter | None = None
        self._gazetteer: Gazetteer | None = None
        self._lock = threading.Lock()
        self._gazetteer_lock = threading.Lock()  # held while the index builds

    @property
    def http(self) -> HttpClient:
        return self._http if self._http is not None else super().http

    @property
    def domain(self) -> str:
        """The Nominatim host[:port][/path] (a scheme given with it is ignored here)."""
        value = str(getattr(self.settings, "nominatim_domain", None) or NOMINATIM_DOMAIN)
        return value.split("://", 1)[-1].strip("/")

    @property
    def scheme(self) -> str:
        value = str(getattr(self.settings, "nominatim_domain", None) or "")
        if "://" in value:
            return value.split("://", 1)[0].lower()
        return str(getattr(self.settings, "nominatim_scheme", None) or "https")

    @property
    def min_interval_s(self) -> float:
        """Seconds between requests to the host; never under 1 s for the public instance."""
        value = self._min_interval_s
        if value is None:
            value = float(
                getattr(self.settings, "nominatim_min_interval_s", DEFAULT_MIN_INTERVAL_S)
            )
        if urlsplit(f"//{self.domain}").hostname == NOMINATIM_DOMAIN:
            return max(DEFAULT_MIN_INTERVAL_S, value)
        return max(0.0, value)

    def prepare_note(self) -> str | None:
        if not self.settings.offline or self._gazetteer is not None:
            return None
        if gazetteer_index.index_is_current(gazetteer_index.index_path(self.settings.cache_dir)):
            return None
        return "building the offline gazetteer index (once, about 15 s; cached afterwards)"

    def prepare(self) -> None:
        """Offline, open (building once) the gazetteer that will answer every query."""
        if self.settings.offline:
            self.gazetteer()

    def gazetteer(self) -> Gazetteer:
        """The offline gazetteer (opened on first use)."""
        with self._gazetteer_lock:
            if self._gazetteer is None:
                try:
                    self._gazetteer = Gazetteer.open(self.settings.cache_dir)
                except Exception as exc:  # missing data, a broken index: no fallback
                    raise ToolUnavailable(f"gazetteer unavailable: {exc}") from exc
            return self._gazetteer

    def _nominatim(self) -> tuple[Any, HttpClientAdapter]:
        with self._lock:
            if self._geocoder is None or self._adapter is None:
                adapter = HttpClientAdapter(
                    proxies=None,
                    ssl_context=None,
                    client=self.http,
                    min_interval_s=self.min_interval_s,
                    cache_ttl_s=CACHE_TTL_S,
                )
                self._geocoder = Nominatim(
                    user_agent=self.settings.user_agent,
                    domain=self.domain,
                    scheme=self.scheme,
                    adapter_factory=lambda **_: adapter,
                )
                self._adapter = adapter
            return self._geocoder, self._adapter

    def run(self, params: GeocodeInput) -> GeocodeOutput:
        if self.settings.offline:
            return self._fallback(params, "Nominatim skipped: the run is offline")
        try:
            places, from_cache = self._ask_nominatim(params)
        except (GeopyError, ToolError) as exc:
            message = " ".join(str(exc).split())[:200] or type(exc).__name__
            return self._fallback(params, f"Nominatim failed: {message}")
        return GeocodeOutput(mode=params.mode, places=places, from_cache=from_cache)

    def _ask_nominatim(self, params: GeocodeInput) -> tuple[list[GeoPlace], bool]:
        geocoder, adapter = self._nominatim()
        language = params.language or False
        if params.mode == "forward":
            codes = [c.lower() for c in params.country_codes or []]
            found = geocoder.geocode(
                params.query,
                exactly_one=False,
                limit=params.limit,
                addressdetails=True,
                country_codes=codes or None,
                language=language,
            )
            places = [from_nominatim(loc.raw) for loc in found or []]
        else:
            assert params.lat is not None and params.lon is not None
            point = (params.lat, params.lon)
            loc = geocoder.reverse(
                point, exactly_one=True, addressdetails=True, zoom=params.zoom, language=language
            )
            places = [from_nominatim(loc.raw, point)] if loc is not None else []
        return places[: params.limit], adapter.last_from_cache

    def _fallback(self, params: GeocodeInput, reason: str) -> GeocodeOutput:
        try:
            gaz = self.gazetteer()
        except ToolUnavailable as exc:
            raise ToolError(f"{reason}; no fallback: {exc}") from exc
        if params.mode == "forward":
            assert params.query is not None
            places = _gazetteer_forward(gaz, params.query, params.country_codes, params.limit)
        else:
            assert params.lat is not None and params.lon is not None
            places = gaz.reverse(params.lat, params.lon, limit=params.limit)
        return GeocodeOutput(
            mode=params.mode,
            places=[from_gazetteer(p) for p in places],
            fell_back=True,
            reason=reason,
            attribution=gazetteer_index.ATTRIBUTION,
        )

    def close(self) -> None:
        with self._gazetteer_lock:
            if self._gazetteer is not None:
                self._gazetteer.close()
                self._gazetteer = None


def _gazetteer_forward(
    gaz: Gazetteer, query: str, codes: list[str] | None, limit: int
) -> list[Place]:
    """The places named by ``query``; for an address, the places it mentions.

    Mentioned places come cities first, then in text order; a country named in the address
    ("..., Paris, France") keeps only places in it.
    """
    wanted = set(codes or ())
    one = codes[0] if codes and len(codes) == 1 else None
    places = gaz.lookup(query, country_code=one, limit=limit * 5 if wanted else limit)
    if not places:
        mentions = gaz.scan(query, country_code=one, limit_per_mention=limit)
        named = {p.country_code for m in mentions for p in m.places[:1] if p.kind == "country"}
        order = {kind: i for i, kind in enumerate(PLACE_KINDS)}
        ranked = sorted(
            ((order[p.kind], m.start, i, p) for m in mentions for i, p in enumerate(m.places)),
            key=lambda t: t[:3],
        )
        places = [p for *_, p in ranked if not named or p.country_code in named]
    if wanted:
        places = [p for p in places if p.country_code in wanted]
    unique: dict[tuple[Any, ...], Place] = {}
    for p in places:
        unique.setdefault((p.name, p.kind, p.country_code, p.lat, p.lon), p)
    return list(unique.values())[:limit]
