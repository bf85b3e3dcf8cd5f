"""Routers: pure functions of the state that name the next node."""

from __future__ import annotations

from typing import Literal

from gre.graphs.state import AgentState


def after_ingest(state: AgentState) -> Literal["scene", "end"]:
    """A photo that could not be opened ends the run with its error."""
    return "end" if state.get("error") else "scene"


def after_converge(state: AgentState) -> Literal["scene", "details", "semantic", "end"]:
    """Converge has decided: answer now, or loop back to the stage that can separate candidates."""
    route = state.get("route", "end")
    if route in ("scene", "details", "semantic"):
        return route  # type: ignore[return-value]
    return "end"
