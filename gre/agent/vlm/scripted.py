"""The ``scripted`` backend: replays queued StageResults (tests, demos, reproducing a run)."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gre.agent.vlm.base import BackendCapabilities, StageContext
from gre.errors import GreError
from gre.records import STAGES, Stage, StageResult


class ScriptError(GreError, ValueError):
    """A script file cannot be read as StageResults."""


class ScriptedBackend:
    """Answers each stage with the next queued result for that stage.

    With ``cycle=True`` a stage's queue repeats forever (a model that never
    settles); otherwise an exhausted stage answers an empty result. Every call
    is recorded in ``calls`` as ``(stage, context)``.
    """

    name = "scripted"
    capabilities = BackendCapabilities(generates_text=False)

    def __init__(
        self, results: Iterable[StageResult], *, cycle: bool = False, model: str | None = None
    ) -> None:
        self.model = model
        self.cycle = cycle
        self._queues: dict[Stage, deque[StageResult]] = {s: deque() for s in STAGES}
        for result in results:
            self._queues[result.stage].append(result)
        self.calls: list[tuple[Stage, StageContext]] = []

    @classmethod
    def from_file(cls, path: Path, *, cycle: bool = False) -> ScriptedBackend:
        """Load a JSON list of StageResult objects."""
        try:
            data: Any = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ScriptError(f"{path}: cannot read script ({exc.strerror or exc})") from None
        except json.JSONDecodeError as exc:
            raise ScriptError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
        except UnicodeDecodeError:
            raise ScriptError(f"{path}: not UTF-8 text") from None
        return cls.from_data(data, cycle=cycle, where=str(path))

    @classmethod
    def from_data(cls, data: Any, *, cycle: bool = False, where: str = "script") -> ScriptedBackend:
        """A backend from parsed JSON: a list of StageResult objects (``tool_requests`` too)."""
        if not isinstance(data, list):
            raise ScriptError(f"{where}: a script is a JSON list of stage results")
        try:
            return cls([StageResult.model_validate(item) for item in data], cycle=cycle)
        except ValidationError as exc:
            first = exc.errors()[0]
            at = ".".join(str(p) for p in first.get("loc", ()))
            raise ScriptError(f"{where}: invalid stage result at {at}: {first['msg']}") from None

    def propose(self, stage: Stage, images: Sequence[Path], context: StageContext) -> StageResult:
        self.calls.append((stage, context))
        queue = self._queues[stage]
        if not queue:
            return StageResult(stage=stage, backend=self.name, summary="script exhausted")
        result = queue.popleft()
        if self.cycle:
            queue.append(result)
        return result.model_copy(update={"backend": self.name}, deep=True)

    def prepare(self) -> str | None:
        return None

    def close(self) -> None:
        return None
