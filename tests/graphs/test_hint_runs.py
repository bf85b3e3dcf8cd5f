"""Analyst hints in a whole run: they rule out candidates, bound map searches, reach the model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gre.agent.hints import HINT_BY, OUTSIDE_FLAG
from gre.agent.vlm.prompts import render_context
from gre.agent.vlm.scripted import ScriptedBackend
from gre.config import Settings
from gre.graphs.locator import Locator
from gre.records import Hints, Trace

PARIS = {"level": "city", "name": "Paris", "country_code": "FR", "confidence": 0.8}
MADRID = {"level": "city", "name": "Madrid", "country_code": "ES", "confidence": 0.6}
MADRID_BOX = (40.0, -4.5, 41.0, -3.0)


def _scene(**fields: Any) -> ScriptedBackend:
    return ScriptedBackend.from_data([{"stage": "scene", "summary": "a city", **fields}])


def _run(backend: ScriptedBackend, photo: Path, settings: Settings, hints: Hints | None) -> Trace:
    with Locator(settings, backend=backend) as loc:
        return loc.locate(photo, hints=hints)


def test_without_hints_paris_wins(photo: Path, settings: Settings) -> None:
    trace = _run(_scene(hypotheses=[PARIS, MADRID]), photo, settings, None)
    assert trace.prediction.label.startswith("Paris") and trace.hints is None


def test_a_country_hint_rules_paris_out_and_madrid_answers(photo: Path, settings: Settings) -> None:
    hints = Hints(countries=["ES"])
    trace = _run(_scene(hypotheses=[PARIS, MADRID]), photo, settings, hints)
    assert trace.prediction.label.startswith("Madrid"), trace.prediction
    assert trace.prediction.country_code == "ES"
    paris = [c for c in trace.candidates if c.country_code == "FR"]
    assert paris and all(c.weight == 0 and OUTSIDE_FLAG in c.flags for c in paris)
    assert any(w.startswith("hints ruled out") and "countries ES" in w for w in trace.warnings)
    assert trace.hints == hints  # recorded as given
    assert "hints" not in trace.options
    assert Trace.model_validate_json(trace.model_dump_json()).hints == hints


def test_a_bbox_that_excludes_every_candidate_abstains_with_the_reason(
    photo: Path, settings: Settings
) -> None:
    hints = Hints(bbox=(50.0, 10.0, 55.0, 20.0))
    trace = _run(_scene(hypotheses=[PARIS, MADRID]), photo, settings, hints)
    assert trace.prediction.abstained
    assert "hints ruled out every candidate" in trace.prediction.reason
    assert trace.candidates and all(OUTSIDE_FLAG in c.flags for c in trace.candidates)


def test_map_requests_without_an_area_get_the_bbox_and_those_outside_are_refused(
    photo: Path, settings: Settings
) -> None:
    named = {"kind": "named", "name": "Calle Mayor"}
    far = {**named, "area": {"lat": -33.87, "lon": 151.21, "radius_m": 5000}}
    backend = _scene(
        tool_requests=[
            {"tool": "overpass", "input": named},
            {"tool": "osm", "input": named},
            {"tool": "overpass", "input": far},
        ]
    )
    trace = _run(backend, photo, settings, Hints(bbox=MADRID_BOX))
    asked = [e for e in trace.evidence if e.tool in ("osm", "overpass")]
    assert len(asked) == 3
    box = {"south": 40.0, "west": -4.5, "north": 41.0, "east": -3.0}
    for ev in asked[:2]:
        assert ev.query["area"] == box
        assert ev.requested_by == "scripted (area from hints)"
    refused = asked[2]
    assert not refused.ok and refused.skipped and refused.requested_by == "scripted"
    assert "outside the analyst's hints" in (refused.error or "")
    assert len((refused.error or "").splitlines()) == 1


def test_the_hint_text_reaches_the_model_as_data_and_is_scanned(
    photo: Path, settings: Settings
) -> None:
    backend = _scene()
    trace = _run(backend, photo, settings, Hints(text="probably Spain"))
    scene = next(ctx for stage, ctx in backend.calls if stage == "scene")
    assert scene.hints is not None and scene.hints.text == "probably Spain"
    shown = render_context(scene)
    assert shown.index("<data>") < shown.index('"probably Spain"') < shown.index("</data>")
    (scan,) = [e for e in trace.evidence if e.requested_by == HINT_BY]
    assert scan.tool == "gazetteer" and scan.query["mode"] == "scan" and scan.stage == "semantic"
    assert scan.trust == 0.5 and scan.query["text"] == "probably Spain"
    spain = [c for c in trace.candidates if scan.id in c.evidence]
    assert spain and all(c.country_code == "ES" and c.weight <= 0.5 for c in spain)
