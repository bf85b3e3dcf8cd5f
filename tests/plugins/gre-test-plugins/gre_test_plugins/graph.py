"""``one_shot_test``: a graph of one node that answers Reykjavik without looking."""

from __future__ import annotations

import time
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from gre.graphs.context import RunContext
from gre.graphs.specs import GraphSpec
from gre.graphs.state import AgentState
from gre.records import NodeTiming, Prediction

LABEL = "Reykjavik (one_shot_test)"


def one_shot(state: AgentState, *, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Answer at once, saying which backend the run was given."""
    t0 = time.perf_counter()
    prediction = Prediction(
        lat=64.1466,
        lon=-21.9426,
        level="city",
        label=LABEL,
        country_code="IS",
        confidence=0.5,
        reason="one_shot_test always answers Reykjavik",
    )
    timing = NodeTiming(
        node="one_shot",
        iteration=0,
        started_at=time.time(),
        duration_ms=(time.perf_counter() - t0) * 1000,
    )
    return {
        "prediction": prediction.model_dump(mode="json"),
        "warnings": [f"one_shot_test ran with backend {runtime.context.backend.name}"],
        "timings": [timing.model_dump(mode="json")],
        "step": 1,
    }


def build() -> Any:
    graph = StateGraph(AgentState, context_schema=RunContext)
    graph.add_node("one_shot", one_shot)
    graph.add_edge(START, "one_shot")
    graph.add_edge("one_shot", END)
    return graph.compile(name="one-shot-test")


ONE_SHOT = GraphSpec(
    name="one_shot_test",
    build=build,
    recursion_limit=lambda max_steps: 3,
    description="one node that answers Reykjavik (a test plugin)",
)
