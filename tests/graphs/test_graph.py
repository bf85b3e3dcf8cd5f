"""The staged graph: topology, the step budget, and runs that end with an answer whatever fails."""

from pathlib import Path

import pytest
from PIL import Image

from gre.agent.vlm.base import BackendCapabilities
from gre.agent.vlm.scripted import ScriptedBackend
from gre.config import Settings
from gre.events import Event, LoopBack
from gre.graphs.locator import Locator
from gre.graphs.staged import build_staged_graph
from gre.records import Hypothesis, StageResult
from gre.tools.base import ToolRegistry

NODES = ("ingest", "scene", "details", "semantic", "verify", "converge", "answer")


def test_topology() -> None:
    g = build_staged_graph().get_graph()
    assert set(g.nodes) == {"__start__", *NODES, "__end__"}
    edges = {(e.source, e.target, e.conditional) for e in g.edges}
    assert edges == {
        ("__start__", "ingest", False),
        ("ingest", "scene", True),
        ("ingest", "verify", True),
        ("ingest", "__end__", True),
        ("scene", "details", False),
        ("details", "semantic", False),
        ("semantic", "verify", False),
        ("verify", "converge", False),
        ("converge", "scene", True),
        ("converge", "details", True),
        ("converge", "semantic", True),
        ("converge", "answer", True),
        ("answer", "__end__", False),
    }


def _undecided() -> list[StageResult]:
    """A model that always sees two equally likely, far-apart places."""
    return [
        StageResult(
            stage="semantic",
            summary="torn between two cities",
            hypotheses=[
                Hypothesis(level="city", name="Lima", lat=-12.05, lon=-77.04, confidence=0.5),
                Hypothesis(level="city", name="Manila", lat=14.6, lon=120.98, confidence=0.5),
            ],
        )
    ]


@pytest.mark.parametrize("max_steps", [3, 5, 8])
def test_budget_ends_with_a_prediction(photo: Path, settings: Settings, max_steps: int) -> None:
    settings = settings.model_copy(update={"max_steps": max_steps})
    backend = ScriptedBackend(_undecided(), cycle=True)
    events: list[Event] = []
    with Locator(settings, backend=backend, registry=ToolRegistry()) as loc:
        trace = loc.locate(photo, on_event=events.append)
    assert trace.error is None
    assert trace.steps == max_steps  # it kept looping while the budget lasted, and stopped
    assert len(backend.calls) == max_steps
    assert trace.prediction.lat is not None and not trace.prediction.abstained
    assert trace.prediction.label in {"Lima", "Manila"}
    assert {a.label for a in trace.prediction.alternatives} & {"Lima", "Manila"}
    loops = [e for e in events if isinstance(e, LoopBack)]
    assert len(loops) == max_steps - 3
    # a disagreement at city level loops to the semantic stage with the reason given to the model
    focus = [ctx.focus for stage, ctx in backend.calls if stage == "semantic" and ctx.iteration]
    assert all(f and "disagree" in f for f in focus)


def test_every_tool_missing_still_answers_unknown(photo: Path, settings: Settings) -> None:
    with Locator(settings, registry=ToolRegistry()) as loc:
        trace = loc.locate(photo)
    assert trace.error is None
    assert trace.prediction.abstained and trace.prediction.level == "unknown"
    assert trace.tool_calls and all(c.skipped for c in trace.tool_calls)
    assert all(e.skipped for e in trace.evidence)


class _Exploding:
    name = "exploding"
    model = None
    capabilities = BackendCapabilities()

    def propose(self, stage, images, context):  # type: ignore[no-untyped-def]
        raise RuntimeError("model server fell over")

    def close(self) -> None:
        pass


def test_backend_exception_is_a_failed_stage(photo: Path, settings: Settings) -> None:
    with Locator(settings, backend=_Exploding(), registry=ToolRegistry()) as loc:
        trace = loc.locate(photo)
    assert trace.error is None
    assert [s.ok for s in trace.stages] == [False, False, False]
    assert "model server fell over" in (trace.stages[0].error or "")
    assert trace.prediction.abstained


def test_bad_photo_is_an_error_not_an_exception(tmp_path: Path, settings: Settings) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_text("nope")
    with Locator(settings.model_copy(update={"offline": False}), registry=ToolRegistry()) as loc:
        trace = loc.locate(bad)
        good = tmp_path / "good.png"
        Image.new("RGB", (50, 50)).save(good)
        after = loc.locate(good)  # the locator still works after a bad photo
    assert trace.error and "not an image" in trace.error
    assert trace.prediction.abstained and trace.stages == []
    assert after.error is None and after.steps == 3


def test_scripted_point_is_grounded_and_model_clues_kept(photo: Path, settings: Settings) -> None:
    script = [
        StageResult(stage="scene", summary="Mediterranean old town", clues=[]),
        StageResult(
            stage="semantic",
            hypotheses=[
                Hypothesis(level="city", name="Arezzo", lat=43.4633, lon=11.8796, confidence=0.8)
            ],
        ),
    ]
    backend = ScriptedBackend(script)
    with Locator(settings, backend=backend, registry=ToolRegistry()) as loc:
        trace = loc.locate(photo)
    assert trace.prediction.label == "Arezzo"
    assert trace.prediction.level == "city"
    assert trace.stages[0].summary == "Mediterranean old town"
    assert trace.candidates[0].hypothesis == "h1"
    assert [t.node for t in trace.timings] == list(NODES)


def _geotagged(tmp_path: Path) -> Path:
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (43.0, 28.0, 2.8), 3: "E", 4: (11.0, 53.0, 6.4)})
    path = tmp_path / "geotagged.jpg"
    Image.new("RGB", (320, 240), (90, 140, 200)).save(path, exif=exif)
    return path


def test_a_gps_fix_answers_at_once_unless_corroborated(tmp_path: Path, settings: Settings) -> None:
    photo = _geotagged(tmp_path)
    backend = ScriptedBackend([])
    with Locator(settings, backend=backend) as loc:
        trace = loc.locate(photo)
    assert trace.prediction.level == "street" and trace.steps == 0
    assert backend.calls == [] and {c.tool for c in trace.tool_calls} <= {"exif", "gazetteer"}
    assert [t.node for t in trace.timings] == ["ingest", "verify", "converge", "answer"]
    checking = settings.model_copy(update={"corroborate_gps": True})
    backend = ScriptedBackend([])
    with Locator(checking, backend=backend) as loc:
        trace = loc.locate(photo)
    assert trace.steps == 3 and "ocr" in {c.tool for c in trace.tool_calls}
    assert trace.prediction.level == "street"  # the fix still answers, now checked
