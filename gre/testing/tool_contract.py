"""The contract every gre tool keeps, as checks a tool author runs in their own tests.

::

    from gre.testing.tool_contract import check_tool

    def test_my_tool_keeps_the_contract(tmp_path):
        check_tool(MyTool, valid=[{"query": "Paris"}], invalid=[{"query": 3}], cache_dir=tmp_path)

The checks: the class is declared correctly; its input schema can be shown to a
model; every valid input gives an output of the declared model that is JSON,
with a one-line summary; every invalid input gives a failed call with a
one-line error instead of an exception; a network tool is skipped offline
without touching the network; concurrent calls agree with serial ones.
Every built-in tool passes these checks too.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from gre.config import Settings
from gre.errors import GreError
from gre.records import ToolCall
from gre.tools.base import Tool, ToolOutput, ToolRegistry
from gre.tools.toolbox import ToolBox

MAX_SUMMARY = 300


class ContractError(GreError, AssertionError):
    """A tool breaks the contract; the message says how."""


def _fail(tool: str, message: str) -> ContractError:
    return ContractError(f"tool {tool!r}: {message}")


def check_declaration(cls: type[Tool[Any, Any]]) -> None:
    """The class declares a name, a description and models that a model can be shown."""
    name = cls.name
    if not cls.description.strip().endswith((".", ")")):
        raise _fail(name, "the description should be written as sentences for the model")
    schema = cls.input_model.model_json_schema()
    json.dumps(schema)
    if not issubclass(cls.output_model, BaseModel):
        raise _fail(name, "output_model must be a pydantic model")


def _check_output(
    name: str, out: BaseModel | None, call: ToolCall, cls: type[Tool[Any, Any]]
) -> None:
    if out is None:
        raise _fail(name, f"a valid input failed: {call.error}")
    if not isinstance(out, cls.output_model):
        raise _fail(name, f"returned {type(out).__name__}, not {cls.output_model.__name__}")
    json.dumps(out.model_dump(mode="json"))
    if isinstance(out, ToolOutput):
        summary = out.summary()
        if not isinstance(summary, str) or "\n" in summary or len(summary) > MAX_SUMMARY:
            raise _fail(name, f"summary() must be one line of at most {MAX_SUMMARY} characters")


def check_tool(
    cls: type[Tool[Any, Any]],
    *,
    valid: list[dict[str, Any]],
    invalid: list[dict[str, Any]] | None = None,
    cache_dir: Path,
    settings: Settings | None = None,
    deterministic: bool = True,
) -> list[ToolCall]:
    """Run the whole contract; returns the calls made. Raises ContractError on a breach.

    ``settings`` defaults to an offline configuration for local tools and an
    online one (reaching whatever servers the test started) for network tools.
    """
    check_declaration(cls)
    registry = ToolRegistry()
    registry.register(cls, package="(under test)")
    if settings is None:
        settings = Settings(cache_dir=cache_dir, offline=not cls.needs_network)
    box = ToolBox(settings, registry)
    calls: list[ToolCall] = []
    try:
        unavailable = box.tool(cls.name).unavailable_reason()
        if unavailable:
            raise _fail(cls.name, f"unavailable in the contract test: {unavailable}")
        outputs: list[BaseModel] = []
        for i, params in enumerate(valid):
            out, call = box.call(cls.name, params, stage="contract", call_id=f"v{i}")
            _check_output(cls.name, out, call, cls)
            if out is not None:
                outputs.append(out)
            calls.append(call)
        for i, params in enumerate(invalid or []):
            out, call = box.call(cls.name, params, stage="contract", call_id=f"x{i}")
            if call.ok or out is not None:
                raise _fail(cls.name, f"invalid input {params!r} was accepted")
            if not call.error or "\n" in call.error:
                raise _fail(cls.name, "an invalid input must give a one-line error")
            calls.append(call)
        if deterministic and valid:
            with ThreadPoolExecutor(max_workers=4) as pool:
                again = list(
                    pool.map(
                        lambda p: box.call(cls.name, p[1], stage="contract", call_id=f"c{p[0]}")[0],
                        enumerate(valid),
                    )
                )
            for first, second in zip(outputs, again, strict=True):
                if second is None or first.model_dump() != second.model_dump():
                    raise _fail(cls.name, "concurrent calls disagree with serial calls")
    finally:
        box.close()
    if cls.needs_network:
        offline = ToolBox(Settings(cache_dir=cache_dir, offline=True), registry)
        try:
            out, call = offline.call(
                cls.name, valid[0] if valid else {}, stage="contract", call_id="o"
            )
        finally:
            offline.close()
        if not call.skipped or out is not None:
            raise _fail(cls.name, "a network tool must be skipped when offline")
    return calls
