"""KML for Google Earth (and QGIS): a folder per photo with named placemarks.

A folder holds the answer point, its radius circle, and each alternative with its circle;
descriptions carry the reasoning (reason, level, confidence, radius, the clues read).
Circles are the GeoJSON export's polygons, split at ±180°. A photo without a point has a
placemark without geometry that says why.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from gre import __version__
from gre.export.circles import PRECISION, circle_geometry
from gre.export.common import (
    answer_point,
    attributions,
    clean,
    photo_name,
    photo_path,
    reason,
    status,
)
from gre.export.common import escape as e
from gre.export.describe import alternative_html, answer_html, clues_html, km
from gre.records import Trace

if TYPE_CHECKING:
    from fastkml.features import Placemark

# Google Earth's white dot, tinted by the style; KML colours are aabbggrr
_ICON = "https://maps.google.com/mapfiles/kml/shapes/placemark_circle.png"
_STYLES = {
    "answer": {"icon": "ff0000ff", "line": "ff0000ff", "poly": "330000ff"},
    "alternative": {"icon": "ff008cff", "line": "ff008cff", "poly": "1a008cff"},
    "abstained": {"icon": "ff888888", "line": "ff888888", "poly": "00888888"},
}


def _styles() -> list[Any]:
    from fastkml.styles import IconStyle, LabelStyle, LineStyle, PolyStyle, Style

    return [
        Style(
            id=name,
            styles=[
                IconStyle(color=c["icon"], scale=1.1 if name == "answer" else 0.9, icon_href=_ICON),
                LabelStyle(scale=0.9),
                LineStyle(color=c["line"], width=2),
                PolyStyle(color=c["poly"]),
            ],
        )
        for name, c in _STYLES.items()
    ]


def _data(**values: object) -> Any:
    from fastkml.data import Data, ExtendedData

    return ExtendedData(
        elements=[Data(name=k, value=clean(v)) for k, v in values.items() if v not in (None, "")]
    )


def _placemark(
    name: str, style: str, description: str, geometry: dict[str, Any] | None, **data: object
) -> Placemark:
    import pygeoif
    from fastkml.features import Placemark
    from fastkml.styles import StyleUrl

    return Placemark(
        name=clean(name),
        description=description,
        style_url=StyleUrl(url=f"#{style}"),
        geometry=pygeoif.shape(cast(Any, geometry)) if geometry else None,
        extended_data=_data(**data),
    )


def _point(lat: float, lon: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def photo_folder(trace: Trace, index: int) -> Any:
    """The placemarks of one photo's run, in a folder named after the photo."""
    from fastkml.containers import Folder

    pred = trace.prediction
    photo = photo_path(trace)
    state = status(trace)
    clues = clues_html(trace.clues)
    marks: list[Placemark] = []
    point = answer_point(trace)
    if point is not None:
        lat, lon = point
        info = f"{answer_html(trace)}<h4>Clues read</h4>{clues}"
        fields = {
            "photo": photo,
            "status": state,
            "level": pred.level,
            "radius_km": pred.radius_km,
            "confidence": pred.confidence,
            "country_code": pred.country_code,
        }
        marks.append(
            _placemark(pred.label, "answer", info, _point(lat, lon), role="answer", **fields)
        )
        disc = circle_geometry(lat, lon, pred.radius_km)
        if disc is not None:
            marks.append(
                _placemark(
                    f"{pred.label}: radius {km(pred.radius_km)}",
                    "answer",
                    info,
                    disc,
                    role="radius",
                    **fields,
                )
            )
    else:
        marks.append(
            _placemark(
                f"{state}: {photo_name(trace, index)}",
                "abstained",
                f"{answer_html(trace)}<h4>Clues read</h4>{clues}",
                None,
                role=state,
                photo=photo,
                status=state,
                reason=reason(trace),
            )
        )
    for rank, alt in enumerate(pred.alternatives, start=1):
        info = alternative_html(rank, alt)
        fields = {
            "photo": photo,
            "rank": rank,
            "level": alt.level,
            "radius_km": alt.radius_km,
            "score": alt.score,
            "country_code": alt.country_code,
        }
        marks.append(
            _placemark(
                f"#{rank} {alt.label}",
                "alternative",
                info,
                _point(alt.lat, alt.lon),
                role="alternative",
                **fields,
            )
        )
        disc = circle_geometry(alt.lat, alt.lon, alt.radius_km)
        if disc is not None:
            marks.append(
                _placemark(
                    f"#{rank} {alt.label}: radius {km(alt.radius_km)}",
                    "alternative",
                    info,
                    disc,
                    role="alternative_radius",
                    **fields,
                )
            )
    note = f"<p>{e(state)}: {e(reason(trace))}</p>" if state != "answered" else ""
    return Folder(
        name=clean(photo_name(trace, index)),
        description=f"{note}{answer_html(trace)}",
        features=marks,
    )


def to_kml(traces: Iterable[Trace]) -> str:
    """A KML 2.2 document: one folder per photo, the data's attribution in its description."""
    from fastkml.containers import Document
    from fastkml.kml import KML

    runs = list(traces)
    credits = "".join(f"<p>{e(c)}</p>" for c in attributions(runs))
    doc = Document(
        name="gre",
        description=f"<p>Photo locations found by gre {e(__version__)}.</p>{credits}",
        isopen=True,
        styles=_styles(),
        features=[photo_folder(trace, i) for i, trace in enumerate(runs)],
    )
    body = KML(features=[doc]).to_string(prettyprint=True, precision=PRECISION)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}'
