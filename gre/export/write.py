"""One entry point that writes any set of exports, each atomically."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from gre.export.csv import to_csv
from gre.export.files import write_json_atomic, write_text_atomic
from gre.export.geojson import to_geojson
from gre.export.html import to_html
from gre.export.kml import to_kml
from gre.records import Trace

PathLike = str | os.PathLike[str]


def write_exports(
    traces: Iterable[Trace],
    *,
    geojson: PathLike | None = None,
    kml: PathLike | None = None,
    csv: PathLike | None = None,
    html: PathLike | None = None,
) -> list[Path]:
    """Write each export asked for (temporary file, then rename) and return their paths.

    Raises OSError for a path that cannot be written, its ``filename`` the export's path;
    the exports before it are written.
    """
    runs = list(traces)
    written: list[Path] = []
    exports: list[tuple[PathLike | None, Callable[[Path, list[Trace]], None]]] = [
        (geojson, lambda path, rs: write_json_atomic(path, to_geojson(rs))),
        (kml, lambda path, rs: write_text_atomic(path, to_kml(rs))),
        (csv, lambda path, rs: write_text_atomic(path, to_csv(rs))),
        (html, lambda path, rs: write_text_atomic(path, to_html(rs))),
    ]
    for target, write in exports:
        if target is None:
            continue
        path = Path(target)
        try:
            write(path, runs)
        except OSError as exc:
            if exc.filename == str(path):
                raise
            raise type(exc)(exc.errno, exc.strerror or str(exc), str(path)) from exc
        written.append(path)
    return written
