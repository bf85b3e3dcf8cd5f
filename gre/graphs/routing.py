"""Routers: pure functions of the state that name the next node."""

from __future__ import annotations

from typing import Literal

from gre.agent.loop import LoopFacts, Route, decide
from gre.graphs.state import AgentState


def after_ingest(state: AgentState) -> Literal["scene", "verify", "end"]:
    """A photo that could not be opened ends the run with its error; a GPS fix answers at
    once (no stage, no model call) unless the run corroborates fixes."""
    if state.get("error"):
        return "end"
    fixed = any(
        claim.get("measured") for ev in state.get("evidence", []) for claim in ev.get("claims", [])
    )
    if fixed and not state.get("options", {}).get("corroborate_gps", False):
        return "verify"
    return "scene"


def after_converge(state: AgentState) -> Route:
    """The loop decision (:func:`gre.agent.loop.decide`) on the facts converge gathered."""
    loop = state.get("loop")
    if not loop:  # converge failed: answer with what there is
        return "answer"
    return decide(LoopFacts.model_validate(loop)).route
