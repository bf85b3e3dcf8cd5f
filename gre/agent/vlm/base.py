"""The backend interface every reasoning model (or rule set) implements."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from gre.agent.vlm.chat import ChatRequest, ChatResponse
from gre.records import (
    Candidate,
    Clue,
    Evidence,
    Hints,
    Hypothesis,
    PhotoInfo,
    Stage,
    StageResult,
    ToolRequest,
)
from gre.tools.base import ToolCard


class BackendCapabilities(BaseModel):
    """What a backend can do, declared once (the graph and CLI read this, never probe)."""

    model_config = ConfigDict(frozen=True)

    sees_pixels: bool = True
    """It looks at the photo itself (a second look at the scene can separate countries)."""
    refines: bool = True
    """It can use a loop-back to an earlier stage with the disagreement stated."""
    generates_text: bool = True
    """It can answer in free text (GRE's single-pass protocol, the direct graph)."""
    follow_up: bool = False
    """After its tool requests run, it is asked again in the same stage (with the results)."""
    native_tool_calls: bool = False
    """Its tool requests may come as the runtime's function calls (else as a JSON field)."""


class ToolExchange(BaseModel):
    """A request the backend made earlier in this stage, and what came back."""

    request: ToolRequest
    ok: bool
    text: str = Field(description="the result as the model is shown it, or the error line")
    evidence: str | None = None


class StageContext(BaseModel):
    """What a backend may read when it proposes: the run so far.

    Tool results in ``evidence`` are data read from the photo or the world; a
    backend quotes them to a model as data and never follows instructions in them.
    ``tools`` are the tools it may request in this run; ``exchanges`` its own earlier
    requests in this stage, one list per earlier round, with their results.
    ``hints`` are the analyst's: data as well (quoted), never instructions.
    """

    photo: PhotoInfo
    iteration: int = 0
    round: int = 0
    clues: list[Clue] = Field(default_factory=list)
    hypotheses: list[Hypothesis] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)
    candidates: list[Candidate] = Field(default_factory=list)
    focus: str | None = Field(default=None, description="why the graph looped back, if it did")
    tools: list[ToolCard] = Field(default_factory=list)
    exchanges: list[list[ToolExchange]] = Field(default_factory=list)
    max_requests: int = Field(default=0, description="tool requests left for this stage")
    hints: Hints | None = Field(
        default=None, description="the analyst's hints: data to weigh, not instructions"
    )

    def results_of(self, tool: str) -> list[Evidence]:
        """Successful evidence from ``tool``, oldest first."""
        return [e for e in self.evidence if e.tool == tool and e.ok]


@runtime_checkable
class VLMBackend(Protocol):
    """Proposes clues, hypotheses and tool requests for one reasoning stage.

    ``propose`` must not raise for a model's failure: it returns a StageResult
    with ``ok=False`` and the error instead.
    """

    name: str
    model: str | None
    capabilities: BackendCapabilities

    def propose(
        self, stage: Stage, images: Sequence[Path], context: StageContext
    ) -> StageResult: ...

    def prepare(self) -> str | None:
        """Slow one-time set-up (load a model, reach its server); the error in one line."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class TextGenerator(Protocol):
    """A backend that can also answer free text (``capabilities.generates_text``)."""

    def generate(self, request: ChatRequest) -> ChatResponse: ...
