"""Country and region names in many languages: pycountry's catalogues and babel's CLDR data.

``pycountry``'s gettext catalogues (iso-codes) and ``babel``'s CLDR data name the countries;
``pycountry``'s ISO 3166-2 names are linked to the regions by name.
"""

from __future__ import annotations

import pickle
import re
import struct
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

_LINK_NOISE = re.compile(
    r"\b(?:kraj|oblast|oblasti|oblysy|kray|krai|respublika|republic|province|provincia|"
    r"provinsi|region|regiao|district|county|rayon|rajons|novads|zupanija|opstina|opcina|"
    r"obcina|muhafazat|baladiyat|changwat|prefecture|state|governorate|department|"
    r"departement|departamento|municipality|municipio|voivodeship|wojewodztwo|lan|laen|marz|"
    r"atoll|quarter|parish|canton|kanton|estado|of|the|de|des|du|del|di)\b|\[[^]]*\]|\([^)]*\)"
)


def _link_key(name: str, folded: Callable[[str], str]) -> str:
    """A region name reduced for linking: folded, without generic words and brackets."""
    return " ".join(_LINK_NOISE.sub(" ", folded(name)).split())


def subdivision_names(
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


def linked_names(
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
