"""The loop decision: answer now, or go back to the stage that can separate the candidates.

A pure function of :class:`LoopFacts` (which converge gathers and keeps in the state),
so the graph's router calls it and tests can reason about it without a graph.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from gre.agent.converge import Fusion
from gre.records import Level

Route = Literal["scene", "details", "semantic", "answer"]
BROAD: frozenset[Level] = frozenset({"country", "continent"})


class LoopFacts(BaseModel):
    """Everything the decision depends on, after one converge pass."""

    model_config = ConfigDict(frozen=True)

    answer_label: str | None = None
    answer_level: Level | None = None
    answer_score: float = 0.0
    rival_label: str | None = None
    rival_level: Level | None = None
    rival_score: float = 0.0
    steps_left: int = 0
    can_reread: bool = False
    """A sparse-text OCR pass is left and the first pass read some text."""
    refines: bool = True
    sees_pixels: bool = True
    scene_runs: int = 1

    @classmethod
    def of(cls, fusion: Fusion, **facts: object) -> LoopFacts:
        """Facts from a fusion and the run's own (steps left, re-read, capabilities)."""
        answer, rival = fusion.answer, fusion.rival
        return cls.model_validate(
            {
                "answer_label": answer.label if answer else None,
                "answer_level": answer.level if answer else None,
                "answer_score": answer.score if answer else 0.0,
                "rival_label": rival.label if rival else None,
                "rival_level": rival.level if rival else None,
                "rival_score": rival.score if rival else 0.0,
                **facts,
            }
        )


class Decision(BaseModel):
    """Where to go, and what to tell the stage that runs again."""

    model_config = ConfigDict(frozen=True)

    route: Route
    focus: str | None = None


def decide(facts: LoopFacts) -> Decision:
    """Answer when the candidates agree or the budget is spent; else loop back.

    Back to **details** for a sparse-text OCR pass where the first pass read text; to
    **scene** when the rivals are countries and the backend has eyes (twice at most);
    otherwise to **semantic** with the disagreement stated. A backend that cannot
    refine, and a run with nothing located, end once no re-read is left.
    """
    has_answer = facts.answer_label is not None
    if not has_answer:
        focus = "no location evidence yet: read more text"
    elif facts.rival_label is None:
        return Decision(route="answer")
    else:
        focus = (
            f"candidates disagree: {facts.answer_label} ({facts.answer_score:.2f}) vs "
            f"{facts.rival_label} ({facts.rival_score:.2f})"
        )
    if facts.can_reread and facts.steps_left >= 2:
        return Decision(route="details", focus=focus)
    if not facts.refines or not has_answer:
        return Decision(route="answer")
    levels = {facts.answer_level, facts.rival_level}
    if (
        facts.rival_label is not None
        and facts.sees_pixels
        and levels <= BROAD
        and facts.scene_runs < 2
        and facts.steps_left >= 3
    ):
        return Decision(route="scene", focus=focus)
    if facts.steps_left >= 1:
        return Decision(route="semantic", focus=focus)
    return Decision(route="answer")
