"""The one way agent code runs a tool: a request to the executor the graph provides."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel

from gre.agent.hints import HINT_BY, HINT_WHY, bound_request
from gre.records import Evidence, Hints, ToolRequest


class Executor(Protocol):
    """Runs tool requests and records what results bear on (a graph node's recorder)."""

    def request(
        self,
        request: ToolRequest,
        *,
        by: str,
        about: str | None = None,
        refuse: str | None = None,
    ) -> tuple[BaseModel | None, Evidence]:
        """Run ``request``; its outcome always comes back as Evidence (failures too)."""
        ...

    def link(
        self, evidence_id: str, *, supports: tuple[str, ...] = (), contradicts: tuple[str, ...] = ()
    ) -> None:
        """Record that a result supports or contradicts some candidates."""
        ...


class HintedExecutor:
    """An executor bounded by the analyst's hints, for every requester alike.

    Map requests (``osm``/``overpass``) without an area get the hints' area (and say so
    in ``requested_by``); one whose area lies outside the hints is refused. The
    planner's scan of the hint text is recorded as requested by ``hint``.
    """

    def __init__(self, inner: Executor, hints: Hints | None) -> None:
        self.inner = inner
        self.hints = hints

    def request(
        self,
        request: ToolRequest,
        *,
        by: str,
        about: str | None = None,
        refuse: str | None = None,
    ) -> tuple[BaseModel | None, Evidence]:
        """Run ``request`` through the inner executor, bounded by the hints."""
        if by == "planner" and request.why == HINT_WHY:
            by = HINT_BY
        if refuse is None and request.error is None:
            request, refusal, filled = bound_request(request, self.hints)
            refuse = refusal
            if filled:
                by = f"{by} (area from hints)"
        return self.inner.request(request, by=by, about=about, refuse=refuse)

    def link(
        self, evidence_id: str, *, supports: tuple[str, ...] = (), contradicts: tuple[str, ...] = ()
    ) -> None:
        """Record that a result supports or contradicts some candidates."""
        self.inner.link(evidence_id, supports=supports, contradicts=contradicts)
