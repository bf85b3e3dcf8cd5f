"""Running a registered graph (staged, direct or a plugin's) on photos; the final state -> Trace."""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from langgraph.errors import GraphRecursionError

from gre.agent.vlm import make_backend
from gre.agent.vlm.base import VLMBackend
from gre.config import Settings
from gre.events import EventSink, Prepared, RunEnd, RunStart, Warned, discard
from gre.graphs.context import Emit, RunContext
from gre.graphs.specs import GraphSpec, graph_registry
from gre.graphs.state import AgentState
from gre.records import (
    Candidate,
    Clue,
    Evidence,
    Generation,
    Hints,
    Hypothesis,
    NodeTiming,
    PhotoInfo,
    Prediction,
    StageResult,
    ToolCall,
    Trace,
    TracePhoto,
)
from gre.tools.base import ToolRegistry
from gre.tools.support.http import network_budget
from gre.tools.toolbox import ToolBox


class Locator:
    """Locates photos with one compiled graph, one backend and one toolbox (reused per photo)."""

    def __init__(
        self,
        settings: Settings,
        *,
        backend: VLMBackend | None = None,
        toolbox: ToolBox | None = None,
        registry: ToolRegistry | None = None,
        script: Path | None = None,
    ) -> None:
        self.settings = settings
        self.spec: GraphSpec = graph_registry().get(settings.graph)  # PluginError if unknown
        self.graph = self.spec.build()
        self._recursion_limit = self.spec.recursion_limit(settings.max_steps)
        self.backend = backend if backend is not None else make_backend(settings, script=script)
        self.toolbox = toolbox if toolbox is not None else ToolBox(settings, registry)
        self._tmp = tempfile.TemporaryDirectory(prefix="gre-")
        self.workdir = Path(self._tmp.name)

    def prepare(self, on_event: EventSink | None = None) -> None:
        """Warm up the tools (build indexes, load models) outside any per-call time limit."""
        emit = on_event or discard
        for name in self.toolbox.registry.names():

            def note(text: str, tool: str = name) -> None:
                emit(Prepared(tool=tool, note=text))

            error = self.toolbox.prepare(name, note)
            if error:
                emit(Warned(node="prepare", message=error))
        if self.backend.capabilities.generates_text:
            emit(Prepared(tool=self.backend.name, note="connecting to the model"))
        error = self.backend.prepare()
        if error:
            emit(Warned(node="prepare", message=error))

    def locate(
        self,
        path: Path,
        on_event: EventSink | None = None,
        *,
        leak_terms: list[str] | None = None,
        hints: Hints | None = None,
    ) -> Trace:
        """Run the graph on one photo. Always returns a Trace; never raises for bad input.

        ``leak_terms`` (the evaluation's sample id and file name) are dropped from web
        search results, so a benchmark photo cannot be found by searching for itself.
        ``hints`` (the analyst's) travel in the state's options and are in the trace.
        """
        emit = on_event or discard
        state, options = self.initial_state(path, leak_terms=leak_terms, hints=hints)
        ctx = self.context(events=emit)
        emit(RunStart(path=str(path), backend=self.backend.name))
        last: dict[str, Any] = dict(state)
        error: str | None = None
        t0 = time.perf_counter()
        try:
            # one photo's network calls share one budget, whichever tool or thread makes them
            with network_budget(self.settings.network_budget_s):
                for chunk in self.graph.stream(  # events reach ``emit`` through ctx
                    state,
                    context=ctx,
                    stream_mode="values",
                    config={"recursion_limit": self._recursion_limit},
                ):
                    last = chunk
        except GraphRecursionError:
            error = "the run hit its step limit before answering"
        except Exception as exc:  # the trace must survive any failure
            error = f"run failed: {type(exc).__name__}: {exc}"
        finally:
            work = last.get("photo", {}).get("work_path")
            if work:
                Path(work).unlink(missing_ok=True)
        trace = self._trace(last, error, (time.perf_counter() - t0) * 1000, options, hints)
        emit(RunEnd(trace=trace))
        return trace

    def initial_state(
        self, path: Path, *, leak_terms: list[str] | None = None, hints: Hints | None = None
    ) -> tuple[AgentState, dict[str, Any]]:
        """A run's first state and its options (the hints travel in the options)."""
        options: dict[str, Any] = {
            "ignore_metadata": self.settings.ignore_metadata,
            "corroborate_gps": self.settings.corroborate_gps,
            "offline": self.settings.offline,
            "max_steps": self.settings.max_steps,
            "graph": self.settings.graph,
            "leak_terms": list(leak_terms or []),
            "hints": hints.model_dump(mode="json") if hints is not None else None,
        }
        state: AgentState = {
            "input_path": str(path),
            "options": options,
            "step": 0,
            "iteration": 0,
        }
        return state, options

    def context(self, workdir: Path | None = None, events: Emit | None = None) -> RunContext:
        """The graph's run context (an interactive case keeps its own ``workdir``); with
        ``events``, nodes send their live events there rather than to the custom stream."""
        return RunContext(
            self.settings, self.backend, self.toolbox, workdir or self.workdir, events
        )

    def trace_of(
        self,
        state: dict[str, Any],
        error: str | None,
        ms: float,
        options: dict[str, Any],
        hints: Hints | None = None,
    ) -> Trace:
        """The published trace of a final state (for runs driven outside :meth:`locate`)."""
        return self._trace(state, error, ms, options, hints)

    def _trace(
        self,
        state: dict[str, Any],
        error: str | None,
        ms: float,
        options: dict[str, Any],
        hints: Hints | None = None,
    ) -> Trace:
        """The final state as the published trace: times, the input path, no temp paths."""
        error = state.get("error") or error
        prediction = (
            Prediction.model_validate(state["prediction"])
            if state.get("prediction")
            else Prediction(abstained=True, reason=error or "the run ended without an answer")
        )
        finished = dt.datetime.now(dt.UTC)
        photo = PhotoInfo.model_validate(state["photo"]) if state.get("photo") else None
        trace = Trace(
            input_path=state.get("input_path"),
            started_at=finished - dt.timedelta(milliseconds=ms),
            finished_at=finished,
            photo=TracePhoto.model_validate({**photo.model_dump(), "work_path": None})
            if photo
            else None,
            backend=self.backend.name,
            graph=self.settings.graph,
            model=self.backend.model,
            options={k: v for k, v in options.items() if k != "hints"},
            hints=hints,
            steps=int(state.get("step", 0)),
            stages=[StageResult.model_validate(s) for s in state.get("stages", [])],
            generations=[Generation.model_validate(g) for g in state.get("generations", [])],
            clues=[Clue.model_validate(c) for c in state.get("clues", [])],
            hypotheses=[Hypothesis.model_validate(h) for h in state.get("hypotheses", [])],
            evidence=[Evidence.model_validate(e) for e in state.get("evidence", [])],
            candidates=[Candidate.model_validate(c) for c in state.get("candidates", [])],
            tool_calls=[ToolCall.model_validate(t) for t in state.get("tool_calls", [])],
            timings=[NodeTiming.model_validate(t) for t in state.get("timings", [])],
            warnings=list(state.get("warnings", [])),
            prediction=prediction,
            error=error,
            duration_ms=round(ms, 1),
        )
        return trace.forget_paths(photo.work_path) if photo else trace

    def close(self) -> None:
        """Close the backend and tools and remove the working directory."""
        self.backend.close()
        self.toolbox.close()
        self._tmp.cleanup()

    def __enter__(self) -> Locator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
