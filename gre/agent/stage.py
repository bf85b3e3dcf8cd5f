"""One visit of a reasoning stage: the planner's requests, the backend's proposal, its requests.

The planner runs first, round after round until it has nothing new (OCR, then text
clues on what it read). Then the backend proposes, seeing everything so far, and its
tool requests run through the same executor, within the stage's budget. A backend
that follows up (a tool-calling model) is asked again with the results, a bounded
number of times; its last round is told it has no requests left. After the backend,
the planner looks once more (text a model's OCR crops read gets its text clues).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from gre.agent.executor import Executor
from gre.agent.planner import RunView, legacy_requests, plan
from gre.agent.vlm.base import StageContext, ToolExchange, VLMBackend
from gre.records import Stage, StageResult, ToolRequest

MAX_ROUNDS = 3
"""Backend calls per stage visit (a follow-up round after each round of tool requests)."""
MAX_PLAN_ROUNDS = 4
"""Planner rounds in a row (each sees what the previous one's requests returned)."""

ViewOf = Callable[[int], RunView]
"""The run so far as the planner sees it; the argument counts planner calls this visit."""
ContextOf = Callable[[int, list[list[ToolExchange]], int], StageContext]
"""The backend's context for a round, its earlier exchanges, and the requests it has left."""


def propose(
    backend: VLMBackend, stage: Stage, images: Sequence[Path], context: StageContext
) -> StageResult:
    """The backend's proposal; a backend that raises fails its stage, not the run."""
    t0 = time.perf_counter()
    try:
        result = backend.propose(stage, images, context)
    except Exception as exc:  # backends should not raise; if one does, the stage fails alone
        return StageResult(
            stage=stage,
            ok=False,
            backend=backend.name,
            error=f"{type(exc).__name__}: {exc}",
            latency_ms=(time.perf_counter() - t0) * 1000,
        )
    update: dict[str, object] = {"stage": stage, "round": context.round}
    if not result.latency_ms:
        update["latency_ms"] = (time.perf_counter() - t0) * 1000
    return result.model_copy(update=update)


class StageVisit:
    """Runs one visit of ``stage`` (see the module docstring)."""

    def __init__(
        self,
        stage: Stage,
        *,
        backend: VLMBackend,
        images: Sequence[Path],
        executor: Executor,
        view_of: ViewOf,
        context_of: ContextOf,
        budget: int,
    ) -> None:
        self.stage = stage
        self.backend = backend
        self.images = list(images)
        self.executor = executor
        self.view_of = view_of
        self.context_of = context_of
        self.budget = budget
        self._plans = 0
        self._left = budget

    def run(self) -> list[StageResult]:
        """The backend's results, one per round, in order."""
        results: list[StageResult] = []
        exchanges: list[list[ToolExchange]] = []
        for round_ in range(MAX_ROUNDS):
            self._planner()
            final = self.backend.capabilities.follow_up and round_ == MAX_ROUNDS - 1
            context = self.context_of(round_, exchanges, 0 if final else self._left)
            result = propose(self.backend, self.stage, self.images, context)
            results.append(result)
            requests = [*result.tool_requests, *legacy_requests(result, self.view_of(self._plans))]
            made = [self._run(r, final=final) for r in requests]
            if not made or not self.backend.capabilities.follow_up:
                break
            exchanges.append(made)
        self._planner()
        return results

    def _planner(self) -> None:
        for _ in range(MAX_PLAN_ROUNDS):
            requests = plan(self.stage, self.view_of(self._plans))
            self._plans += 1
            if not requests:
                return
            for request in requests:
                self.executor.request(request, by="planner")

    def _run(self, request: ToolRequest, *, final: bool) -> ToolExchange:
        refuse = None
        if final:
            refuse = "the stage's last round takes no tool requests"
        elif self._left <= 0:
            refuse = f"over this stage's budget of {self.budget} tool request(s)"
        else:
            self._left -= 1
        _, ev = self.executor.request(request, by=self.backend.name, refuse=refuse)
        text = ev.text if ev.ok else f"error: {ev.error or 'failed'}"
        return ToolExchange(request=request, ok=ev.ok, text=text, evidence=ev.id)
