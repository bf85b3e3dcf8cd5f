"""Per-photo overhead of the staged graph, as a fraction of a model that takes 1 s per stage.

Three measurements on the same photo, tools limited to the gazetteer (verification and the
nearest-place lookup; OCR is a tool cost, not graph overhead and is measured by bench_ocr):

- scripted backend answering instantly: graph + verification + fusion;
- the openai backend against a local OpenAI-compatible server answering instantly:
  adds prompt building, image encoding, HTTP and JSON parsing;
- the scripted backend sleeping 1 s per stage: the end-to-end check.

Goal: overhead ≤ 5% of 3 s (three stages at 1 s).
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image

from gre.agent.vlm import make_backend
from gre.agent.vlm.base import StageContext
from gre.agent.vlm.scripted import ScriptedBackend
from gre.config import Settings
from gre.graphs.locator import Locator
from gre.records import Hypothesis, Stage, StageResult
from gre.testing.fake_openai import FakeOpenAI, Reply, stage_of
from gre.tools.base import ToolRegistry

STAGE_S = 1.0
GOAL = 0.05
RUNS = 5

SCRIPT = [
    StageResult(stage="scene", summary="temperate European town"),
    StageResult(stage="details", summary="French sign"),
    StageResult(
        stage="semantic",
        summary="Strasbourg",
        hypotheses=[
            Hypothesis(
                level="city",
                name="Strasbourg",
                country_code="FR",
                lat=48.5734,
                lon=7.7521,
                confidence=0.8,
            )
        ],
    ),
]
REPLIES: dict[str, dict[str, Any]] = {
    "gre_scene": {"summary": "temperate European town", "clues": [], "hypotheses": []},
    "gre_details": {"summary": "French sign", "clues": [], "hypotheses": []},
    "gre_semantic": {
        "summary": "Strasbourg",
        "clues": [],
        "hypotheses": [
            {
                "level": "city",
                "name": "Strasbourg",
                "country_code": "FR",
                "lat": 48.5734,
                "lon": 7.7521,
                "confidence": 0.8,
                "rationale": "sign",
            }
        ],
    },
}


class SlowScripted(ScriptedBackend):
    """A scripted model that takes STAGE_S per stage."""

    def propose(self, stage: Stage, images: Any, context: StageContext) -> StageResult:
        time.sleep(STAGE_S)
        return super().propose(stage, images, context)


def _registry() -> ToolRegistry:
    full = ToolRegistry.discover()
    only = ToolRegistry()
    spec = full.get("gazetteer")
    only.register(spec.cls, package=spec.package)
    return only


def _time(loc: Locator, photo: Path, runs: int = RUNS) -> float:
    loc.locate(photo)  # warm-up
    times = []
    for _ in range(runs):
        trace = loc.locate(photo)
        assert trace.prediction.label.startswith("Strasbourg"), trace.prediction
        times.append(trace.duration_ms / 1000)
    return statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        photo = Path(tmp) / "photo.jpg"
        Image.new("RGB", (1280, 960), (100, 120, 140)).save(photo)
        settings = Settings(offline=True, ignore_metadata=True, max_steps=3)
        budget = 3 * STAGE_S
        with Locator(
            settings, backend=ScriptedBackend(SCRIPT, cycle=True), registry=_registry()
        ) as loc:
            loc.prepare()
            instant = _time(loc, photo)
        print(
            f"scripted, instant model: {instant * 1000:.1f} ms per photo = "
            f"{instant / budget:.2%} of {budget:.0f} s (goal ≤ {GOAL:.0%})"
        )
        with FakeOpenAI(
            responder=lambda body: Reply(text=json.dumps(REPLIES[f"gre_{stage_of(body)}"]))
        ) as server:
            http_settings = settings.model_copy(
                update={"backend": "openai", "model_url": server.url, "model": "fake"}
            )
            with Locator(
                http_settings, backend=make_backend(http_settings), registry=_registry()
            ) as loc:
                http = _time(loc, photo)
        print(
            f"openai backend, instant local server: {http * 1000:.1f} ms per photo = "
            f"{http / budget:.2%} of {budget:.0f} s (goal ≤ {GOAL:.0%})"
        )
        with Locator(
            settings, backend=SlowScripted(SCRIPT, cycle=True), registry=_registry()
        ) as loc:
            slow = _time(loc, photo, runs=2)
        print(
            f"scripted, {STAGE_S:.0f} s per stage: {slow:.3f} s per photo; overhead "
            f"{(slow - budget) * 1000:.1f} ms = {(slow - budget) / budget:.2%}"
        )


if __name__ == "__main__":
    main()
