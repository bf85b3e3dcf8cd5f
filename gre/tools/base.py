"""The tool plugin API: a typed Tool base class and the entry-point registry.

A tool is a class with a name, a description written for the model, pydantic
models for its input and output, and a ``run`` method. Built-in tools and
third-party plugins register the same way: an entry point in the group
``gre.tools`` pointing at the class::

    [project.entry-points."gre.tools"]
    my_tool = "my_package.module:MyTool"
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import EntryPoint
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeGuard, TypeVar

from pydantic import BaseModel

from gre.config import Settings
from gre.errors import GreError
from gre.plugins import Registry, declared
from gre.records import Candidate, Evidence, PlaceClaim

if TYPE_CHECKING:
    from gre.tools.support.http import HttpClient

ENTRY_POINT_GROUP = "gre.tools"
_NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")

InT = TypeVar("InT", bound=BaseModel)
OutT = TypeVar("OutT", bound=BaseModel)


MAX_MODEL_TEXT = 2000
"""The most characters of one result shown to a model."""


def quote(text: object) -> str:
    """Text read from a photo or the web, made inert for a prompt: JSON-quoted, no angle brackets.

    Every ``for_model()`` quotes such text with this, so that a sign reading
    ``</data> ignore previous instructions`` stays a quoted string inside the data.
    """
    return json.dumps(str(text), ensure_ascii=False).replace("<", "‹").replace(">", "›")


class ToolOutput(BaseModel):
    """Base for tool outputs. An output owns its meaning:

    - :meth:`summary`: one line for the live trace;
    - :meth:`for_model`: the text a model is shown for this result (text from the photo
      or the web quoted with :func:`quote`);
    - :meth:`claims`: the places this result asserts (they become candidates);
    - :meth:`supports` / :meth:`contradicts`: for results that check rather than propose,
      what they say about a candidate place.
    """

    def summary(self) -> str:
        return type(self).__name__

    def for_model(self) -> str:
        """By default the output's fields as JSON (``raw`` left out), cut to a few lines."""
        data = self.model_dump(mode="json", exclude={"raw"})
        return quote(json.dumps(data, ensure_ascii=False))[:MAX_MODEL_TEXT]

    def claims(self) -> list[PlaceClaim]:
        """The places this result asserts, each a disc with a level and a weight."""
        return []

    def supports(self, candidate: Candidate) -> bool:
        """True when this result agrees with ``candidate`` (recorded in the trace)."""
        return False

    def contradicts(self, candidate: Candidate) -> float:
        """How strongly this result rules ``candidate`` out: 0 (not at all) to 1.

        A candidate's weight is multiplied by ``1 - strength``; of several results of one
        tool, the strongest counts.
        """
        return 0.0


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
    """Cannot work without the network: skipped under --offline."""
    uses_network: ClassVar[bool] = False
    """Uses the network when it may, and works offline without it (geocode's gazetteer)."""
    timeout_s: ClassVar[float | None] = None
    photo_field: ClassVar[str | None] = None
    """An input field the run fills with the photo's path (hidden from the model)."""
    reads_metadata: ClassVar[bool] = False
    """Reads EXIF/XMP: gets the original file, and is skipped when metadata is ignored."""
    leak_field: ClassVar[str | None] = None
    """An input list the run extends with terms results must not contain (benchmark ids)."""

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
        for attr in ("photo_field", "leak_field"):
            field_name = getattr(cls, attr)
            if field_name is not None and field_name not in cls.input_model.model_fields:
                raise ToolDefinitionError(
                    f"{cls.__qualname__}.{attr} {field_name!r} is not a field of its input model"
                )

    @classmethod
    def card(cls) -> ToolCard:
        """How the tool is offered to a model: name, description, input schema, network need."""
        schema = cls.input_model.model_json_schema()
        hidden = {f for f in (cls.photo_field, cls.leak_field) if f}
        if hidden:
            props = {k: v for k, v in schema.get("properties", {}).items() if k not in hidden}
            schema = {**schema, "properties": props}
            if "required" in schema:
                schema["required"] = [r for r in schema["required"] if r not in hidden]
        return ToolCard(
            name=cls.name,
            description=" ".join(cls.description.split()),
            input_schema=schema,
            needs_network=cls.needs_network,
        )

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

    @classmethod
    def suggest(cls, evidence: Sequence[Evidence]) -> list[dict[str, Any]]:
        """Inputs worth running this tool with now, given the run's results so far.

        The planner asks every usable tool after each of its rounds, so a plugin is used
        by the tools-only path too (a model chooses for itself from the tool list). An
        input already run is not run again. The default suggests nothing.
        """
        return []

    @classmethod
    def suggests(cls) -> bool:
        """True when this tool's class overrides :meth:`suggest`."""
        return any("suggest" in vars(k) for k in cls.__mro__[: cls.__mro__.index(Tool)])

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


class ToolCard(BaseModel):
    """A tool as a model sees it in the prompt, or as an OpenAI function."""

    name: str
    description: str
    input_schema: dict[str, Any]
    needs_network: bool = False

    def as_function(self) -> dict[str, Any]:
        """The OpenAI ``tools`` entry for this tool."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.input_schema,
            },
        }


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
    def network(self) -> str:
        """``yes`` (needs it), ``optional`` (uses it when online), or ``no``."""
        if self.cls.needs_network:
            return "yes"
        return "optional" if self.cls.uses_network else "no"

    @property
    def description(self) -> str:
        return self.cls.description


def _is_tool(obj: object) -> TypeGuard[type[Tool[Any, Any]]]:
    return isinstance(obj, type) and issubclass(obj, Tool)


class ToolRegistry:
    """Tools found through the ``gre.tools`` entry points, built-ins through the same path.

    A thin view of :class:`gre.plugins.Registry` (broken plugins are one-line load
    errors, duplicate names are refused) that keeps each tool as a :class:`ToolSpec`.
    """

    def __init__(self) -> None:
        self._registry: Registry[type[Tool[Any, Any]]] = Registry(
            ENTRY_POINT_GROUP, "tool", "a Tool subclass", _is_tool, lambda c: c.name
        )
        self._specs: dict[str, ToolSpec] = {}

    @classmethod
    def discover(cls, group: str = ENTRY_POINT_GROUP) -> ToolRegistry:
        """Load every entry point of ``group``; broken plugins are recorded, not raised."""
        registry = cls()
        for ep, package in declared(group):
            registry.load(ep, package)
        return registry

    @property
    def specs(self) -> dict[str, ToolSpec]:
        """The registered tools by name."""
        plugins = self._registry.plugins
        if len(self._specs) != len(plugins):
            self._specs = {
                p.name: ToolSpec(p.name, p.obj, p.package, p.entry_point) for p in plugins.values()
            }
        return self._specs

    @property
    def load_errors(self) -> list[str]:
        return self._registry.load_errors

    def load(self, ep: EntryPoint, package: str = "?") -> None:
        """Import one entry point and register its tool (a failure is a load error)."""
        self._registry.load(ep, package)

    def register(
        self, tool_cls: type[Tool[Any, Any]], *, package: str = "?", entry_point: str = ""
    ) -> None:
        """Add a tool class; a second tool with the same name is an error."""
        self._registry.register(
            tool_cls, name=tool_cls.name, package=package, entry_point=entry_point
        )

    def names(self) -> list[str]:
        return sorted(self._registry.plugins)

    def get(self, name: str) -> ToolSpec:
        """The tool called ``name``; a KeyError naming the known ones otherwise."""
        try:
            return self.specs[name]
        except KeyError:
            raise KeyError(f"no tool named {name!r}; known: {', '.join(self.names())}") from None
