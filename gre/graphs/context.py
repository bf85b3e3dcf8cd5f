"""What nodes share that is not state: the backend, the tools, and a recorder per node run."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from gre.agent.vlm.base import VLMBackend
from gre.config import Settings
from gre.graphs.state import AgentState, Record
from gre.records import Evidence, NodeTiming
from gre.tools.toolbox import ToolBox

Emit = Callable[[dict[str, Any]], None]


@dataclass
class RunContext:
    """The graph's context (``context_schema``): shared by every run of one Locator."""

    settings: Settings
    backend: VLMBackend
    toolbox: ToolBox
    workdir: Path


def _noop(_: dict[str, Any]) -> None:
    return None


@dataclass
class NodeRecorder:
    """Collects one node run's tool calls, evidence and timing, and emits live events."""

    ctx: RunContext
    state: AgentState
    node: str
    emit: Emit = _noop
    tool_calls: list[Record] = field(default_factory=list)
    evidence: list[Record] = field(default_factory=list)
    started_at: float = field(default_factory=time.time)
    _t0: float = field(default_factory=time.perf_counter)

    def next_id(self, prefix: str, key: str, pending: int = 0) -> str:
        """A run-unique id like ``e7`` for the next record of state list ``key``."""
        return f"{prefix}{len(self.state.get(key, [])) + pending + 1}"  # type: ignore[arg-type]

    def tool(self, name: str, params: dict[str, Any]) -> tuple[BaseModel | None, Evidence]:
        """Call a tool; its outcome always becomes Evidence (failures and skips included)."""
        call_id = self.next_id("t", "tool_calls", len(self.tool_calls))
        self.emit({"event": "tool_start", "node": self.node, "tool": name, "params": params})
        output, call = self.ctx.toolbox.call(name, params, stage=self.node, call_id=call_id)
        result: dict[str, Any] = {}
        raw: Any = None
        if output is not None:
            result = output.model_dump(mode="json")
            raw = result.pop("raw", None)
        evidence = Evidence(
            id=self.next_id("e", "evidence", len(self.evidence)),
            tool=name,
            query=call.params,
            ok=call.ok,
            error=call.error,
            skipped=call.skipped,
            summary=call.summary if call.ok else (call.error or ""),
            result=result,
            raw=raw,
        )
        self.tool_calls.append(call.model_dump(mode="json"))
        self.evidence.append(evidence.model_dump(mode="json"))
        self.emit({"event": "tool", "node": self.node, "call": call.model_dump(mode="json")})
        return output, evidence

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
        """The node's state update, with its tool calls, evidence and timing added."""
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
        self.emit({"event": "node_end", "node": self.node, "duration_ms": timing.duration_ms})
        return out
