"""The plugin API: declaring tools, the registry, and safe calls through the ToolBox."""

import time
from importlib.metadata import EntryPoint
from typing import ClassVar

import pytest
from pydantic import BaseModel

from gre.config import Settings
from gre.tools.base import (
    Tool,
    ToolDefinitionError,
    ToolError,
    ToolOutput,
    ToolRegistry,
    ToolUnavailable,
)
from gre.tools.toolbox import ToolBox


class EchoIn(BaseModel):
    text: str
    delay: float = 0.0
    fail: str | None = None


class EchoOut(ToolOutput):
    text: str

    def summary(self) -> str:
        return f"echo {self.text}"


class Echo(Tool[EchoIn, EchoOut]):
    name: ClassVar[str] = "echo"
    description: ClassVar[str] = "Repeat the text it is given (a test tool)."
    input_model: ClassVar[type[BaseModel]] = EchoIn
    output_model: ClassVar[type[BaseModel]] = EchoOut
    timeout_s: ClassVar[float | None] = 0.3

    def run(self, params: EchoIn) -> EchoOut:
        time.sleep(params.delay)
        if params.fail == "tool":
            raise ToolError("no echo here")
        if params.fail == "bug":
            raise ZeroDivisionError("division by zero")
        if params.fail == "unavailable":
            raise ToolUnavailable("echo chamber closed")
        return EchoOut(text=params.text)


class WebEcho(Echo):
    name: ClassVar[str] = "web_echo"
    needs_network: ClassVar[bool] = True


def _box(**settings: object) -> ToolBox:
    registry = ToolRegistry()
    registry.register(Echo, package="tests")
    registry.register(WebEcho, package="tests")
    return ToolBox(Settings(**settings), registry)  # type: ignore[arg-type]


def test_definition_is_validated_when_the_class_is_made() -> None:
    with pytest.raises(ToolDefinitionError, match="name"):

        class BadName(Echo):
            name: ClassVar[str] = "Bad Name"

    with pytest.raises(ToolDefinitionError, match="description"):

        class NoDescription(Echo):
            name: ClassVar[str] = "quiet"
            description: ClassVar[str] = ""

    with pytest.raises(ToolDefinitionError, match="input_model"):

        class NoModel(Echo):
            name: ClassVar[str] = "nomodel"
            input_model = dict  # type: ignore[assignment]


def test_registry_discovers_builtins_and_survives_broken_plugins() -> None:
    registry = ToolRegistry.discover()
    assert {"exif", "ocr", "text_clues", "gazetteer"} <= set(registry.names())
    assert registry.get("exif").package == "gre-suite"
    registry.load(EntryPoint("ghost", "no_such_module:Ghost", "gre.tools"))
    registry.load(EntryPoint("notatool", "json:dumps", "gre.tools"))
    assert any("ghost" in e and "ModuleNotFoundError" in e for e in registry.load_errors)
    assert any("notatool" in e and "not a Tool subclass" in e for e in registry.load_errors)
    registry.register(Echo, package="a")
    registry.register(Echo, package="b")
    assert registry.get("echo").package == "a"
    assert any("already registered" in e for e in registry.load_errors)
    with pytest.raises(KeyError, match="no tool named"):
        registry.get("nope")


def test_calls_succeed_and_are_recorded() -> None:
    box = _box()
    out, call = box.call("echo", {"text": "hi"}, stage="details", call_id="t1")
    assert isinstance(out, EchoOut) and out.text == "hi"
    assert call.ok and call.summary == "echo hi" and call.duration_ms >= 0
    assert call.params == {"text": "hi"}
    box.close()


@pytest.mark.parametrize(
    ("params", "skipped", "message"),
    [
        ({"text": "x", "fail": "tool"}, False, "no echo here"),
        ({"text": "x", "fail": "bug"}, False, "ZeroDivisionError: division by zero"),
        ({"text": "x", "fail": "unavailable"}, True, "echo chamber closed"),
        ({"text": "x", "delay": 2.0}, False, "echo timed out after 0.3 s"),
        ({"delay": 0}, False, "invalid input for echo: text: Field required"),
    ],
)
def test_failures_become_one_line_errors(
    params: dict[str, object], skipped: bool, message: str
) -> None:
    box = _box()
    out, call = box.call("echo", params, stage="details", call_id="t1")
    assert out is None and not call.ok
    assert call.skipped is skipped
    assert call.error == message
    box.close()


def test_offline_disabled_and_missing_tools_are_skipped() -> None:
    box = _box(offline=True, disabled_tools=["echo"])
    _, call = box.call("web_echo", {"text": "x"}, stage="semantic", call_id="t1")
    assert call.skipped and "needs the network" in (call.error or "")
    _, call = box.call("echo", {"text": "x"}, stage="semantic", call_id="t2")
    assert call.skipped and "disabled" in (call.error or "")
    _, call = box.call("ghost", {}, stage="semantic", call_id="t3")
    assert call.skipped and "not installed" in (call.error or "")
    assert _box().skip_reason("web_echo") is None
