"""The staged graph: ingest, scene, details, semantic, verify, converge, answer (bounded loop)."""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph

from gre.graphs.context import RunContext
from gre.graphs.nodes import answer, converge, ingest, make_stage, verify
from gre.graphs.routing import after_converge, after_ingest
from gre.graphs.state import AgentState

GRAPH_NAME = "gre-staged"


def build_staged_graph() -> Any:
    """Compile the staged reasoning graph (run it with a RunContext and a recursion_limit)."""
    graph = StateGraph(AgentState, context_schema=RunContext)
    graph.add_node("ingest", ingest)
    for stage in ("scene", "details", "semantic"):
        graph.add_node(stage, make_stage(stage))
    graph.add_node("verify", verify)
    graph.add_node("converge", converge)
    graph.add_node("answer", answer)
    graph.add_edge(START, "ingest")
    graph.add_conditional_edges(
        "ingest", after_ingest, {"scene": "scene", "verify": "verify", "end": END}
    )
    graph.add_edge("scene", "details")
    graph.add_edge("details", "semantic")
    graph.add_edge("semantic", "verify")
    graph.add_edge("verify", "converge")
    graph.add_conditional_edges(
        "converge",
        after_converge,
        {"scene": "scene", "details": "details", "semantic": "semantic", "answer": "answer"},
    )
    graph.add_edge("answer", END)
    return graph.compile(name=GRAPH_NAME)


def recursion_limit(max_steps: int) -> int:
    """A superstep bound the step budget never reaches: a hard stop for bugs only.

    The first pass is 7 supersteps (answer included); a loop costs at most 3
    supersteps per stage step (semantic: 3 for 1, details: 4 for 2, scene: 5 for 3).
    """
    return 7 + 3 * max_steps + 4
