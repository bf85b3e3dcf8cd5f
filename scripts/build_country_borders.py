"""Build gre's country borders: Natural Earth's 1:110m admin-0 polygons, as compact JSON.

Natural Earth (public domain, naturalearthdata.com) ships with geopandas 0.14 as
``naturalearth_lowres``. This script reads that shapefile from the geopandas wheel (with
pyshp, without installing geopandas), keys each country by its ISO 3166-1 alpha-2 code
(pycountry) and writes ``gre/tools/gazetteer/data/borders.json``: each country's
GeoJSON geometry (a Polygon or MultiPolygon of (lon, lat), rounded to 0.01 degree).

    pip download --no-deps geopandas==0.14.4 pyshp -d /tmp/ne
    pip install /tmp/ne/pyshp-*.whl
    python scripts/build_country_borders.py /tmp/ne/geopandas-0.14.4-py3-none-any.whl
"""

from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path

import pycountry
import shapefile  # pyshp

BASE = "geopandas/datasets/naturalearth_lowres/naturalearth_lowres"
OUT = Path(__file__).resolve().parents[1] / "gre" / "tools" / "gazetteer" / "data"
BY_NAME = {"France": "FR", "Norway": "NO", "Kosovo": "XK", "Somaliland": "SO", "N. Cyprus": "CY"}


def alpha2(iso_a3: str, name: str) -> str | None:
    if name in BY_NAME:
        return BY_NAME[name]
    country = pycountry.countries.get(alpha_3=iso_a3) if iso_a3 != "-99" else None
    return country.alpha_2 if country else None


def _rounded(geometry: dict[str, object]) -> dict[str, object]:
    def walk(value: object) -> object:
        if isinstance(value, (list, tuple)) and value and isinstance(value[0], float):
            return [round(float(v), 2) for v in value]
        if isinstance(value, (list, tuple)):
            return [walk(v) for v in value]
        return value

    return {"type": geometry["type"], "coordinates": walk(geometry["coordinates"])}


def main(wheel: str) -> None:
    with zipfile.ZipFile(wheel) as archive:
        parts = {ext: io.BytesIO(archive.read(f"{BASE}.{ext}")) for ext in ("shp", "shx", "dbf")}
    reader = shapefile.Reader(
        shp=parts["shp"], shx=parts["shx"], dbf=parts["dbf"], encoding="latin-1"
    )
    fields = [f[0] for f in reader.fields[1:]]
    borders: dict[str, dict[str, object]] = {}
    for record, shape in zip(reader.records(), reader.shapes(), strict=True):
        row = dict(zip(fields, record, strict=True))
        code = alpha2(str(row["iso_a3"]), str(row["name"]))
        if code is None:
            continue
        geometry = shape.__geo_interface__
        borders[code] = {"name": str(row["name"]), "geometry": _rounded(geometry)}
    data = {
        "source": "Natural Earth 1:110m admin-0 countries (public domain), via geopandas 0.14 "
        "naturalearth_lowres",
        "countries": dict(sorted(borders.items())),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "borders.json").write_text(json.dumps(data, separators=(",", ":")) + "\n")
    print(f"{len(borders)} countries -> {OUT / 'borders.json'}")


if __name__ == "__main__":
    main(sys.argv[1])
