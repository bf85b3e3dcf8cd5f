"""The offline, multilingual gazetteer: place names to places, text to mentions, points to places.

:class:`Gazetteer` is the query API (thread-safe, one SQLite connection per thread) over the
index that :mod:`gre.tools.gazetteer.index` builds once into the cache directory.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process

from gre.geo import EARTH_RADIUS_KM, haversine_km, valid_latlon
from gre.textnorm import fold
from gre.tools.gazetteer import index as gazetteer_index
from gre.tools.gazetteer.geometry import band_of
from gre.tools.gazetteer.places import (
    PLACE_KINDS,
    CountryInfo,
    MatchKind,
    Mention,
    Place,
    PlaceKind,
)
from gre.tools.gazetteer.scan import Span, candidate_spans
from gre.tools.gazetteer.words import COMMON_ZIPF, VERY_COMMON_ZIPF, word_zipf
from gre.tools.support.sqlite_index import ReadOnlyConnections
from gre.tools.support.streets import find_streets

FUZZY_MIN_LEN = 5  # folded characters a lookup needs before fuzzy matching is tried
FUZZY_MIN_SCORE = 88.0
SCAN_FUZZY_MIN_LEN = 6
SCAN_FUZZY_MIN_SCORE = 90.0
SCAN_FUZZY_BUDGET = 400  # fuzzy look-ups per scan call, at most

_KIND_ORDER = {kind: i for i, kind in enumerate(PLACE_KINDS)}
_MATCH_ORDER = {"exact": 0, "folded": 1, "fuzzy": 2}
_PLACE_COLUMNS = (
    "p.id, p.geonameid, p.name, p.kind, p.lat, p.lon, p.cc, p.admin1, p.admin2, p.population, "
    "p.rank_pop, p.radius_km"
)
_SQL_VARS = 900  # bound parameters per statement, well under SQLite's limit


class Hit:
    """One place found for a query, with its best matching name."""

    __slots__ = ("alias", "match", "name", "row", "score")

    def __init__(self, row: tuple[Any, ...], name: str, match: MatchKind, score: float, alias: int):
        self.row, self.name, self.match, self.score, self.alias = row, name, match, score, alias

    def better_than(self, other: Hit) -> bool:
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


SMALL_PLACE = 25_000
"""A common word does not name a city this small: "FETE" is not Fété (671 people), "Casino"
not Casino, New South Wales (10,000)."""


def _own_name(hit: Hit, fname: str) -> bool:
    return fold(str(hit.row[2])) == fname


def towns_before_country_aliases(fname: str, hits: dict[int, Hit]) -> dict[int, Hit]:
    """A country matched by an alternate name gives way to a place whose own name it is."""
    if not any(_own_name(h, fname) and h.row[3] != "country" for h in hits.values()):
        return hits
    return {k: h for k, h in hits.items() if h.row[3] != "country" or _own_name(h, fname)}


def precise(
    span: Span,
    hits: dict[int, Hit],
    languages: Sequence[str],
    spoken: Callable[[str | None], frozenset[str]],
) -> dict[int, Hit]:
    """The hits a span may really name (see :meth:`Gazetteer.scan`).

    A common word ("fête", "casino") names no small town; a very common one ("Hunde",
    "cross") names a place by an alternate name only in a language of the text that the
    place's country speaks ("HUNDE" on a German sign is not Houndé, Burkina Faso) and never
    by a name with its affix stripped ("Cross" for Cross County). Names that are common
    because they are famous ("Louvre", Paris' 1st arrondissement; "Arezzo") stay.
    """
    hits = towns_before_country_aliases(span.fname, hits)
    frequency = word_zipf(span.text, languages) if span.single else 0.0
    if not hits or frequency < COMMON_ZIPF:
        return hits
    text_langs = set(languages)
    kept: dict[int, Hit] = {}
    very = frequency >= VERY_COMMON_ZIPF
    for key, hit in hits.items():
        own = _own_name(hit, span.fname) and not hit.alias
        small = hit.row[3] == "city" and int(hit.row[9]) < SMALL_PLACE
        if small and (own or very):
            continue  # Fété, Casino; a district's famous alternate name stays (Louvre)
        if not own and very and (hit.alias or not text_langs & spoken(hit.row[6])):
            continue
        kept[key] = hit
    return kept


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

    def languages_of(self, code: str | None) -> frozenset[str]:
        """The languages (ISO 639-1) a country speaks, from GeoNames ("fr-FR,oc" -> fr, oc)."""
        info = self._countries.get(code) if code else None
        if info is None:
            return frozenset()
        return frozenset(tag.split("-")[0].lower() for tag in info.languages if tag)

    @classmethod
    def open(cls, cache_dir: Path) -> Gazetteer:
        """Open the index under ``cache_dir``, building it first if missing or outdated."""
        return cls(gazetteer_index.ensure_index(Path(cache_dir)))

    # ------------------------------------------------------------------ connections

    def close(self) -> None:
        """Close every connection; later queries raise RuntimeError."""
        self._connections.close()

    # ------------------------------------------------------------------ helpers

    def _place(self, row: Sequence[Any], hit: Hit | None = None) -> Place:
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
    ) -> dict[int, Hit]:
        """One hit per place; ``match`` None means exact when the name equals ``query``."""
        hits: dict[int, Hit] = {}
        for row in rows:
            place, name, alias = row[:12], row[12], row[13]
            kind: MatchKind = match or ("exact" if name == query else "folded")
            hit = Hit(place, name, kind, score if match == "fuzzy" else 100.0, alias)
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
    ) -> dict[int, Hit]:
        scores = self._fuzzy_fnames(fq, cutoff)
        if not scores:
            return {}
        hits: dict[int, Hit] = {}
        for fname, rows in self._rows_by_fname(scores, country_code, kinds).items():
            for pid, hit in self._best_hits(rows, "", "fuzzy", scores[fname]).items():
                old = hits.get(pid)
                if old is None or hit.better_than(old):
                    hits[pid] = hit
        return hits

    def _ranked(self, hits: dict[int, Hit], limit: int) -> list[Place]:
        ordered = sorted(hits.values(), key=Hit.sort_key)[:limit]
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
        hits = towns_before_country_aliases(fq, self._best_hits(rows, query, None, 100.0))
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
        languages: Sequence[str] = (),
    ) -> list[Mention]:
        """Place names mentioned in free text (e.g. OCR of signs), in text order.

        Spans are 1-4 words within a line (2-6 characters for scripts written without
        spaces); the longest non-overlapping matching spans win. A span never ends with a
        function word, never starts with one unless it is an article that belongs to the name
        of a sizeable place ("LOS ANGELES"), is at least 3 characters, not all digits, and
        not only generic sign words ("CENTRE VILLE"); a lone lower-case word ("fox") only
        names a city of 50,000+ or a country/admin1/continent. Fuzzy matches (OCR noise)
        need 6+ characters, no digits, a score of 90, and a span that looks like a name
        (capitalised, or in a script without case) and is no common word. A common word of
        the text's ``languages`` (:mod:`gre.tools.gazetteer.words`) names only a place whose
        own name it is and that is large; a country's alternate name gives way to a town
        whose own name it is ("Poole" is not Poland). Words of a street name ("Rue de la
        Paix", :mod:`gre.tools.support.streets`) are never fuzzy-matched to a place.
        """
        cleaned = _clean(text)
        spans = candidate_spans(cleaned)
        streets = [(st.start, st.end) for st in find_streets(cleaned)]
        kinds = list(kinds) if kinds is not None else None
        if not spans or kinds == []:
            return []
        limit = max(1, limit_per_mention)
        by_fname = self._rows_by_fname({s.fname for s in spans}, country_code, kinds)
        found: list[tuple[Span, list[Place]]] = []
        taken: set[int] = set()
        for span in sorted(spans, key=Span.priority):
            if taken.intersection(span.tokens):
                continue
            hits = self._best_hits(by_fname.get(span.fname, ()), span.text, None, 100.0)
            hits = {k: h for k, h in hits.items() if span.keeps(h)}
            hits = precise(span, hits, languages, self.languages_of)
            if hits:
                found.append((span, self._ranked(hits, limit)))
                taken.update(span.tokens)
        if fuzzy:
            budget = SCAN_FUZZY_BUDGET
            cache: dict[str, dict[int, Hit]] = {}
            for span in sorted(spans, key=Span.priority):
                if (
                    budget <= 0
                    or len(span.fname.replace(" ", "")) < SCAN_FUZZY_MIN_LEN
                    or span.article
                    or span.digits
                    or taken.intersection(span.tokens)
                    or not span.looks_like_a_name(languages)
                    or any(span.start < end and start < span.end for start, end in streets)
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
