"""A model's function calls read as tool requests: every call becomes a request, never an error.

A call that cannot run as it stands (arguments that are not a JSON object, a name
that is empty or not offered, a missing or repeated id) is still a
:class:`~gre.records.ToolRequest`, with ``error`` saying why, so the run records
it as a failed call and the model is told in its next round.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from gre.agent.vlm.chat import FunctionCall
from gre.records import ToolRequest

MAX_CALLS = 16
"""Calls read from one reply; the rest are dropped with a note."""
_LEFTOVER = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.DOTALL)
_NAME = re.compile(r'"name"\s*:\s*"([^"]{1,100})"')


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _arguments(text: str) -> tuple[dict[str, object], str | None]:
    if not text.strip():
        return {}, None  # no arguments: an empty input, as OpenAI clients treat it
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return {}, f"its arguments are not JSON ({exc.msg} at char {exc.pos})"
    if not isinstance(value, dict):
        return {}, f"its arguments are a JSON {type(value).__name__}, not an object"
    return value, None


def requests_from_calls(
    calls: Sequence[FunctionCall], offered: Sequence[str], *, round_: int = 0
) -> tuple[list[ToolRequest], list[str]]:
    """The requests ``calls`` make, each valid or carrying its error; and notes on the reply."""
    notes: list[str] = []
    if len(calls) > MAX_CALLS:
        notes.append(f"{len(calls) - MAX_CALLS} function call(s) over {MAX_CALLS} ignored")
    seen: set[str] = set()
    out: list[ToolRequest] = []
    for i, call in enumerate(calls[:MAX_CALLS]):
        problems: list[str] = []
        if call.problem:
            problems.append(call.problem)
        name = call.name.strip()
        if not name:
            problems.append("it names no function")
        elif name not in offered:
            problems.append(f"no tool named {_clip(name, 60)!r} is offered")
        arguments, bad = _arguments(call.arguments)
        if bad:
            problems.append(bad)
        call_id = _clip(call.id.strip(), 80)
        if not call_id:
            problems.append("it has no call id")
            call_id = f"call_{round_}_{i}"
        elif call_id in seen:
            problems.append(f"its call id {call_id!r} repeats an earlier call's")
            call_id = f"{call_id}#{i}"
        seen.add(call_id)
        out.append(
            ToolRequest(
                tool=_clip(name, 100),
                input=arguments,
                id=call_id,
                error=("function call not usable: " + "; ".join(problems)) if problems else None,
            )
        )
    return out, notes


def leftover_calls(text: str, *, round_: int = 0) -> list[ToolRequest]:
    """Calls the server could not parse and left in the reply's text (``<tool_call>…``).

    vLLM's hermes parser returns the whole text as content, with no tool calls, when a
    call in it is not valid JSON; each such call is a failed request here.
    """
    out: list[ToolRequest] = []
    for i, match in enumerate(_LEFTOVER.finditer(text)):
        name = _NAME.search(match.group(1))
        out.append(
            ToolRequest(
                tool=name.group(1) if name else "",
                id=f"call_{round_}_text_{i}",
                error="function call not usable: the server could not read it "
                "(<tool_call> text left in the reply)",
            )
        )
    return out[:MAX_CALLS]
