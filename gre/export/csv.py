"""CSV: one row per photo, for spreadsheets and scripts."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable

from gre.export.common import photo_path, reason, seconds, status
from gre.records import Trace

CSV_COLUMNS = (
    "photo",
    "status",
    "lat",
    "lon",
    "radius_km",
    "level",
    "confidence",
    "label",
    "country_code",
    "reason",
    "seconds",
    "alternatives",
)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str | None) -> str:
    """Text as a cell; one a spreadsheet would run as a formula is quoted with a leading '."""
    text = value or ""
    return f"'{text}" if text.startswith(_FORMULA) else text


def _number(value: float | None, digits: int) -> str:
    return "" if value is None or not math.isfinite(value) else str(round(value, digits))


def csv_row(trace: Trace) -> dict[str, str]:
    """One photo's row (every value a string; empty where there is none)."""
    pred = trace.prediction
    return {
        "photo": _text(photo_path(trace)),
        "status": status(trace),
        "lat": _number(pred.lat, 6),
        "lon": _number(pred.lon, 6),
        "radius_km": _number(pred.radius_km, 3),
        "level": pred.level,
        "confidence": _number(pred.confidence, 4),
        "label": _text(pred.label),
        "country_code": _text(pred.country_code),
        "reason": _text(reason(trace)),
        "seconds": _number(seconds(trace), 3),
        "alternatives": str(len(pred.alternatives)),
    }


def to_csv(traces: Iterable[Trace]) -> str:
    """A header and one row per photo (RFC 4180: comma-separated, CRLF line ends)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for trace in traces:
        writer.writerow(csv_row(trace))
    return out.getvalue()
