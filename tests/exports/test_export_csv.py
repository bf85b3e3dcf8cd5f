"""CSV export: one row per photo, read back with csv.DictReader."""

from __future__ import annotations

import csv
import io

from gre.export import CSV_COLUMNS, to_csv
from gre.records import Trace


def _rows(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    return list(reader)


def test_one_row_per_photo_with_every_column(batch: list[Trace]) -> None:
    text = to_csv(batch)
    assert text.startswith(",".join(CSV_COLUMNS) + "\r\n")
    rows = _rows(text)
    assert len(rows) == len(batch)
    assert [r["status"] for r in rows] == [
        "answered",
        "abstained",
        "error",
        "answered",
        "answered",
        "answered",
    ]
    first = rows[0]
    assert first["photo"] == "photos/névache sign.jpg"
    assert (float(first["lat"]), float(first["lon"])) == (45.0197, 6.6033)
    assert float(first["radius_km"]) == 12.0
    assert first["level"] == "city"
    assert float(first["confidence"]) == 0.82
    assert first["label"] == "Névache, Provence-Alpes-Côte d'Azur, FR"
    assert first["country_code"] == "FR"
    assert first["reason"].startswith("a sign reads 'Névache 4,2 km <script>")
    assert float(first["seconds"]) == 2.346
    assert first["alternatives"] == "2"
    fiji = rows[4]
    assert (float(fiji["lat"]), float(fiji["lon"])) == (-17.8, 178.0)
    assert fiji["alternatives"] == "1"


def test_a_photo_without_a_point_has_empty_coordinates_and_its_reason(
    abstained: Trace, failed: Trace
) -> None:
    wall, broken = _rows(to_csv([abstained, failed]))
    assert wall["status"] == "abstained"
    assert wall["lat"] == wall["lon"] == wall["radius_km"] == ""
    assert wall["level"] == "unknown"
    assert wall["reason"] == "nothing located the photo: no text, no GPS"
    assert wall["alternatives"] == "0"
    assert broken["status"] == "error"
    assert broken["reason"] == "cannot open photos/broken.jpg: not an image"
    assert float(broken["seconds"]) == 0.003


def test_text_a_spreadsheet_would_run_is_quoted() -> None:
    sign = Trace.model_validate(
        {
            "photo": {
                "path": "=cmd|' /C calc'!A0.jpg",
                "work_path": None,
                "sha256": "0" * 64,
                "format": "JPEG",
                "width": 1,
                "height": 1,
                "bytes": 1,
            },
            "backend": "none",
            "prediction": {
                "lat": -33.9,
                "lon": -70.6,
                "radius_km": 5.0,
                "level": "city",
                "label": '=HYPERLINK("http://example.invalid","x")',
                "reason": '+1 line, "quoted", and a\nnewline',
            },
        }
    )
    (row,) = _rows(to_csv([sign]))
    assert row["photo"] == "'=cmd|' /C calc'!A0.jpg"
    assert row["label"] == '\'=HYPERLINK("http://example.invalid","x")'
    assert row["reason"] == '\'+1 line, "quoted", and a\nnewline'
    assert row["lat"] == "-33.9"  # numbers stay numbers, minus sign and all
    assert row["lon"] == "-70.6"


def test_no_photos_is_a_header_alone() -> None:
    assert to_csv([]) == ",".join(CSV_COLUMNS) + "\r\n"
