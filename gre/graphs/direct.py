"""The direct graph: GRE's single-pass protocol, the baseline (ingest -> answer).

One model call with the photo and GRE's question, free text out, coordinates
read from its ``<answer>``. No tools feed the model; the gazetteer only names
the place the model chose. The run always ends with a prediction (abstained
when there is no model, the call fails or the answer cannot be read), except
for a photo that cannot be opened, which ends at ingest with its error.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from gre.agent.answer import AnswerParseError, ParsedAnswer, parse_coordinates
from gre.agent.prediction import nearest_place
from gre.agent.vlm.base import TextGenerator
from gre.agent.vlm.chat import ChatError, ChatRequest
from gre.agent.vlm.prompts import direct_request
from gre.events import GenerationDone, NodeStart, PredictionMade
from gre.geo import placeholder_point
from gre.graphs.context import NodeRecorder, RunContext, emitter
from gre.graphs.nodes import guarded, ingest
from gre.graphs.state import AgentState
from gre.records import Generation, Prediction

GRAPH_NAME = "gre-direct"
NEEDS_MODEL = "the direct graph needs a model backend (GRE_BACKEND=openai|transformers|vllm)"


def _after_ingest(state: AgentState) -> Literal["answer", "end"]:
    """A photo that could not be opened ends the run with its error."""
    return "end" if state.get("error") else "answer"


def _generate(backend: TextGenerator, model: str | None, request: ChatRequest) -> Generation:
    """One model call, recorded whatever happens (runtimes raise ChatError; a bug is one too)."""
    t0 = time.perf_counter()
    try:
        reply = backend.generate(request)
    except ChatError as exc:
        error = str(exc)
    except Exception as exc:  # a runtime's bug fails the call, not the run
        error = f"{type(exc).__name__}: {exc}"
    else:
        return Generation(
            text=reply.text,
            finish_reason=reply.finish_reason,
            usage=dict(reply.usage),
            latency_ms=reply.latency_ms or (time.perf_counter() - t0) * 1000,
            model=reply.model or model,
        )
    return Generation(
        ok=False, error=error, latency_ms=(time.perf_counter() - t0) * 1000, model=model
    )


def _located(parsed: ParsedAnswer, rec: NodeRecorder) -> Prediction:
    nearest = nearest_place(rec, parsed.lat, parsed.lon)
    return Prediction(
        lat=parsed.lat,
        lon=parsed.lon,
        radius_km=None,
        level="city",
        label=nearest.name if nearest else f"{parsed.lat:.4f}, {parsed.lon:.4f}",
        country_code=nearest.country_code if nearest else None,
        confidence=0.0,  # the protocol states none
        nearest_place=nearest,
        reason=f"GRE single-pass answer (form: {parsed.form})",
    )


def _finish(rec: NodeRecorder, update: dict[str, Any], prediction: Prediction) -> dict[str, Any]:
    update["prediction"] = prediction.model_dump(mode="json")
    rec.emit(PredictionMade(prediction=prediction))
    return rec.finish(update)


@guarded("answer", final=True)
def answer(state: AgentState, *, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Ask the model GRE's question once and read the coordinates from its answer."""
    ctx = runtime.context
    rec = NodeRecorder(ctx, state, "answer", emitter(runtime))
    rec.emit(NodeStart(node="answer"))
    backend = ctx.backend
    if not backend.capabilities.generates_text or not isinstance(backend, TextGenerator):
        return _finish(rec, {}, Prediction(abstained=True, reason=NEEDS_MODEL))
    request = direct_request(
        [Path(state["photo"]["work_path"])],
        max_tokens=ctx.settings.model_max_tokens,
        temperature=ctx.settings.temperature,
    )
    generation = _generate(backend, ctx.backend.model, request)
    dumped = generation.model_dump(mode="json")
    rec.emit(GenerationDone(node="answer", generation=generation))
    update: dict[str, Any] = {"generations": [dumped], "step": int(state.get("step", 0)) + 1}
    if not generation.ok:
        reason = f"the model call failed: {generation.error}"
        return _finish(rec, update, Prediction(abstained=True, reason=reason))
    try:
        parsed = parse_coordinates(generation.text)
    except AnswerParseError as exc:
        reason = f"unparseable answer: {exc}"
        if generation.finish_reason == "length":
            reason += f" (the reply was cut off at {request.max_tokens} tokens)"
        return _finish(rec, update, Prediction(abstained=True, reason=reason))
    if placeholder_point(parsed.lat, parsed.lon):
        reason = f"the model answered {parsed.lat:g}, {parsed.lon:g}, a placeholder, not a place"
        return _finish(rec, update, Prediction(abstained=True, reason=reason))
    return _finish(rec, update, _located(parsed, rec))


def build_direct_graph() -> Any:
    """Compile the direct graph (run it with a RunContext and :func:`recursion_limit`)."""
    graph = StateGraph(AgentState, context_schema=RunContext)
    graph.add_node("ingest", ingest)
    graph.add_node("answer", answer)
    graph.add_edge(START, "ingest")
    graph.add_conditional_edges("ingest", _after_ingest, {"answer": "answer", "end": END})
    graph.add_edge("answer", END)
    return graph.compile(name=GRAPH_NAME)


def recursion_limit(max_steps: int | None = None) -> int:
    """A superstep bound for bugs only: the graph takes 2 (``max_steps`` does not apply)."""
    return 4
