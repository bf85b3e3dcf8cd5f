"""The staged graph: ingest, scene, details, semantic, verify, converge, answer (bounded loop).

One builder wires it for both uses: the plain graph, and the interactive review's, which
passes :class:`Pauses` to put a pause node after each reasoning stage and before the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Literal

from langgraph.graph import END, START, StateGraph

from gre.graphs.context import RunContext
from gre.graphs.nodes import Node, answer, converge, ingest, make_stage, verify
from gre.graphs.routing import after_converge, after_ingest
from gre.graphs.state import AgentState
from gre.records import Stage

GRAPH_NAME = "gre-staged"
STAGES: tuple[Stage, ...] = ("scene", "details", "semantic")
PAUSE_AT = (*STAGES, "answer")
"""Where a paused graph stops: after each reasoning stage, and before the answer."""
PAUSE_PREFIX = "review_"
"""A pause node's name is the prefix and where it pauses (``review_semantic``)."""
_ONWARD = {"scene": "details", "details": "semantic", "semantic": "verify", "answer": "answer"}
_BACK = ("semantic", "verify")

PauseRoute = Literal["again", "on", "semantic", "verify"]
"""Where a pause leads: itself again, on (as the plain graph goes), or back to semantic or
verify (so that what the analyst added there is read before the answer)."""


def _same(node: Node) -> Node:
    return node


@dataclass(frozen=True)
class Pauses:
    """What a paused graph adds to the staged wiring.

    ``node(at)`` makes the pause at ``at`` (a stage, or ``"answer"``: before it);
    ``route(at)`` is its router; ``wrap`` is applied to verify and converge.
    """

    node: Callable[[str], Node]
    route: Callable[[str], Callable[[AgentState], PauseRoute]]
    wrap: Callable[[Node], Node] = _same


def build_staged_graph(
    pauses: Pauses | None = None, *, checkpointer: Any = None, name: str = GRAPH_NAME
) -> Any:
    """Compile the staged reasoning graph (run it with a RunContext and a recursion_limit).

    With ``pauses``, each stage and converge's answer route lead to a pause node first.
    """
    wrap = pauses.wrap if pauses is not None else _same
    graph = StateGraph(AgentState, context_schema=RunContext)
    graph.add_node("ingest", ingest)
    for stage in STAGES:
        graph.add_node(stage, make_stage(stage))
    graph.add_node("verify", wrap(verify))
    graph.add_node("converge", wrap(converge))
    graph.add_node("answer", answer)
    after = dict(_ONWARD)  # where each stage, and converge's answer route, lead
    if pauses is not None:
        for at in PAUSE_AT:
            pause = PAUSE_PREFIX + at
            graph.add_node(pause, pauses.node(at))
            targets: dict[Hashable, str] = {"again": pause, "on": _ONWARD[at]}
            targets.update({n: n for n in _BACK})
            graph.add_conditional_edges(pause, pauses.route(at), targets)
            after[at] = pause
    graph.add_edge(START, "ingest")
    graph.add_conditional_edges(
        "ingest", after_ingest, {"scene": "scene", "verify": "verify", "end": END}
    )
    for stage in STAGES:
        graph.add_edge(stage, after[stage])
    graph.add_edge("verify", "converge")
    graph.add_conditional_edges(
        "converge",
        after_converge,
        {"scene": "scene", "details": "details", "semantic": "semantic", "answer": after["answer"]},
    )
    graph.add_edge("answer", END)
    return graph.compile(name=name, checkpointer=checkpointer)


def recursion_limit(max_steps: int) -> int:
    """A superstep bound the step budget never reaches: a hard stop for bugs only.

    The first pass is 7 supersteps (answer included); a loop costs at most 3
    supersteps per stage step (semantic: 3 for 1, details: 4 for 2, scene: 5 for 3).
    """
    return 7 + 3 * max_steps + 4
