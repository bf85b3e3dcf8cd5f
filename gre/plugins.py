"""Entry-point registries: backends, graphs and dataset formats (and tools) are plugins.

A plugin is an object named by an entry point of a group (``gre.backends``, ``gre.graphs``,
``gre.datasets``, ``gre.tools``) in any installed distribution's metadata::

    [project.entry-points."gre.graphs"]
    my_graph = "my_package.graphs:MY_GRAPH"

:class:`Registry` loads every entry point of one group. A plugin that fails to import, is
not the kind of object the group holds, or takes a name already taken is recorded as a
one-line load error and left out; it never breaks gre.

gre's own plugins use the same path. They are declared once, in :data:`BUILTIN`, which
``pyproject.toml`` mirrors (a test keeps the two equal); for a group listed there the
registry reads the built-ins from this table and ignores gre-suite's installed metadata,
so an editable install with stale metadata still finds exactly the built-ins of this
checkout. Names can be listed without importing anything (:func:`declared_names`), which is
how the settings validate ``backend`` and ``graph`` and how ``--help`` lists them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Generic, TypeGuard, TypeVar

from gre.errors import GreError

__all__ = [
    "BUILTIN",
    "DISTRIBUTION",
    "Plugin",
    "PluginError",
    "PluginNotFound",
    "Registry",
    "declared",
    "declared_names",
    "is_callable",
    "unknown_name",
]

T = TypeVar("T")

DISTRIBUTION = "gre-suite"
"""The distribution that owns the built-ins (``package`` of every built-in plugin)."""

BUILTIN: Mapping[str, Mapping[str, str]] = {
    "gre.tools": {
        "exif": "gre.tools.exif.tool:ExifTool",
        "ocr": "gre.tools.ocr.tool:OcrTool",
        "text_clues": "gre.tools.text_clues.tool:TextCluesTool",
        "gazetteer": "gre.tools.gazetteer.tool:GazetteerTool",
        "osm": "gre.tools.osm.tool:OsmLocalTool",
        "overpass": "gre.tools.osm.tool:OverpassTool",
        "search": "gre.tools.search.tool:SearchTool",
        "geocode": "gre.tools.geocode:GeocodeTool",
    },
    "gre.backends": {
        "none": "gre.agent.vlm.backends:rules_backend",
        "scripted": "gre.agent.vlm.backends:scripted_backend",
        "openai": "gre.agent.vlm.backends:openai_backend",
        "transformers": "gre.agent.vlm.backends:transformers_backend",
        "vllm": "gre.agent.vlm.backends:vllm_backend",
    },
    "gre.graphs": {
        "staged": "gre.graphs.specs:STAGED",
        "direct": "gre.graphs.specs:DIRECT",
    },
    "gre.datasets": {
        "greval": "gre.eval.datasets_registry:GREVAL",
        "csv": "gre.eval.datasets_registry:CSV",
        "osv5m": "gre.eval.datasets_registry:OSV5M",
        "folder": "gre.eval.datasets_registry:FOLDER",
        "hf": "gre.eval.datasets_registry:HF",
    },
}
"""gre's own entry points, by group, in the order they are registered (pyproject mirrors it)."""


class PluginError(GreError, LookupError):
    """A plugin cannot be found or loaded (one-line message)."""


class PluginNotFound(PluginError, KeyError):
    """No plugin of that name (also a ``KeyError``, with a plain message)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _one_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0][:200] if lines else ""


def declared(group: str) -> list[tuple[EntryPoint, str]]:
    """The group's entry points with the distribution declaring each, built-ins first.

    Built-ins come from :data:`BUILTIN` in table order; every other distribution's entry
    points follow, sorted by name. gre-suite's own installed metadata is skipped for a
    group the table lists (the table is what this checkout ships).
    """
    builtins = BUILTIN.get(group)
    found: list[tuple[EntryPoint, str]] = []
    if builtins is not None:
        for name, value in builtins.items():
            found.append((EntryPoint(name=name, value=value, group=group), DISTRIBUTION))
    others = []
    for ep in entry_points(group=group):
        package = ep.dist.name if ep.dist is not None else "?"
        if builtins is not None and _canonical(package) == DISTRIBUTION:
            continue
        others.append((ep, package))
    found.extend(sorted(others, key=lambda pair: (pair[0].name, pair[1])))
    return found


def declared_names(group: str) -> list[str]:
    """The names the group declares, built-ins first; nothing is imported."""
    names: list[str] = []
    for ep, _ in declared(group):
        if ep.name not in names:
            names.append(ep.name)
    return names


def unknown_name(noun: str, name: str, known: list[str]) -> str:
    """The one-line message for a name that is not registered."""
    return f"unknown {noun} {name!r}; known: {', '.join(known) or 'none'}"


@dataclass(frozen=True)
class Plugin(Generic[T]):
    """One registered object, with where it came from."""

    name: str
    obj: T
    package: str
    entry_point: str = ""

    @property
    def builtin(self) -> bool:
        return self.package == DISTRIBUTION


@dataclass
class Registry(Generic[T]):
    """The plugins of one entry-point group, checked to be the kind of object it holds.

    ``check`` says whether a loaded object is of the group's kind, described by ``kind``
    in errors ("a GraphSpec"). With ``name_of``, an object carries its own name, which
    must equal its entry point's. ``noun`` names the kind in lookups ("graph").
    """

    group: str
    noun: str
    kind: str
    check: Callable[[object], TypeGuard[T]]
    name_of: Callable[[T], str] | None = None
    plugins: dict[str, Plugin[T]] = field(default_factory=dict)
    load_errors: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    @classmethod
    def discover(
        cls,
        group: str,
        *,
        noun: str,
        kind: str,
        check: Callable[[object], TypeGuard[T]],
        name_of: Callable[[T], str] | None = None,
    ) -> Registry[T]:
        """Load every entry point of ``group``; broken plugins are recorded, not raised."""
        registry = cls(group, noun, kind, check, name_of)
        for ep, package in declared(group):
            registry.load(ep, package)
        return registry

    def load(self, ep: EntryPoint, package: str = "?") -> Plugin[T] | None:
        """Import one entry point and register its object; None (and an error) on failure."""
        try:
            obj = ep.load()
        except Exception as exc:  # a plugin's import error must not break gre
            detail = _one_line(f"{type(exc).__name__}: {exc}")
            self._error(ep.name, f"{ep.name} ({package}): {detail}")
            return None
        return self.register(obj, name=ep.name, package=package, entry_point=ep.value)

    def register(
        self,
        obj: object,
        *,
        name: str | None = None,
        package: str = "?",
        entry_point: str = "",
    ) -> Plugin[T] | None:
        """Add an object; a wrong kind, a name mismatch or a taken name is a recorded error."""
        label = name or entry_point or type(obj).__name__
        if not self.check(obj):
            what = entry_point or repr(obj)[:80]
            self._error(label, f"{label} ({package}): {what} is not {self.kind}")
            return None
        own = self.name_of(obj) if self.name_of is not None else None
        if name is None and own is None:
            raise TypeError(f"register() needs a name for {self.noun} objects")
        if name is not None and own is not None and own != name:
            what = entry_point or self.kind
            self._error(name, f"{name} ({package}): {what} is named {own!r}, not {name!r}")
            return None
        key = name if name is not None else str(own)
        if key in self.plugins:
            other = self.plugins[key]
            self.load_errors.append(
                f"{key} ({package}): name already registered by {other.package}"
            )
            return None
        plugin = Plugin(key, obj, package, entry_point)
        self.plugins[key] = plugin
        self.failed.pop(key, None)
        return plugin

    def _error(self, name: str, message: str) -> None:
        self.load_errors.append(message)
        if name not in self.plugins:
            self.failed.setdefault(name, message)

    def names(self) -> list[str]:
        """Registered names, in registration order (built-ins first)."""
        return list(self.plugins)

    def plugin(self, name: str) -> Plugin[T]:
        """The plugin called ``name``; PluginError when it failed to load or is unknown."""
        if name in self.plugins:
            return self.plugins[name]
        if name in self.failed:
            raise PluginError(f"{self.noun} {name!r} failed to load: {self.failed[name]}")
        raise PluginNotFound(unknown_name(self.noun, name, self.names()))

    def get(self, name: str) -> T:
        """The object registered as ``name`` (see :meth:`plugin`)."""
        return self.plugin(name).obj

    def __contains__(self, name: object) -> bool:
        return name in self.plugins

    def __iter__(self) -> Iterator[Plugin[T]]:
        return iter(list(self.plugins.values()))

    def __len__(self) -> int:
        return len(self.plugins)


def is_callable(obj: object) -> TypeGuard[Callable[..., Any]]:
    """A ``check`` for groups whose plugins are factories."""
    return callable(obj)
