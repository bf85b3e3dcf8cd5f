"""Graphs by entry point (group ``gre.graphs``): what a graph plugin declares, and the built-ins.

A graph plugin names a :class:`GraphSpec`::

    [project.entry-points."gre.graphs"]
    my_graph = "my_package.graph:MY_GRAPH"

with ``MY_GRAPH = GraphSpec(name="my_graph", build=..., recursion_limit=..., ...)``. The
:class:`~gre.graphs.locator.Locator` compiles ``build()`` once and runs it with a
:class:`~gre.graphs.context.RunContext` as context, an :class:`~gre.graphs.state.AgentState`
as input and ``recursion_limit(settings.max_steps)``; the final state becomes the Trace.
This module imports no LangGraph: the built-ins' builders import their graphs when called,
so listing graphs stays cheap.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeGuard

from gre.plugins import Registry

GROUP = "gre.graphs"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True)
class GraphSpec:
    """A graph the Locator can run.

    ``build`` returns a compiled LangGraph graph; ``recursion_limit`` maps the step budget
    (``max_steps``) to the superstep bound passed on every run; ``needs_text_model`` says
    the graph needs a backend that generates free text (``generate``), not only proposals.
    """

    name: str
    build: Callable[[], Any]
    recursion_limit: Callable[[int], int]
    description: str
    needs_text_model: bool = False

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"graph name must match {_NAME.pattern}, got {self.name!r}")
        if "\n" in self.description:
            raise ValueError(f"graph {self.name!r}: the description is one line")


def _is_spec(obj: object) -> TypeGuard[GraphSpec]:
    return isinstance(obj, GraphSpec)


def graph_registry() -> Registry[GraphSpec]:
    """Every graph installed (built-ins first); broken ones are load errors."""
    return Registry.discover(
        GROUP, noun="graph", kind="a GraphSpec", check=_is_spec, name_of=lambda s: s.name
    )


# --- the built-ins (named in gre.plugins.BUILTIN and pyproject.toml) ----------------------


def _build_staged() -> Any:
    from gre.graphs.staged import build_staged_graph

    return build_staged_graph()


def _staged_limit(max_steps: int) -> int:
    from gre.graphs.staged import recursion_limit

    return recursion_limit(max_steps)


def _build_direct() -> Any:
    from gre.graphs.direct import build_direct_graph

    return build_direct_graph()


def _direct_limit(max_steps: int) -> int:
    from gre.graphs.direct import recursion_limit

    return recursion_limit(max_steps)


STAGED = GraphSpec(
    name="staged",
    build=_build_staged,
    recursion_limit=_staged_limit,
    description="scene, details, semantic, verify, converge; loops while candidates disagree",
)
DIRECT = GraphSpec(
    name="direct",
    build=_build_direct,
    recursion_limit=_direct_limit,
    description="GRE's single pass: one generation, <think>...</think><answer>lat, lon</answer>",
    needs_text_model=True,
)
