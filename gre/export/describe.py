"""HTML fragments that describe a run (KML descriptions and the HTML report share them).

Every value is escaped here: text from photos, tools and models is shown, never run.
"""

from __future__ import annotations

from collections.abc import Sequence

from gre.export.common import escape as e
from gre.export.common import photo_path, reason, seconds, status
from gre.records import Candidate, Clue, Trace

MAX_CLUES = 60


def km(radius_km: float | None) -> str:
    """A radius as people read it: 850 m, 12 km, 3,000 km."""
    if radius_km is None:
        return "–"
    if radius_km < 1:
        return f"{radius_km * 1000:.0f} m"
    if radius_km < 10:
        return f"{radius_km:.1f} km"
    return f"{radius_km:,.0f} km"


def latlon(lat: float | None, lon: float | None) -> str:
    """A point as ``45.12345, 6.54321`` (lat, lon), or a dash."""
    if lat is None or lon is None:
        return "–"
    return f"{lat:.5f}, {lon:.5f}"


def rows(pairs: Sequence[tuple[str, object]]) -> str:
    """A two-column table of escaped labels and values (empty values left out)."""
    cells = "".join(
        f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in pairs if v not in (None, "")
    )
    return f'<table class="kv">{cells}</table>'


def answer_html(trace: Trace) -> str:
    """The prediction: status, place, point, radius, level, confidence and why."""
    pred = trace.prediction
    state = status(trace)
    pairs: list[tuple[str, object]] = [("photo", photo_path(trace)), ("status", state)]
    if state == "answered":
        pairs += [
            ("answer", pred.label),
            ("lat, lon", latlon(pred.lat, pred.lon)),
            ("radius", km(pred.radius_km)),
            ("level", pred.level),
            ("confidence", f"{pred.confidence:.2f}"),
            ("country", pred.country_code),
            ("nearest place", pred.nearest_place.name if pred.nearest_place else None),
        ]
    pairs += [("reason", reason(trace)), ("time", f"{seconds(trace):.1f} s")]
    return rows(pairs)


def alternative_html(rank: int, alt: Candidate) -> str:
    """One alternative: rank, place, score, radius and why."""
    return rows(
        [
            ("alternative", f"#{rank} {alt.label}"),
            ("lat, lon", latlon(alt.lat, alt.lon)),
            ("radius", km(alt.radius_km)),
            ("level", alt.level),
            ("score", f"{alt.score:.2f}"),
            ("country", alt.country_code),
            ("why", alt.why),
        ]
    )


def clues_html(clues: Sequence[Clue], limit: int = MAX_CLUES) -> str:
    """The clues read, as a list: stage, kind, value, confidence."""
    if not clues:
        return "<p>No clues were read.</p>"
    items = "".join(
        f"<li>{e(c.stage)} · {e(c.kind)}: <q>{e(c.value)}</q> ({c.confidence:.2f}"
        f"{', ' + e(c.source) if c.source and c.source != 'model' else ''})</li>"
        for c in clues[:limit]
    )
    more = f"<li>… and {len(clues) - limit} more</li>" if len(clues) > limit else ""
    return f'<ul class="clues">{items}{more}</ul>'
