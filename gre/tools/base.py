"""The tool plugin API: a typed Tool base class and the entry-point registry.

A tool is a class with a name, a description written for the model, pydantic
models for its input and output, and a ``run`` method. Built-in tools and
third-party plugins register the same way: an entry point in the group
``gre.tools`` pointing at the class::

    [project.entry-points."gre.tools"]
    my_tool = "my_package.module:MyTool"
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel

from gre.config import Settings
from gre.errors import GreError

if TYPE_CHECKING:
    from gre.tools.support.http import HttpClient

ENTRY_POINT_GROUP = "gre.tools"
_NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")

InT = TypeVar("InT", bound=BaseModel)
OutT = TypeVar("OutT", bound=BaseModel)


class ToolOutput(BaseModel):
    """Base for tool outputs: adds a one-line summary for the live trace."""

    def summary(self) -> str:
        return type(self).__name__


class ToolError(GreError):
    """A tool could not answer this query; the message is shown to the model and the user."""


class ToolUnavailable(ToolError, RuntimeError):
    """A tool cannot run at all here (a missing binary, package, or data)."""


class ToolTimeout(ToolError, TimeoutError):
    """A tool ran past its time limit."""


class ToolDefinitionError(GreError, TypeError):
    """A Tool subclass is declared wrongly (caught when the class is defined)."""


class Tool(ABC, Generic[InT, OutT]):
    """Base class of every tool.

    Subclasses set the class attributes below and implement :meth:`run`. A tool
    is constructed with the run's :class:`~gre.config.Settings` and may keep
    state (an open index, a client) between calls; ``run`` must be safe to call
    from worker threads.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    input_model: ClassVar[type[BaseModel]]
    output_model: ClassVar[type[BaseModel]]
    needs_network: ClassVar[bool] = False
    timeout_s: ClassVar[float | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if getattr(cls, "__abstractmethods__", None):
            return
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not _NAME.match(name):
            raise ToolDefinitionError(
                f"{cls.__qualname__}.name must match {_NAME.pattern}, got {name!r}"
            )
        description = getattr(cls, "description", None)
        if not isinstance(description, str) or len(description.strip()) < 10:
            raise ToolDefinitionError(f"{cls.__qualname__}.description must be a sentence")
        for attr in ("input_model", "output_model"):
            model = getattr(cls, attr, None)
            if not (isinstance(model, type) and issubclass(model, BaseModel)):
                raise ToolDefinitionError(f"{cls.__qualname__}.{attr} must be a pydantic model")

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings if settings is not None else Settings()

    @property
    def http(self) -> HttpClient:
        """The process's shared HTTP client (User-Agent, rate limits, retries, disk cache)."""
        from gre.tools.support.http import shared_client

        return shared_client(self.settings)

    def unavailable_reason(self) -> str | None:
        """Why this tool cannot run here, or None when it can (checked before calls)."""
        return None

    def prepare_note(self) -> str | None:
        """A line to show the user when :meth:`prepare` will be slow this time, else None."""
        return None

    def prepare(self) -> None:
        """Do slow one-time set-up (build an index, load a model) before the first call.

        Called outside any time limit; ``run`` must still work when it was not called.
        """

    @abstractmethod
    def run(self, params: InT) -> OutT:
        """Answer one query. Raise :class:`ToolError` for an answerable failure."""

    def close(self) -> None:
        """Release resources held between calls."""


@dataclass(frozen=True)
class ToolSpec:
    """A registered tool: its class and where it came from."""

    name: str
    cls: type[Tool[Any, Any]]
    package: str
    entry_point: str

    @property
    def needs_network(self) -> bool:
        return self.cls.needs_network

    @property
    def description(self) -> str:
        return self.cls.description


@dataclass
class ToolRegistry:
    """Tools found through the ``gre.tools`` entry points (built-ins included)."""

    specs: dict[str, ToolSpec] = field(default_factory=dict)
    load_errors: list[str] = field(default_factory=list)

    @classmethod
    def discover(cls, group: str = ENTRY_POINT_GROUP) -> ToolRegistry:
        """Load every entry point of ``group``; broken plugins are recorded, not raised."""
        registry = cls()
        for ep in sorted(entry_points(group=group), key=lambda e: e.name):
            registry._load(ep)
        return registry

    def _load(self, ep: EntryPoint) -> None:
        package = ep.dist.name if ep.dist is not None else "?"
        try:
            obj = ep.load()
        except Exception as exc:  # a plugin's import error must not break gre
            self.load_errors.append(f"{ep.name} ({package}): {type(exc).__name__}: {exc}")
            return
        if not (isinstance(obj, type) and issubclass(obj, Tool)):
            self.load_errors.append(f"{ep.name} ({package}): {ep.value} is not a Tool subclass")
            return
        self.register(obj, package=package, entry_point=ep.value)

    def register(
        self, tool_cls: type[Tool[Any, Any]], *, package: str = "?", entry_point: str = ""
    ) -> None:
        """Add a tool class; a second tool with the same name is an error."""
        if tool_cls.name in self.specs:
            other = self.specs[tool_cls.name]
            self.load_errors.append(
                f"{tool_cls.name} ({package}): name already registered by {other.package}"
            )
            return
        self.specs[tool_cls.name] = ToolSpec(tool_cls.name, tool_cls, package, entry_point)

    def names(self) -> list[str]:
        return sorted(self.specs)

    def get(self, name: str) -> ToolSpec:
        try:
            return self.specs[name]
        except KeyError:
            raise KeyError(f"no tool named {name!r}; known: {', '.join(self.names())}") from None
