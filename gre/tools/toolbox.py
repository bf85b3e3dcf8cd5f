"""Calling tools safely: validation, offline rules, time limits, and a record of each call."""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from pydantic import BaseModel, ValidationError

from gre.config import Settings
from gre.records import ToolCall
from gre.tools.base import (
    Tool,
    ToolError,
    ToolOutput,
    ToolRegistry,
    ToolTimeout,
    ToolUnavailable,
)


class ToolBox:
    """The tools of one process: created lazily, shared by every run, closed together.

    ``call`` never raises for a tool's failure: validation errors, tool errors,
    time-outs, offline skips and unexpected exceptions all come back as a
    :class:`ToolCall` with ``ok=False`` and the error in one line.
    """

    def __init__(self, settings: Settings, registry: ToolRegistry | None = None) -> None:
        self.settings = settings
        self.registry = registry if registry is not None else ToolRegistry.discover()
        self._instances: dict[str, Tool[Any, Any]] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="gre-tool")

    def skip_reason(self, name: str) -> str | None:
        """Why ``name`` will not run in this configuration, or None."""
        if name not in self.registry.specs:
            return f"tool {name!r} is not installed"
        if name in self.settings.disabled_tools:
            return f"tool {name!r} is disabled in the configuration"
        if self.settings.offline and self.registry.specs[name].needs_network:
            return f"tool {name!r} needs the network and the run is offline"
        return None

    def usable(self, name: str) -> bool:
        """True when ``name`` would run now (installed, allowed, and able to run here)."""
        if self.skip_reason(name) is not None:
            return False
        try:
            return self.tool(name).unavailable_reason() is None
        except Exception:  # a tool that cannot even be built is not usable
            return False

    def tool(self, name: str) -> Tool[Any, Any]:
        """The shared instance of ``name`` (constructed on first use)."""
        with self._lock:
            if name not in self._instances:
                self._instances[name] = self.registry.get(name).cls(self.settings)
            return self._instances[name]

    def prepare(self, name: str, on_note: Callable[[str], None] | None = None) -> str | None:
        """Run ``name``'s one-time set-up; returns the error in one line, or None."""
        if self.skip_reason(name):
            return None
        try:
            tool = self.tool(name)
            if tool.unavailable_reason() is None:
                note = tool.prepare_note()
                if note and on_note:
                    on_note(note)
                tool.prepare()
        except Exception as exc:  # the call itself will report the failure again
            return f"{name}: {type(exc).__name__}: {exc}"
        return None

    def call(
        self, name: str, params: dict[str, Any] | BaseModel, *, stage: str, call_id: str
    ) -> tuple[BaseModel | None, ToolCall]:
        """Run one tool call and describe what happened."""
        started = time.time()
        t0 = time.perf_counter()
        raw_params = params.model_dump(mode="json") if isinstance(params, BaseModel) else params

        def record(
            ok: bool, *, error: str | None = None, skipped: bool = False, summary: str = ""
        ) -> ToolCall:
            return ToolCall(
                id=call_id,
                tool=name,
                stage=stage,
                params=raw_params,
                ok=ok,
                skipped=skipped,
                error=error,
                summary=summary,
                started_at=started,
                duration_ms=(time.perf_counter() - t0) * 1000,
            )

        reason = self.skip_reason(name)
        if reason:
            return None, record(False, error=reason, skipped=True)
        try:
            tool = self.tool(name)
            unavailable = tool.unavailable_reason()
            if unavailable:
                raise ToolUnavailable(unavailable)
            parsed = tool.input_model.model_validate(raw_params)
            output = self._run_with_timeout(tool, parsed)
            if not isinstance(output, tool.output_model):
                output = tool.output_model.model_validate(output)
        except ToolUnavailable as exc:
            return None, record(False, error=str(exc), skipped=True)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "input"
            return None, record(False, error=f"invalid input for {name}: {where}: {first['msg']}")
        except ToolError as exc:
            return None, record(False, error=str(exc) or type(exc).__name__)
        except Exception as exc:  # a tool's bug must not end the run
            return None, record(False, error=f"{type(exc).__name__}: {exc}")
        return output, record(True, summary=_summary(output))

    def _run_with_timeout(self, tool: Tool[Any, Any], params: BaseModel) -> BaseModel:
        limit = tool.timeout_s or self.settings.tool_timeout_s
        # the worker runs in a copy of the caller's context: the photo's network budget holds
        future = self._pool.submit(contextvars.copy_context().run, tool.run, params)
        try:
            result: BaseModel = future.result(timeout=limit)
        except FutureTimeout:
            future.cancel()
            raise ToolTimeout(f"{tool.name} timed out after {limit:g} s") from None
        return result

    def close(self) -> None:
        """Close every tool that was created and stop the worker threads."""
        with self._lock:
            for tool in self._instances.values():
                with contextlib.suppress(Exception):  # closing is best effort
                    tool.close()
            self._instances.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)


def _summary(output: BaseModel) -> str:
    if isinstance(output, ToolOutput):
        return output.summary()
    return output.__class__.__name__
