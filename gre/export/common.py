"""What every export says of a run: its photo, its status, its time and its data's attribution."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Literal

from gre.geo import valid_latlon
from gre.records import Trace
from gre.textnorm import printable

Status = Literal["answered", "abstained", "error"]


def photo_path(trace: Trace) -> str | None:
    """The photo as given (kept in the trace even when it could not be opened)."""
    return trace.photo.path if trace.photo is not None else trace.input_path


def photo_name(trace: Trace, index: int) -> str:
    """A short name for headings: the photo's file name, else its place in the batch."""
    path = photo_path(trace)
    if path:
        return path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or path
    return f"photo {index + 1}"


def answer_point(trace: Trace) -> tuple[float, float] | None:
    """The prediction's (lat, lon), or None where it has no valid point."""
    lat, lon = trace.prediction.lat, trace.prediction.lon
    if lat is None or lon is None or not valid_latlon(lat, lon):
        return None
    return lat, lon


def status(trace: Trace) -> Status:
    """``error`` when the run failed, ``abstained`` without a point, else ``answered``."""
    if trace.error:
        return "error"
    if trace.prediction.abstained or answer_point(trace) is None:
        return "abstained"
    return "answered"


def reason(trace: Trace) -> str:
    """Why the run answered as it did; for a failed run, its error."""
    return trace.prediction.reason or trace.error or ""


def seconds(trace: Trace) -> float:
    """The run's wall time in seconds."""
    return round(trace.duration_ms / 1000.0, 3)


def attributions(traces: Iterable[Trace]) -> list[str]:
    """The attributions the tools' results carry (GeoNames, OpenStreetMap...), each once."""
    seen: dict[str, None] = {}
    for trace in traces:
        for evidence in trace.evidence:
            text = evidence.result.get("attribution")
            if isinstance(text, str) and text.strip():
                seen.setdefault(text.strip(), None)
    return list(seen)


_NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")


def clean(text: object) -> str:
    """Text fit for XML and HTML: control characters shown as escapes, no lone surrogates."""
    return _NOT_XML.sub("\ufffd", printable(str(text)))


def escape(value: object) -> str:
    """``value`` as HTML text (None as empty): what a sign or a model wrote never runs."""
    return "" if value is None else html.escape(clean(value), quote=True)
