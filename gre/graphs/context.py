"""What nodes share that is not state: the backend, the tools, and a recorder per node run.

The recorder is the one executor of tool requests. Whoever asks (the planner, a
model, verification), a request runs the same way: checked, with the photo's path
and the run's leak terms filled in, called through the toolbox, and turned into
typed Evidence that carries the output's model text and its claims.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from gre.agent.vlm.base import VLMBackend
from gre.config import Settings
from gre.events import Event, NodeEnd, ToolDone, ToolStart, discard
from gre.graphs.state import AgentState, Record, merge_by_id
from gre.records import Evidence, NodeTiming, PlaceClaim, ToolCall, ToolRequest
from gre.tools.base import ToolOutput, quote
from gre.tools.toolbox import ToolBox

Emit = Callable[[Event], None]


@dataclass
class RunContext:
    """The graph's context (``context_schema``): shared by every run of one Locator."""

    settings: Settings
    backend: VLMBackend
    toolbox: ToolBox
    workdir: Path
    events: Emit | None = None
    """This run's event sink, called in the node's thread. None: nodes write to
    LangGraph's ``custom`` stream instead, which costs the graph a waiter thread per
    step (one run per photo at a time can afford it; a benchmark's hundreds cannot)."""


def emitter(runtime: Any) -> Emit:
    """Where a node's live events go: the run's sink, else LangGraph's custom stream."""
    events: Emit | None = runtime.context.events
    return events if events is not None else runtime.stream_writer


@dataclass
class NodeRecorder:
    """Collects one node run's tool calls, evidence and timing, and emits live events."""

    ctx: RunContext
    state: AgentState
    node: str
    emit: Emit = discard
    tool_calls: list[Record] = field(default_factory=list)
    evidence: list[Record] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    started_at: float = field(default_factory=time.time)
    _t0: float = field(default_factory=time.perf_counter)

    def next_id(self, prefix: str, key: str, pending: int = 0) -> str:
        """A run-unique id like ``e7`` for the next record of state list ``key``."""
        return f"{prefix}{len(self.state.get(key, [])) + pending + 1}"  # type: ignore[arg-type]

    def all_evidence(self) -> list[Evidence]:
        """The run's evidence so far, this node's included (later versions replace earlier)."""
        records = merge_by_id(list(self.state.get("evidence", [])), self.evidence)
        return [Evidence.model_validate(r) for r in records]

    def request(
        self,
        request: ToolRequest,
        *,
        by: str,
        about: str | None = None,
        refuse: str | None = None,
    ) -> tuple[BaseModel | None, Evidence]:
        """Run a request; its outcome always becomes Evidence (failures and refusals too).

        ``refuse`` records the request as failed with that reason without running it
        (over budget); a request the backend could not read (``request.error``) is
        refused the same way.
        """
        call_id = self.next_id("t", "tool_calls", len(self.tool_calls))
        params = self._filled(request)
        self.emit(ToolStart(node=self.node, tool=request.tool, params=params))
        reason = refuse or request.error or self._metadata_refusal(request.tool)
        if reason:
            output, call = None, self._refused(request.tool, params, call_id, reason)
        else:
            output, call = self.ctx.toolbox.call(
                request.tool, params, stage=self.node, call_id=call_id
            )
        evidence = self._evidence(request, call, output, by=by, about=about)
        self.tool_calls.append(call.model_dump(mode="json"))
        self.evidence.append(evidence.model_dump(mode="json"))
        self.emit(ToolDone(node=self.node, call=call, evidence=evidence))
        return output, evidence

    def _filled(self, request: ToolRequest) -> dict[str, Any]:
        """The request's input with the run's own fields set: the photo, the leak terms."""
        params = dict(request.input)
        spec = self.ctx.toolbox.registry.specs.get(request.tool)
        photo = self.state.get("photo")
        if spec is None:
            return params
        cls = spec.cls
        if cls.photo_field and photo:
            original = cls.reads_metadata
            params[cls.photo_field] = self.state["input_path"] if original else photo["work_path"]
        if cls.leak_field:
            terms = list(self.state.get("options", {}).get("leak_terms", []))
            given = params.get(cls.leak_field)
            mine = [str(x) for x in given] if isinstance(given, list) else []
            params[cls.leak_field] = list(dict.fromkeys([*mine, *terms]))
        return params

    def _metadata_refusal(self, name: str) -> str | None:
        spec = self.ctx.toolbox.registry.specs.get(name)
        if spec is not None and spec.cls.reads_metadata and self.ctx.settings.ignore_metadata:
            return f"tool {name!r} reads photo metadata, which this run ignores"
        return None

    def _refused(self, name: str, params: dict[str, Any], call_id: str, reason: str) -> ToolCall:
        return ToolCall(
            id=call_id,
            tool=name,
            stage=self.node,
            params=params,
            ok=False,
            skipped=True,
            error=reason,
            started_at=time.time(),
            duration_ms=0.0,
        )

    def _evidence(
        self,
        request: ToolRequest,
        call: ToolCall,
        output: BaseModel | None,
        *,
        by: str,
        about: str | None,
    ) -> Evidence:
        result: dict[str, Any] = {}
        raw: Any = None
        text = ""
        claims: list[PlaceClaim] = []
        if output is not None:
            result = output.model_dump(mode="json")
            raw = result.pop("raw", None)
            text, claims = self._meaning(request.tool, output)
        return Evidence(
            id=self.next_id("e", "evidence", len(self.evidence)),
            tool=request.tool,
            query=call.params,
            ok=call.ok,
            error=call.error,
            skipped=call.skipped,
            summary=call.summary if call.ok else (call.error or ""),
            text=text,
            claims=claims,
            result=result,
            raw=raw,
            stage=self.node,
            requested_by=by,
            request_id=request.id,
            trust=1.0 if request.confidence is None else request.confidence,
            about=about,
        )

    def _meaning(self, tool: str, output: BaseModel) -> tuple[str, list[PlaceClaim]]:
        """The output's model text and claims; a plugin's failing method is a warning."""
        if not isinstance(output, ToolOutput):
            return quote(output.model_dump_json(exclude={"raw"}))[:2000], []
        try:
            text = output.for_model()
        except Exception as exc:  # a plugin's bug must not end the run
            self.warnings.append(f"{tool}: for_model() failed: {type(exc).__name__}: {exc}")
            text = quote(output.summary())
        try:
            claims = [PlaceClaim.model_validate(c) for c in output.claims()]
        except Exception as exc:
            self.warnings.append(f"{tool}: claims() failed: {type(exc).__name__}: {exc}")
            claims = []
        return text, claims

    def link(
        self, evidence_id: str, *, supports: tuple[str, ...] = (), contradicts: tuple[str, ...] = ()
    ) -> None:
        """Record that evidence ``evidence_id`` supports or contradicts some candidates."""
        target = next((r for r in self.evidence if r["id"] == evidence_id), None)
        if target is None:
            earlier = next(
                (r for r in self.state.get("evidence", []) if r["id"] == evidence_id), None
            )
            if earlier is None:
                return
            target = {
                **earlier,
                "supports": list(earlier["supports"]),
                "contradicts": list(earlier["contradicts"]),
            }
            self.evidence.append(target)
        for key, ids in (("supports", supports), ("contradicts", contradicts)):
            for cid in ids:
                if cid not in target[key]:
                    target[key].append(cid)

    def finish(self, update: dict[str, Any]) -> dict[str, Any]:
        """The node's state update, with its tool calls, evidence, warnings and timing added."""
        timing = NodeTiming(
            node=self.node,
            iteration=int(self.state.get("iteration", 0)),
            started_at=self.started_at,
            duration_ms=(time.perf_counter() - self._t0) * 1000,
        )
        out = dict(update)
        out["tool_calls"] = [*out.get("tool_calls", []), *self.tool_calls]
        out["evidence"] = [*self.evidence, *out.get("evidence", [])]
        out["timings"] = [timing.model_dump(mode="json")]
        if self.warnings:
            out["warnings"] = [*out.get("warnings", []), *self.warnings]
        self.emit(NodeEnd(node=self.node, duration_ms=timing.duration_ms))
        return out
