"""The HTML report: one self-contained page for a photo or a batch.

A map (folium; Leaflet, its CSS and images inlined from XStatic-Leaflet, so nothing is
fetched to draw it) shows the answers, their circles, the alternatives and the places the
tools' evidence claimed, over country outlines from gre's own Natural Earth borders; map
tiles come from OpenStreetMap when online and are simply missing offline. Below the map,
each run's trace: the answer, alternatives, stages with their clues, tool calls with their
times, candidates and evidence. All text from photos, tools and models is escaped.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from gre import __version__
from gre.export.common import answer_point, attributions, photo_name, status
from gre.export.common import escape as e
from gre.export.describe import alternative_html, answer_html, clues_html, km, latlon
from gre.export.geojson import trace_features
from gre.records import Candidate, Evidence, StageResult, ToolCall, Trace

if TYPE_CHECKING:
    from branca.element import Element

MAX_TEXT = 4000  # characters of a model reply or a tool's text shown
NATURAL_EARTH = "Borders: Natural Earth (public domain)"

_COLOURS = {
    "answer": "#d7191c",
    "alternative": "#fd8d3c",
    "evidence": "#2c7bb6",
    "border": "#7a7a7a",
}
_CSS = """
body { font: 15px/1.45 system-ui, sans-serif; color: #222; background: #fff; }
.gre-report { max-width: 1100px; margin: 0 auto; padding: 12px 20px 40px; }
.gre-report h1 { font-size: 1.5em; margin: 0.6em 0 0.2em; }
.gre-report h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; margin-top: 1.6em; }
.gre-report h3 { font-size: 1.05em; margin: 1em 0 0.3em; }
.gre-report h4 { font-size: 1em; margin: 0.8em 0 0.2em; }
.gre-report table { border-collapse: collapse; margin: 0.3em 0; font-size: 0.92em; }
.gre-report th, .gre-report td { border: 1px solid #ddd; padding: 2px 6px; text-align: left;
  vertical-align: top; }
.gre-report th { background: #f4f4f4; }
.gre-report pre { white-space: pre-wrap; background: #f7f7f7; padding: 6px; }
.gre-report .muted, .gre-report footer { color: #666; font-size: 0.9em; }
.gre-report .failed { color: #b00; }
table.kv th { width: 9em; }
.leaflet-popup-content table.kv { font-size: 12px; border-collapse: collapse; }
.leaflet-popup-content table.kv th { text-align: left; padding-right: 6px; }
"""
_ON_EACH = (
    "function(feature, layer) { var p = feature.properties || {};"
    " if (p.popup) { layer.bindPopup(p.popup, {maxWidth: 420}); }"
    " if (p.tip) { layer.bindTooltip(p.tip); } }"
)


def _raw(text: str) -> Element:
    """An element that renders ``text`` as it is (no template: Leaflet's code has braces)."""
    from branca.element import Element

    class Raw(Element):
        def render(self, **kwargs: Any) -> str:
            return text

    return Raw()


def inert(markup: str) -> str:
    """HTML with its braces as character references.

    folium compiles each layer's rendered script, data included, as a Jinja template once
    more: a sign reading ``{{ ... }}`` would run there. HTML shows ``&#123;`` as a brace.
    """
    return markup.replace("{", "&#123;").replace("}", "&#125;")


def _layer_data(features: list[dict[str, Any]]) -> str:
    """A FeatureCollection as JSON for folium, refused if it could start a Jinja tag."""
    text = json.dumps({"type": "FeatureCollection", "features": features}, allow_nan=False)
    if re.search(r"\{[{%#]", text):
        raise ValueError("map data would be read as a template")
    return text


@cache
def _leaflet() -> str:
    """Leaflet's CSS and JS as inline tags, the CSS's images as data URIs."""
    data = resources.files("xstatic.pkg.leaflet").joinpath("data")
    css = data.joinpath("leaflet.css").read_text(encoding="utf-8")

    def inline(match: re.Match[str]) -> str:
        png = data.joinpath("images", match.group(1)).read_bytes()
        return f"url(data:image/png;base64,{base64.b64encode(png).decode('ascii')})"

    css = re.sub(r"url\(images/([\w.-]+\.png)\)", inline, css)
    js = data.joinpath("leaflet.js").read_text(encoding="utf-8")
    js = re.sub(r"//# sourceMappingURL=\S+\s*$", "", js).replace("</", "<\\/")
    return f"<style>{css}</style>\n<script>{js}</script>"


@cache
def _borders_text() -> str:
    """Natural Earth 1:110m country outlines (gre's offline borders) as a FeatureCollection."""
    text = resources.files("gre.tools.gazetteer").joinpath("data/borders.json").read_text()
    style = {"color": _COLOURS["border"], "weight": 1, "fillOpacity": 0.04, "fillColor": "#999"}
    features = [
        {
            "type": "Feature",
            "geometry": entry["geometry"],
            "properties": {"code": code, "tip": inert(e(entry.get("name", code))), "style": style},
        }
        for code, entry in sorted(json.loads(text)["countries"].items())
    ]
    return _layer_data(features)


def _style(role: str) -> dict[str, Any]:
    if role in ("radius", "alternative_radius"):
        colour = _COLOURS["answer" if role == "radius" else "alternative"]
        return {"color": colour, "weight": 2 if role == "radius" else 1, "fillOpacity": 0.08}
    colour = _COLOURS.get(role, _COLOURS["evidence"])
    size = {"answer": 8, "alternative": 6}.get(role, 4)
    return {
        "color": "#222",
        "weight": 1,
        "fill": True,
        "fillColor": colour,
        "fillOpacity": 0.9,
        "radius": size,
    }


def _map_features(trace: Trace, index: int) -> dict[str, list[dict[str, Any]]]:
    """The run's features for the map, by layer, each with its style, popup and tooltip."""
    name = photo_name(trace, index)
    layers: dict[str, list[dict[str, Any]]] = {"circles": [], "alternatives": [], "answers": []}
    alternatives = trace.prediction.alternatives
    for feature in trace_features(trace):
        if feature["geometry"] is None:
            continue
        props = feature["properties"]
        role, rank = props["role"], props["rank"]
        if rank == 0:
            popup = answer_html(trace)
            tip = f"{name}: {props['label']}"
        else:
            popup = alternative_html(rank, alternatives[rank - 1])
            tip = f"{name}: #{rank} {props['label']}"
        layer = "circles" if role.endswith("radius") else f"{role}s"
        shown = {"popup": inert(f"<b>{e(name)}</b>{popup}"), "tip": inert(e(tip))}
        layers[layer].append({**feature, "properties": {**shown, "style": _style(role)}})
    return layers


def _claim_features(trace: Trace, index: int) -> list[dict[str, Any]]:
    """The places the tools' results claimed, as points."""
    name = photo_name(trace, index)
    out: list[dict[str, Any]] = []
    for ev in trace.evidence:
        for claim in ev.claims:
            popup = (
                f"<b>{e(name)}</b><table class='kv'><tr><th>evidence</th><td>{e(ev.id)} "
                f"({e(ev.tool)})</td></tr><tr><th>claims</th><td>{e(claim.label)}</td></tr>"
                f"<tr><th>radius</th><td>{e(km(claim.radius_km))}</td></tr>"
                f"<tr><th>weight</th><td>{claim.weight:.2f}</td></tr>"
                f"<tr><th>why</th><td>{e(claim.why)}</td></tr></table>"
            )
            out.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [claim.lon, claim.lat]},
                    "properties": {
                        "popup": inert(popup),
                        "tip": inert(e(f"{name}: {ev.tool} → {claim.label}")),
                        "style": _style("evidence"),
                    },
                }
            )
    return out


def _bounds(traces: Sequence[Trace]) -> list[list[float]] | None:
    """South-west and north-east corners around the answers' circles and the alternatives."""
    boxes: list[tuple[float, float, float, float]] = []
    for trace in traces:
        pred = trace.prediction
        points: list[tuple[float, float, float]] = [(a.lat, a.lon, 0.0) for a in pred.alternatives]
        answer = answer_point(trace)
        if answer is not None:
            radius = pred.radius_km if pred.radius_km and math.isfinite(pred.radius_km) else 0.0
            points.append((*answer, min(radius, 3000.0)))
        for lat, lon, r in points:
            dlat = r / 111.2
            dlon = min(180.0, dlat / max(math.cos(math.radians(lat)), 0.05))
            boxes.append((lat - dlat, lon - dlon, lat + dlat, lon + dlon))
    if not boxes:
        return None
    south = max(-85.0, min(b[0] for b in boxes))
    west = max(-180.0, min(b[1] for b in boxes))
    north = min(85.0, max(b[2] for b in boxes))
    east = min(180.0, max(b[3] for b in boxes))
    return [[south, west], [north, east]]


def _table(headers: Sequence[str], body: Iterable[Sequence[str]]) -> str:
    """A table; ``body`` cells are HTML already escaped."""
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    rows = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in body)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _short(value: object, limit: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return e(text if len(text) <= limit else text[: limit - 1] + "…")


def _stage_html(stage: StageResult) -> str:
    state = "ok" if stage.ok else f"failed: {stage.error or ''}"
    head = (
        f"<h4>{e(stage.stage)} · round {stage.round} · {e(stage.backend or 'backend')} · "
        f"<span class='{'' if stage.ok else 'failed'}'>{e(state)}</span>"
        f" · {stage.latency_ms:.0f} ms</h4>"
    )
    parts = [head]
    if stage.summary:
        parts.append(f"<p>{e(stage.summary)}</p>")
    if stage.clues:
        parts.append(clues_html(stage.clues))
    if stage.hypotheses:
        items = "".join(
            f"<li>{e(h.level)}: {e(h.name or h.country_code or latlon(h.lat, h.lon))}"
            f" ({h.confidence:.2f}){' — ' + e(h.rationale) if h.rationale else ''}</li>"
            for h in stage.hypotheses
        )
        parts.append(f"<p>Hypotheses:</p><ul>{items}</ul>")
    if stage.tool_requests:
        items = "".join(
            f"<li>{e(r.tool)} {_short(r.input)}{' — ' + e(r.why) if r.why else ''}"
            f"{' <span class=failed>' + e(r.error) + '</span>' if r.error else ''}</li>"
            for r in stage.tool_requests
        )
        parts.append(f"<p>Tool requests:</p><ul>{items}</ul>")
    return "".join(parts)


def _calls_html(calls: Sequence[ToolCall], t0: float) -> str:
    def outcome(c: ToolCall) -> str:
        if c.skipped:
            return f"skipped: {e(c.error)}"
        return "ok" if c.ok else f"<span class='failed'>failed: {e(c.error)}</span>"

    return _table(
        ["tool", "stage", "start", "time", "outcome", "summary"],
        (
            [
                e(c.tool),
                e(c.stage),
                f"+{c.started_at - t0:.2f} s",
                f"{c.duration_ms:.0f} ms",
                outcome(c),
                _short(c.summary),
            ]
            for c in calls
        ),
    )


def _candidates_html(candidates: Sequence[Candidate]) -> str:
    return _table(
        ["id", "place", "level", "lat, lon", "radius", "weight", "score", "source", "why"],
        (
            [
                e(c.id),
                e(c.label)
                + (f" <span class='muted'>({e(', '.join(c.flags))})</span>" if c.flags else ""),
                e(c.level),
                e(latlon(c.lat, c.lon)),
                e(km(c.radius_km)),
                f"{c.weight:.2f}",
                f"{c.score:.2f}",
                e(c.source),
                _short(c.why),
            ]
            for c in candidates
        ),
    )


def _evidence_html(evidence: Sequence[Evidence]) -> str:
    return _table(
        ["id", "tool", "stage", "asked by", "outcome", "summary", "supports", "contradicts"],
        (
            [
                e(ev.id),
                e(ev.tool),
                e(ev.stage),
                e(ev.requested_by),
                "skipped" if ev.skipped else ("ok" if ev.ok else f"failed: {e(ev.error)}"),
                _short(ev.summary),
                e(", ".join(ev.supports)),
                e(", ".join(ev.contradicts)),
            ]
            for ev in evidence
        ),
    )


def _details(title: str, body: str, is_open: bool) -> str:
    return f"<details{' open' if is_open else ''}><summary>{e(title)}</summary>{body}</details>"


def trace_html(trace: Trace, index: int, *, is_open: bool = True) -> str:
    """One run's section of the report."""
    pred = trace.prediction
    name = photo_name(trace, index)
    state = status(trace)
    heading = pred.label if state == "answered" else state
    parts = [f"<section class='photo' id='photo-{index + 1}'>"]
    parts.append(f"<h2>{index + 1}. {e(name)}: {e(heading)}</h2>{answer_html(trace)}")
    if pred.alternatives:
        alts = "".join(alternative_html(i, a) for i, a in enumerate(pred.alternatives, 1))
        parts.append(f"<h3>Alternatives</h3>{alts}")
    parts.append(f"<h3>Clues read</h3>{clues_html(trace.clues)}")
    if trace.stages:
        stages = "".join(_stage_html(s) for s in trace.stages)
        parts.append(_details(f"Stages ({len(trace.stages)})", stages, is_open))
    for gen in trace.generations:
        text = gen.text if len(gen.text) <= MAX_TEXT else gen.text[:MAX_TEXT] + "…"
        failed = f"<p class='failed'>{e(gen.error)}</p>" if gen.error else ""
        parts.append(_details("Model reply", f"{failed}<pre>{e(text)}</pre>", is_open))
    if trace.tool_calls:
        starts = [c.started_at for c in trace.tool_calls] + [t.started_at for t in trace.timings]
        calls = _calls_html(trace.tool_calls, min(starts))
        parts.append(_details(f"Tool calls ({len(trace.tool_calls)})", calls, is_open))
    if trace.candidates:
        cands = _candidates_html(trace.candidates)
        parts.append(_details(f"Candidates ({len(trace.candidates)})", cands, is_open))
    if trace.evidence:
        evid = _evidence_html(trace.evidence)
        parts.append(_details(f"Evidence ({len(trace.evidence)})", evid, is_open))
    if trace.warnings:
        items = "".join(f"<li>{e(w)}</li>" for w in trace.warnings)
        parts.append(f"<h3>Warnings</h3><ul>{items}</ul>")
    parts.append("</section>")
    return "".join(parts)


def _report(runs: Sequence[Trace]) -> str:
    counts = {s: sum(1 for t in runs if status(t) == s) for s in ("answered", "abstained", "error")}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    credits = "".join(f"<li>{e(c)}</li>" for c in attributions(runs))
    sections = "".join(trace_html(t, i, is_open=len(runs) == 1) for i, t in enumerate(runs))
    return (
        "<main class='gre-report'>"
        f"<h1>gre: {len(runs)} photo{'s' if len(runs) != 1 else ''}</h1>"
        f"<p class='muted'>{e(summary)}. The map draws country borders from this file; its "
        "tiles come from OpenStreetMap when online.</p>"
        f"{sections}"
        f"<footer><p>Made by gre {e(__version__)}. Data:</p><ul>{credits}"
        f"<li>{e(NATURAL_EARTH)}</li><li>Map: Leaflet (BSD-2-Clause); tiles © OpenStreetMap "
        "contributors (ODbL), when online</li></ul></footer></main>"
    )


def to_html(traces: Iterable[Trace], *, title: str | None = None) -> str:
    """The report as one HTML page that needs no other file (tiles excepted)."""
    import folium
    from branca.element import Figure
    from folium.utilities import JsCode

    runs = list(traces)
    fmap = folium.Map(location=None, tiles=None, height=560, control_scale=True, zoom_snap=0.25)
    fmap.default_js = []  # Leaflet is inlined below; jQuery and Bootstrap are not needed
    fmap.default_css = []
    figure = fmap.get_root()
    assert isinstance(figure, Figure)
    if title is None:
        title = f"gre: {photo_name(runs[0], 0)}" if len(runs) == 1 else f"gre: {len(runs)} photos"
    figure.title = e(title)
    figure.header.add_child(_raw(_leaflet()), name="leaflet_inline")
    figure.header.add_child(_raw(f"<style>{_CSS}</style>"), name="gre_css")

    folium.TileLayer("OpenStreetMap", name="OpenStreetMap tiles (online)").add_to(fmap)
    on_each = JsCode(_ON_EACH)
    folium.GeoJson(
        _borders_text(),
        name="Country borders (Natural Earth)",
        on_each_feature=on_each,
        attribution=e(NATURAL_EARTH),
    ).add_to(fmap)
    layers: dict[str, list[dict[str, Any]]] = {"circles": [], "alternatives": [], "answers": []}
    evidence: list[dict[str, Any]] = []
    for i, trace in enumerate(runs):
        for key, features in _map_features(trace, i).items():
            layers[key] += features
        evidence += _claim_features(trace, i)
    for name, features in (
        ("Circles (answer radius, alternatives)", layers["circles"]),
        ("Evidence: places the tools claimed", evidence),
        ("Alternatives", layers["alternatives"]),
        ("Answers", layers["answers"]),
    ):
        folium.GeoJson(
            _layer_data(features),
            name=name,
            on_each_feature=on_each,
            marker=folium.CircleMarker(radius=5),
        ).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    bounds = _bounds(runs)
    if bounds is not None:
        fmap.fit_bounds(bounds, padding=(20, 20), max_zoom=13)
    page = figure.render()
    end = page.rindex("</body>")  # the map's div is placed at render time: the report follows it
    return f"{page[:end]}{_report(runs)}\n{page[end:]}"
