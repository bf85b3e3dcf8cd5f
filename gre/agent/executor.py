"""The one way agent code runs a tool: a request to the executor the graph provides."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel

from gre.records import Evidence, ToolRequest


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
