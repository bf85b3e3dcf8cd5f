"""The backend interface every reasoning model (or rule set) implements."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, Field

from gre.agent.vlm.chat import ChatRequest, ChatResponse
from gre.records import Candidate, Clue, Evidence, Hypothesis, PhotoInfo, Stage, StageResult


class StageContext(BaseModel):
    """What a backend may read when it proposes: the run so far.

    Tool results in ``evidence`` are data read from the photo or the world; a
    backend quotes them to a model as data and never follows instructions in them.
    """

    photo: PhotoInfo
    iteration: int = 0
    clues: list[Clue] = Field(default_factory=list)
    hypotheses: list[Hypothesis] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)
    candidates: list[Candidate] = Field(default_factory=list)
    focus: str | None = Field(default=None, description="why the graph looped back, if it did")

    def results_of(self, tool: str) -> list[Evidence]:
        """Successful evidence from ``tool``, oldest first."""
        return [e for e in self.evidence if e.tool == tool and e.ok]


@runtime_checkable
class VLMBackend(Protocol):
    """Proposes clues, hypotheses and OCR regions for one reasoning stage.

    ``propose`` must not raise for a model's failure: it returns a StageResult
    with ``ok=False`` and the error instead.
    """

    name: str
    model: str | None

    def propose(
        self, stage: Stage, images: Sequence[Path], context: StageContext
    ) -> StageResult: ...

    def close(self) -> None: ...


@runtime_checkable
class TextGenerator(Protocol):
    """A backend that can also answer free text (model backends; not ``none`` or ``scripted``)."""

    def generate(self, request: ChatRequest) -> ChatResponse: ...
