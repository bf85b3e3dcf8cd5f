"""``echo_test``: a backend that proposes the same country for every photo."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gre.agent.vlm.base import BackendCapabilities, StageContext, VLMBackend
from gre.config import Settings
from gre.records import Hypothesis, Stage, StageResult

COUNTRY = "IS"
RATIONALE = "echo_test proposes Iceland for every photo"


class EchoBackend:
    """Proposes Iceland at the scene stage and nothing at the others."""

    name = "echo_test"
    capabilities = BackendCapabilities(sees_pixels=False, generates_text=False)

    def __init__(self, model: str | None = None) -> None:
        self.model = model
        self.stages: list[Stage] = []

    def propose(self, stage: Stage, images: Sequence[Path], context: StageContext) -> StageResult:
        self.stages.append(stage)
        if stage != "scene":
            return StageResult(stage=stage, backend=self.name)
        hypothesis = Hypothesis(
            level="country",
            name="Iceland",
            country_code=COUNTRY,
            confidence=0.9,
            rationale=RATIONALE,
        )
        return StageResult(
            stage=stage, summary=RATIONALE, hypotheses=[hypothesis], backend=self.name
        )

    def prepare(self) -> str | None:
        return None

    def close(self) -> None:
        return None


def make_echo_backend(settings: Settings, **options: Any) -> VLMBackend:
    """The ``gre.backends`` factory: settings and keyword options in, a backend out."""
    return EchoBackend(settings.model)
