"""The ``scripted`` backend: replays queued StageResults (tests, demos, reproducing a run)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gre.agent.vlm.base import BackendCapabilities, StageContext
from gre.errors import GreError
from gre.records import STAGES, Stage, StageResult


class ScriptError(GreError, ValueError):
    """A script file cannot be read as StageResults."""


class ScriptedBackend:
    """Answers each stage with the next scripted result for that stage.

    With ``cycle=True`` a stage's results repeat forever (a model that never
    settles); otherwise an exhausted stage answers an empty result. Every call
    is recorded in ``calls`` as ``(stage, context)``. :meth:`seek` puts each
    stage's place in the script after the results a resumed run already holds.
    """

    name = "scripted"
    capabilities = BackendCapabilities(generates_text=False)

    def __init__(
        self, results: Iterable[StageResult], *, cycle: bool = False, model: str | None = None
    ) -> None:
        self.model = model
        self.cycle = cycle
        self._script: dict[Stage, list[StageResult]] = {s: [] for s in STAGES}
        for result in results:
            self._script[result.stage].append(result)
        self._next: dict[Stage, int] = dict.fromkeys(STAGES, 0)
        self.calls: list[tuple[Stage, StageContext]] = []

    def seek(self, done: Iterable[Mapping[str, Any]]) -> None:
        """Continue after ``done``, the stage records a run already holds (its ``stages``).

        Each record used one scripted result of its stage, so a case resumed in a new
        process goes on where the script was instead of replaying it from the start.
        """
        counts = Counter(str(rec.get("stage")) for rec in done)
        self._next = {s: counts.get(s, 0) for s in STAGES}

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
        script, i = self._script[stage], self._next[stage]
        self._next[stage] = i + 1
        if self.cycle and script:
            i %= len(script)
        if i >= len(script):
            return StageResult(stage=stage, backend=self.name, summary="script exhausted")
        return script[i].model_copy(update={"backend": self.name}, deep=True)

    def prepare(self) -> str | None:
        return None

    def close(self) -> None:
        return None
