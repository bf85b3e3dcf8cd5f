"""Build gre's prior of where photos are taken: photos per country in GeoCLIP's GPS gallery.

GeoCLIP (Vivanco et al., NeurIPS 2023; MIT licence) ships 100,000 GPS coordinates sampled
from MP-16 (Flickr photos with GPS) as its gallery. This script reads them from the
``geoclip`` wheel without importing geoclip or torch, finds each point's country offline
(reverse_geocoder, GeoNames cities), and writes the counts that
``gre/tools/text_clues/data/photo_prior.json`` ships.

    pip download --no-deps geoclip==1.3.0 -d /tmp/geoclip
    python scripts/build_photo_prior.py /tmp/geoclip/geoclip-1.3.0-py3-none-any.whl
"""

from __future__ import annotations

import csv
import io
import json
import sys
import zipfile
from collections import Counter
from pathlib import Path

import reverse_geocoder

GALLERY = "geoclip/model/gps_gallery/coordinates_100K.csv"
OUT = Path(__file__).resolve().parents[1] / "gre" / "tools" / "text_clues" / "data"


def main(wheel: str) -> None:
    with zipfile.ZipFile(wheel) as archive:
        rows = list(csv.DictReader(io.TextIOWrapper(archive.open(GALLERY), encoding="utf-8")))
    points = [(float(r["LAT"]), float(r["LON"])) for r in rows]
    found = reverse_geocoder.search(points, mode=1, verbose=False)
    counts = Counter(str(place["cc"]) for place in found if place.get("cc"))
    data = {
        "source": "GeoCLIP GPS gallery (100,000 MP-16 Flickr photo locations), "
        "github.com/VicenteVivan/geo-clip, MIT licence; countries by reverse_geocoder",
        "points": len(points),
        "photos": dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "photo_prior.json").write_text(json.dumps(data, indent=0) + "\n", encoding="utf-8")
    print(f"{len(points)} points, {len(counts)} countries -> {OUT / 'photo_prior.json'}")


if __name__ == "__main__":
    main(sys.argv[1])
