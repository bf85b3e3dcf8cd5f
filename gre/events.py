"""Typed run events: what a run announces as it goes (the terminal shows them live).

Every event is a small frozen pydantic model; a consumer dispatches on the class
(``match event: case ToolDone(): ...``), never on a string. Events carry the same
records the trace keeps, so what was shown live is what the trace says.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict

from gre.records import (
    Candidate,
    Evidence,
    Generation,
    PhotoInfo,
    Prediction,
    StageResult,
    ToolCall,
    Trace,
)


class Event(BaseModel):
    """Base of every run event."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)


class RunStart(Event):
    path: str
    backend: str


class Prepared(Event):
    """Slow one-time set-up is under way (an index build, a model load)."""

    tool: str
    note: str


class PhotoReady(Event):
    photo: PhotoInfo


class NodeStart(Event):
    node: str
    iteration: int = 0


class NodeEnd(Event):
    node: str
    duration_ms: float


class ToolStart(Event):
    node: str
    tool: str
    params: dict[str, Any]


class ToolDone(Event):
    node: str
    call: ToolCall
    evidence: Evidence


class StageDone(Event):
    node: str
    result: StageResult


class CandidatesMade(Event):
    node: str
    candidates: list[Candidate]


class LoopBack(Event):
    node: str
    target: str
    focus: str | None


class GenerationDone(Event):
    node: str
    generation: Generation


class PredictionMade(Event):
    prediction: Prediction


class Note(Event):
    node: str
    message: str


class Warned(Event):
    node: str
    message: str


class Failed(Event):
    """The photo could not be used (the run ends with this error)."""

    node: str
    message: str


class RunEnd(Event):
    trace: Trace


EventSink = Callable[[Event], None]


def discard(_event: Event) -> None:
    """An event sink that drops everything."""
    return None
