"""One error root: every gre exception is a GreError; leaves keep their stdlib kind."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import gre
from gre.errors import GreError


def _exception_classes() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(gre.__path__, prefix="gre."):
        if info.name.endswith(".__main__"):  # runs the command line when imported
            continue
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__.startswith("gre."):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return list(found.values())


def test_every_gre_exception_is_a_gre_error() -> None:
    classes = _exception_classes()
    assert len(classes) >= 20
    outside = [f"{c.__module__}.{c.__qualname__}" for c in classes if not issubclass(c, GreError)]
    assert outside == []


def test_leaves_keep_their_stdlib_kind() -> None:
    from gre.agent.answer import AnswerParseError
    from gre.agent.vlm import BackendError
    from gre.agent.vlm.chat import ChatError
    from gre.eval.datasets import DatasetError
    from gre.ingest.photo import PhotoError
    from gre.testing.tool_contract import ContractError
    from gre.tools.base import ToolDefinitionError, ToolError, ToolTimeout, ToolUnavailable
    from gre.tools.osm.overpass import OverpassRuntimeError
    from gre.tools.support.http import HttpError, RateLimited

    kinds: list[tuple[type[BaseException], type[BaseException]]] = [
        (PhotoError, ValueError),
        (DatasetError, ValueError),
        (AnswerParseError, ValueError),
        (ToolTimeout, TimeoutError),
        (ToolUnavailable, RuntimeError),
        (ToolDefinitionError, TypeError),
        (OverpassRuntimeError, RuntimeError),
        (HttpError, OSError),
        (RateLimited, OSError),
        (BackendError, RuntimeError),
        (ChatError, RuntimeError),
        (ContractError, AssertionError),
    ]
    for cls, kind in kinds:
        assert issubclass(cls, GreError) and issubclass(cls, kind), cls
    assert issubclass(ToolUnavailable, ToolError) and issubclass(RateLimited, HttpError)
    assert str(HttpError("host failed")) == "host failed"
