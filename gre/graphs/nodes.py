"""The staged graph's nodes: thin wrappers that read the state, call the agent, write updates.

What to request, how claims become candidates, when to loop and how to word the answer
are the agent's (``gre.agent``: planner, stage, verify, converge, loop, prediction);
nodes name no tool.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from langgraph.runtime import Runtime

from gre.agent.converge import fuse
from gre.agent.echoes import flag_echoes, placeholders
from gre.agent.evidence import ocr_text
from gre.agent.executor import Executor, HintedExecutor
from gre.agent.hints import hints_of, rule_out, ruled_out_all
from gre.agent.loop import Decision, LoopFacts, decide
from gre.agent.planner import RunView, Suggest, can_reread, plan
from gre.agent.prediction import predict
from gre.agent.stage import StageVisit
from gre.agent.verify import Ids, checked, checks_candidates, claimed, ground, merge_repeats
from gre.agent.vlm.base import StageContext, ToolExchange
from gre.events import (
    CandidatesMade,
    Failed,
    LoopBack,
    NodeStart,
    Note,
    PhotoReady,
    PredictionMade,
    StageDone,
    Warned,
)
from gre.graphs.context import NodeRecorder, RunContext, emitter
from gre.graphs.state import AgentState
from gre.ingest.photo import PhotoError, prepare_photo
from gre.records import (
    Candidate,
    Clue,
    Evidence,
    Hints,
    Hypothesis,
    PhotoInfo,
    Prediction,
    Stage,
    StageResult,
)
from gre.tools.base import ToolOutput


class Node(Protocol):
    """A node function as LangGraph calls it (the runtime is passed by keyword)."""

    __name__: str

    def __call__(self, state: AgentState, *, runtime: Runtime[RunContext]) -> dict[str, Any]: ...


def guarded(
    name: str, *, counts_as_step: bool = False, final: bool = False
) -> Callable[[Node], Node]:
    """A node that fails records a warning instead of ending the run.

    A ``final`` node (the one that answers) that fails still ends the run, with an
    abstained prediction that names the failure.
    """

    def wrap(fn: Node) -> Node:
        @functools.wraps(fn)
        def node(state: AgentState, *, runtime: Runtime[RunContext]) -> dict[str, Any]:
            try:
                return fn(state, runtime=runtime)
            except Exception as exc:
                message = f"{name} failed: {type(exc).__name__}: {exc}"
                emitter(runtime)(Warned(node=name, message=message))
                update: dict[str, Any] = {"warnings": [message]}
                if counts_as_step:
                    update["step"] = int(state.get("step", 0)) + 1
                if final:
                    prediction = Prediction(abstained=True, reason=message)
                    emitter(runtime)(PredictionMade(prediction=prediction))
                    update["prediction"] = prediction.model_dump(mode="json")
                return update

        return node

    return wrap


def _recorder(runtime: Runtime[RunContext], state: AgentState, node: str) -> NodeRecorder:
    rec = NodeRecorder(runtime.context, state, node, emitter(runtime))
    rec.emit(NodeStart(node=node, iteration=int(state.get("iteration", 0))))
    return rec


def _usable(ctx: RunContext) -> Callable[[str], bool]:
    settings, box = ctx.settings, ctx.toolbox

    def usable(name: str) -> bool:
        spec = box.registry.specs.get(name)
        if spec is not None and spec.cls.reads_metadata and settings.ignore_metadata:
            return False
        return box.usable(name)

    return usable


def _suggesters(ctx: RunContext) -> dict[str, Suggest]:
    """The usable tools whose class suggests its own calls."""
    usable = _usable(ctx)
    return {
        name: spec.cls.suggest
        for name, spec in ctx.toolbox.registry.specs.items()
        if spec.cls.suggests() and usable(name)
    }


def _hints(state: AgentState) -> Hints | None:
    return hints_of(state.get("options"))


def _executor(state: AgentState, rec: NodeRecorder) -> Executor:
    """The node's executor: its recorder, bounded by the analyst's hints when there are any."""
    hints = _hints(state)
    return rec if hints is None else HintedExecutor(rec, hints)


def _view(state: AgentState, rec: NodeRecorder, planner_round: int) -> RunView:
    hints = _hints(state)
    return RunView(
        round=planner_round,
        evidence=rec.all_evidence(),
        clues=[Clue.model_validate(c) for c in state.get("clues", [])],
        stages=[StageResult.model_validate(s) for s in state.get("stages", [])],
        candidates=[Candidate.model_validate(c) for c in state.get("candidates", [])],
        usable=_usable(rec.ctx),
        metadata=not rec.ctx.settings.ignore_metadata,
        suggesters=_suggesters(rec.ctx),
        search_max_results=rec.ctx.settings.search_max_results,
        online=not rec.ctx.settings.offline,
        hint_text=hints.text if hints else None,
    )


def _decision(state: AgentState) -> Decision | None:
    loop = state.get("loop")
    return decide(LoopFacts.model_validate(loop)) if loop else None


@guarded("ingest")
def ingest(state: AgentState, *, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Validate the photo and write its clean working copy; then the planner's ingest tools."""
    ctx = runtime.context
    rec = _recorder(runtime, state, "ingest")
    try:
        photo = prepare_photo(
            Path(state["input_path"]),
            ctx.workdir,
            max_pixels=ctx.settings.max_image_pixels,
            max_bytes=ctx.settings.max_file_bytes,
        )
    except PhotoError as exc:
        rec.emit(Failed(node="ingest", message=str(exc)))
        return rec.finish({"error": str(exc)})
    rec.emit(PhotoReady(photo=photo))
    update: dict[str, Any] = {"photo": photo.model_dump(mode="json"), "error": None}
    if ctx.settings.ignore_metadata:
        note = "metadata ignored: EXIF (GPS, time, camera) was not read"
        rec.emit(Note(node="ingest", message=note))
        update["warnings"] = [note]
    rec.state = {**state, **update}  # type: ignore[typeddict-item]
    for request in plan("ingest", _view(rec.state, rec, 0)):
        rec.request(request, by="planner")
    return rec.finish(update)


def _context(
    state: AgentState,
    rec: NodeRecorder,
    round_: int,
    exchanges: list[list[ToolExchange]],
    left: int,
) -> StageContext:
    decision = _decision(state)
    box = rec.ctx.toolbox
    usable = _usable(rec.ctx)
    tools = [spec.cls.card() for name, spec in sorted(box.registry.specs.items()) if usable(name)]
    return StageContext(
        photo=PhotoInfo.model_validate(state["photo"]),
        iteration=int(state.get("iteration", 0)),
        round=round_,
        clues=[Clue.model_validate(c) for c in state.get("clues", [])],
        hypotheses=[Hypothesis.model_validate(h) for h in state.get("hypotheses", [])],
        evidence=rec.all_evidence(),
        candidates=[Candidate.model_validate(c) for c in state.get("candidates", [])],
        focus=decision.focus if decision else None,
        tools=tools,
        exchanges=exchanges,
        max_requests=left,
        hints=_hints(state),
    )


def make_stage(stage: Stage) -> Node:
    """A reasoning-stage node: one visit of ``stage`` (planner, backend, requests)."""

    @guarded(stage, counts_as_step=True)
    def node(state: AgentState, *, runtime: Runtime[RunContext]) -> dict[str, Any]:
        ctx = runtime.context
        rec = _recorder(runtime, state, stage)
        visit = StageVisit(
            stage,
            backend=ctx.backend,
            images=[Path(state["photo"]["work_path"])],
            executor=_executor(state, rec),
            view_of=lambda n: _view(state, rec, n),
            context_of=lambda r, ex, left: _context(state, rec, r, ex, left),
            budget=ctx.settings.max_tool_requests,
        )
        results = visit.run()
        k0, h0 = len(state.get("clues", [])), len(state.get("hypotheses", []))
        dumped: list[dict[str, Any]] = []
        clues: list[dict[str, Any]] = []
        hyps: list[dict[str, Any]] = []
        for result in results:
            new_clues = [
                c.model_copy(update={"id": f"k{k0 + len(clues) + i + 1}", "stage": stage})
                for i, c in enumerate(result.clues)
            ]
            new_hyps = [
                h.model_copy(update={"id": f"h{h0 + len(hyps) + i + 1}"})
                for i, h in enumerate(result.hypotheses)
            ]
            result = result.model_copy(update={"clues": new_clues, "hypotheses": new_hyps})
            rec.emit(StageDone(node=stage, result=result))
            record = result.model_dump(mode="json")
            dumped.append(record)
            clues.extend(record["clues"])
            hyps.extend(record["hypotheses"])
        update = {
            "step": int(state.get("step", 0)) + 1,
            "stages": dumped,
            "clues": clues,
            "hypotheses": hyps,
        }
        return rec.finish(update)

    node.__name__ = stage
    return node


def _output_of(ctx: RunContext) -> Callable[[Evidence], ToolOutput | None]:
    """Typed outputs of the results whose tool checks candidates (others are not loaded)."""

    def output_of(ev: Evidence) -> ToolOutput | None:
        spec = ctx.toolbox.registry.specs.get(ev.tool)
        if spec is None or not checks_candidates(spec.cls.output_model):
            return None
        data = dict(ev.result) if ev.raw is None else {**ev.result, "raw": ev.raw}
        try:
            out = spec.cls.output_model.model_validate(data)
        except ValueError:
            return None
        return out if isinstance(out, ToolOutput) else None

    return output_of


@guarded("verify")
def verify(state: AgentState, *, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Claims become candidates, hypotheses are grounded, every check weighs every candidate.

    Candidates outside the analyst's hard constraints are then ruled out (weight 0).
    """
    ctx = runtime.context
    rec = _recorder(runtime, state, "verify")
    done = set(state.get("verified", []))
    hyps = [
        Hypothesis.model_validate(h) for h in state.get("hypotheses", []) if h["id"] not in done
    ]
    old = [Candidate.model_validate(c) for c in state.get("candidates", [])]
    old_ids = {c.id for c in old}
    new_id = Ids(len(old))
    online = not ctx.settings.offline
    executor = _executor(state, rec)
    grounded: list[Candidate] = []
    for hyp in hyps:
        grounded.extend(ground(hyp, executor, new_id, online=online))
    evidence = rec.all_evidence()
    used = set(state.get("claimed", []))
    from_grounding = {ev_id for c in grounded for ev_id in c.evidence}
    fresh, warnings = placeholders([*grounded, *claimed(evidence, used | from_grounding, new_id)])
    merged = merge_repeats(fresh, old)
    pool = {c.id: c for c in old}
    pool.update({c.id: c for c in merged})
    flagged, echoes = flag_echoes(list(pool.values()), ocr_text(evidence))
    warnings.extend(echoes)
    cands, outside = rule_out(checked(flagged, evidence, _output_of(ctx), rec), _hints(state))
    warnings.extend(outside)
    for message in warnings:
        rec.emit(Warned(node="verify", message=message))
    rec.emit(CandidatesMade(node="verify", candidates=[c for c in cands if c.id not in old_ids]))
    update: dict[str, Any] = {
        "candidates": [c.model_dump(mode="json") for c in cands],
        "verified": [h.id for h in hyps],
        "claimed": [ev.id for ev in evidence if ev.ok and ev.id not in used],
    }
    if warnings:
        update["warnings"] = warnings
    return rec.finish(update)


@guarded("converge")
def converge(state: AgentState, *, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Fuse the candidates and gather the facts the loop decision needs."""
    ctx = runtime.context
    rec = _recorder(runtime, state, "converge")
    fusion = fuse([Candidate.model_validate(c) for c in state.get("candidates", [])])
    caps = ctx.backend.capabilities
    scene_runs = sum(1 for s in state.get("stages", []) if s["stage"] == "scene" and not s["round"])
    facts = LoopFacts.of(
        fusion,
        steps_left=ctx.settings.max_steps - int(state.get("step", 0)),
        can_reread=can_reread(_view(state, rec, 1)),
        refines=caps.refines,
        sees_pixels=caps.sees_pixels,
        scene_runs=scene_runs,
    )
    decision = decide(facts)
    iteration = int(state.get("iteration", 0))
    if decision.route != "answer":
        rec.emit(LoopBack(node="converge", target=decision.route, focus=decision.focus))
        iteration += 1
    return rec.finish(
        {
            "candidates": [c.model_dump(mode="json") for c in fusion.ranked],
            "loop": facts.model_dump(mode="json"),
            "iteration": iteration,
        }
    )


@guarded("answer", final=True)
def answer(state: AgentState, *, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """The prediction: the fused answer, its nearest named place, its wording."""
    ctx = runtime.context
    rec = _recorder(runtime, state, "answer")
    cands = [Candidate.model_validate(c) for c in state.get("candidates", [])]
    fusion = fuse(cands)
    prediction = predict(
        fusion,
        rec,
        tools_only=not ctx.backend.capabilities.sees_pixels,
        evidence=rec.all_evidence(),
        clues=[Clue.model_validate(c) for c in state.get("clues", [])],
    )
    if prediction.abstained and ruled_out_all(cands):
        reason = f"the analyst's hints ruled out every candidate ({len(cands)})"
        prediction = prediction.model_copy(update={"reason": reason})
    rec.emit(PredictionMade(prediction=prediction))
    return rec.finish({"prediction": prediction.model_dump(mode="json")})
