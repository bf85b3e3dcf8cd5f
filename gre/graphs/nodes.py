"""The staged graph's nodes: ingest, the three reasoning stages, verify, converge."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from langgraph.runtime import Runtime

from gre.agent.converge import Fusion, fuse
from gre.agent.evidence import ocr_text
from gre.agent.lookups import area_of, feature_hypotheses, osm_input, unmatched_lines
from gre.agent.verify import cross_check, resolve
from gre.agent.vlm.base import StageContext
from gre.geo import haversine_km
from gre.graphs.context import NodeRecorder, RunContext
from gre.graphs.state import AgentState, Record, merge_by_id
from gre.ingest.photo import PhotoError, prepare_photo
from gre.records import (
    Box,
    Candidate,
    Clue,
    Evidence,
    Hypothesis,
    NamedPlace,
    OsmQuery,
    PhotoInfo,
    Prediction,
    Stage,
    StageResult,
)


class Node(Protocol):
    """A node function as LangGraph calls it (the runtime is passed by keyword)."""

    __name__: str

    def __call__(self, state: AgentState, *, runtime: Runtime[RunContext]) -> dict[str, Any]: ...


EXIF_CONFIDENCE = 0.95
EXIF_VOID_CONFIDENCE = 0.6
EXIF_DEFAULT_RADIUS_KM = 0.03
MAX_LOOKUPS = 8
MAX_OVERPASS_LINES = 3
MAX_PLANNED = 4


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
                runtime.stream_writer({"event": "warning", "node": name, "message": message})
                update: dict[str, Any] = {"warnings": [message]}
                if counts_as_step:
                    update["step"] = int(state.get("step", 0)) + 1
                if final:
                    prediction = Prediction(abstained=True, reason=message).model_dump(mode="json")
                    runtime.stream_writer({"event": "prediction", "prediction": prediction})
                    update["route"] = "end"
                    update["prediction"] = prediction
                return update

        return node

    return wrap


def _evidence(state: AgentState, rec: NodeRecorder) -> list[Evidence]:
    records = merge_by_id(list(state.get("evidence", [])), rec.evidence)
    return [Evidence.model_validate(r) for r in records]


@guarded("ingest")
def ingest(state: AgentState, *, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Validate the photo, write its clean working copy, read EXIF unless told not to."""
    ctx = runtime.context
    rec = NodeRecorder(ctx, state, "ingest", runtime.stream_writer)
    rec.emit({"event": "node_start", "node": "ingest", "iteration": 0})
    path = Path(state["input_path"])
    try:
        photo = prepare_photo(
            path,
            ctx.workdir,
            max_pixels=ctx.settings.max_image_pixels,
            max_bytes=ctx.settings.max_file_bytes,
        )
    except PhotoError as exc:
        rec.emit({"event": "error", "node": "ingest", "message": str(exc)})
        return rec.finish({"error": str(exc)})
    rec.emit({"event": "photo", "photo": photo.model_dump(mode="json")})
    update: dict[str, Any] = {"photo": photo.model_dump(mode="json"), "error": None}
    if ctx.settings.ignore_metadata:
        note = "metadata ignored: EXIF (GPS, time, camera) was not read"
        rec.emit({"event": "note", "node": "ingest", "message": note})
        update["warnings"] = [note]
        return rec.finish(update)
    out, ev = rec.tool("exif", {"path": str(path)})
    clues: list[Record] = []
    hyps: list[Record] = []
    if out is not None:
        result = ev.result
        for kind_value in (
            " ".join(x for x in (result.get("camera_make"), result.get("camera_model")) if x),
            result.get("taken_at")
            and f"taken {result['taken_at']}{result.get('utc_offset') or ''}",
        ):
            if kind_value:
                clues.append(
                    Clue(
                        id=f"k{len(clues) + 1}",
                        stage="scene",
                        kind="metadata",
                        value=str(kind_value),
                        confidence=1.0,
                        source="exif",
                    ).model_dump(mode="json")
                )
        gps = result.get("gps")
        if gps:
            accuracy = gps.get("accuracy_m")
            hyp = Hypothesis(
                id="h1",
                level="street",
                name="EXIF GPS position",
                lat=float(gps["lat"]),
                lon=float(gps["lon"]),
                radius_km=max(0.01, accuracy / 1000.0) if accuracy else EXIF_DEFAULT_RADIUS_KM,
                confidence=EXIF_VOID_CONFIDENCE if gps.get("status_void") else EXIF_CONFIDENCE,
                rationale=f"EXIF GPS {gps['lat']:.6f}, {gps['lon']:.6f} ({gps.get('source')})",
                ref="exif:gps",
            )
            hyps.append(hyp.model_dump(mode="json"))
            rec.emit({"event": "hypothesis", "node": "ingest", "hypothesis": hyps[-1]})
    update.update(clues=clues, hypotheses=hyps)
    return rec.finish(update)


def _details_tools(state: AgentState, rec: NodeRecorder) -> dict[str, Any]:
    """OCR (a default pass first, a sparse-text pass when looping, crops the model asked for)."""
    photo = state["photo"]
    passes = list(state.get("ocr_passes", []))
    read: set[tuple[float, float, float, float]] = set()
    for e in _evidence(state, rec):
        if e.tool == "ocr":
            read.update((b["x0"], b["y0"], b["x1"], b["y1"]) for b in e.query.get("boxes", []))
    boxes: list[Record] = []
    for stage in state.get("stages", []):
        for box in stage.get("ocr_regions", []):
            key = (box["x0"], box["y0"], box["x1"], box["y1"])
            if key not in read:
                read.add(key)
                boxes.append(Box.model_validate(box).model_dump(mode="json"))
    mode = next((m for m in ("auto", "sparse") if m not in passes), None)
    if mode is not None or boxes:
        params = {
            "path": photo["work_path"],
            "mode": mode or "auto",
            "whole_image": mode is not None,
            "boxes": boxes,
        }
        rec.tool("ocr", params)
        if mode is not None:
            passes.append(mode)
    evidence = _evidence(state, rec)
    text = ocr_text(evidence)
    done = [e.query.get("text") for e in evidence if e.tool == "text_clues"]
    if text and (not done or done[-1] != text):
        rec.tool("text_clues", {"text": text})
    return {"ocr_passes": passes}


def _semantic_tools(state: AgentState, rec: NodeRecorder) -> dict[str, Any]:
    """Gazetteer: scan the text read so far for place names; look up names the model gave."""
    evidence = _evidence(state, rec)
    text = ocr_text(evidence)
    gaz = [e for e in evidence if e.tool == "gazetteer"]
    if text and text not in {e.query.get("text") for e in gaz}:
        rec.tool("gazetteer", {"mode": "scan", "text": text})
    asked = {e.query.get("name") for e in gaz}
    names = [
        c["value"]
        for c in state.get("clues", [])
        if c["kind"] in ("place_name", "landmark") and c["source"] == "model"
    ]
    for name in [n for n in dict.fromkeys(names) if n not in asked][:MAX_LOOKUPS]:
        rec.tool("gazetteer", {"mode": "lookup", "name": name, "limit": 5})
    _map_lookups(state, rec)
    return {}


def _map_lookups(state: AgentState, rec: NodeRecorder) -> None:
    """Sign lines the gazetteer did not explain, looked up by name on the map.

    With a local OSM extract, across the whole extract; online, with Overpass around
    the best candidate so far (on a loop pass, when there is one).
    """
    evidence = _evidence(state, rec)
    lines = unmatched_lines(evidence)
    if not lines:
        return
    box = rec.ctx.toolbox
    asked = {(e.tool, e.query.get("name")) for e in evidence if e.tool in ("osm", "overpass")}
    if box.usable("osm"):
        for name in lines:
            if ("osm", name) not in asked:
                rec.tool("osm", {"kind": "named", "name": name, "fuzzy": True, "limit": 10})
        return
    candidates = [Candidate.model_validate(c) for c in state.get("candidates", [])]
    area = area_of(candidates)
    if area is not None and box.usable("overpass"):
        for name in lines[:MAX_OVERPASS_LINES]:
            if ("overpass", name) not in asked:
                rec.tool(
                    "overpass",
                    {"kind": "named", "name": name, "fuzzy": True, "area": area, "limit": 10},
                )


_STAGE_TOOLS: dict[Stage, Callable[[AgentState, NodeRecorder], dict[str, Any]] | None] = {
    "scene": None,
    "details": _details_tools,
    "semantic": _semantic_tools,
}


def _propose(ctx: RunContext, stage: Stage, context: StageContext) -> StageResult:
    t0 = time.perf_counter()
    try:
        result = ctx.backend.propose(stage, [Path(context.photo.work_path)], context)
    except Exception as exc:  # backends should not raise; if one does, the stage fails alone
        return StageResult(
            stage=stage,
            ok=False,
            backend=ctx.backend.name,
            error=f"{type(exc).__name__}: {exc}",
            latency_ms=(time.perf_counter() - t0) * 1000,
        )
    if result.stage != stage:
        result = result.model_copy(update={"stage": stage})
    if not result.latency_ms:
        result = result.model_copy(update={"latency_ms": (time.perf_counter() - t0) * 1000})
    return result


def make_stage(stage: Stage) -> Node:
    """A reasoning-stage node: the stage's tools, then the backend's proposal."""
    tools = _STAGE_TOOLS[stage]

    @guarded(stage, counts_as_step=True)
    def node(state: AgentState, *, runtime: Runtime[RunContext]) -> dict[str, Any]:
        ctx = runtime.context
        rec = NodeRecorder(ctx, state, stage, runtime.stream_writer)
        iteration = int(state.get("iteration", 0))
        rec.emit({"event": "node_start", "node": stage, "iteration": iteration})
        update: dict[str, Any] = {"step": int(state.get("step", 0)) + 1}
        if tools is not None:
            update.update(tools(state, rec))
        context = StageContext(
            photo=PhotoInfo.model_validate(state["photo"]),
            iteration=iteration,
            clues=[Clue.model_validate(c) for c in state.get("clues", [])],
            hypotheses=[Hypothesis.model_validate(h) for h in state.get("hypotheses", [])],
            evidence=_evidence(state, rec),
            candidates=[Candidate.model_validate(c) for c in state.get("candidates", [])],
            focus=state.get("focus"),
        )
        result = _propose(ctx, stage, context)
        k0, h0 = len(state.get("clues", [])), len(state.get("hypotheses", []))
        clues = [
            c.model_copy(update={"id": f"k{k0 + i + 1}", "stage": stage})
            for i, c in enumerate(result.clues)
        ]
        hyps = [
            h.model_copy(update={"id": f"h{h0 + i + 1}"}) for i, h in enumerate(result.hypotheses)
        ]
        result = result.model_copy(update={"clues": clues, "hypotheses": hyps})
        dumped = result.model_dump(mode="json")
        rec.emit({"event": "stage", "node": stage, "result": dumped})
        update.update(
            stages=[dumped],
            clues=dumped["clues"],
            hypotheses=dumped["hypotheses"],
        )
        return rec.finish(update)

    node.__name__ = stage
    return node


def _produced(ev: Evidence) -> set[str]:
    """The references of what a tool call found (GPS fix, gazetteer places, map features)."""
    if not ev.ok:
        return set()
    r = ev.result
    if ev.tool == "exif":
        return {"exif:gps"} if r.get("gps") else set()
    if ev.tool == "gazetteer":
        places = [p for m in r.get("mentions", []) for p in m.get("places", [])]
        return {f"geonames:{p.get('geonameid')}" for p in [*places, *r.get("places", [])]}
    if ev.tool in ("osm", "overpass"):
        return {f"osm:{f['osm_type']}/{f['osm_id']}" for f in r.get("features", [])}
    return set()


def _link_sources(cands: list[Candidate], evidence: list[Evidence], rec: NodeRecorder) -> None:
    """Tool-made candidates are supported by the evidence that produced them."""
    produced = [(ev.id, _produced(ev)) for ev in evidence]
    for cand in cands:
        if cand.ref:
            for ev_id, refs in produced:
                if cand.ref in refs:
                    rec.link(ev_id, supports=(cand.id,))


def _merge_repeats(new: list[Candidate], old: list[Candidate]) -> list[Candidate]:
    """A source repeating a place it already gave is not new evidence: keep one, max weight."""
    kept: list[Candidate] = []
    pool = list(old)
    for cand in new:
        twin = next(
            (
                c
                for c in pool
                if c.source == cand.source
                and c.level == cand.level
                and c.label == cand.label
                and haversine_km(c.lat, c.lon, cand.lat, cand.lon)
                <= max(c.radius_km, cand.radius_km)
            ),
            None,
        )
        if twin is None:
            kept.append(cand)
            pool.append(cand)
        elif cand.weight > twin.weight:
            kept.append(twin.model_copy(update={"weight": cand.weight}))
    return kept


@guarded("verify")
def verify(state: AgentState, *, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Ground every new hypothesis with the tools and check it against the text evidence."""
    rec = NodeRecorder(runtime.context, state, "verify", runtime.stream_writer)
    rec.emit({"event": "node_start", "node": "verify", "iteration": state.get("iteration", 0)})
    done = set(state.get("verified", []))
    hyps = [
        Hypothesis.model_validate(h) for h in state.get("hypotheses", []) if h["id"] not in done
    ]
    counter = [len(state.get("candidates", []))]

    def new_id() -> str:
        counter[0] += 1
        return f"c{counter[0]}"

    online = not runtime.context.settings.offline
    old = [Candidate.model_validate(c) for c in state.get("candidates", [])]
    cands: list[Candidate] = []
    for hyp in hyps:
        cands.extend(resolve(hyp, rec, new_id, geocode=online))
    planned, keys = _run_planned(state, rec, [*old, *cands])
    for hyp in planned:
        cands.extend(resolve(hyp, rec, new_id, geocode=online))
    evidence = _evidence(state, rec)
    cands = cross_check(cands, evidence, rec)
    _link_sources(cands, evidence, rec)
    cands = _merge_repeats(cands, old)
    dumped = [c.model_dump(mode="json") for c in cands]
    rec.emit({"event": "candidates", "node": "verify", "candidates": dumped})
    return rec.finish(
        {
            "candidates": dumped,
            "hypotheses": [h.model_dump(mode="json") for h in planned],
            "verified": [h.id for h in [*hyps, *planned]],
            "planned": keys,
        }
    )


def _run_planned(
    state: AgentState, rec: NodeRecorder, candidates: list[Candidate]
) -> tuple[list[Hypothesis], list[str]]:
    """Run the map and web queries a model planned; map matches become street hypotheses."""
    done = set(state.get("planned", []))
    box = rec.ctx.toolbox
    osm_tool = "osm" if box.usable("osm") else "overpass"
    area = area_of(candidates)
    leak_terms = list(state.get("options", {}).get("leak_terms", []))
    found: list[Hypothesis] = []
    keys: list[str] = []
    for si, stage in enumerate(state.get("stages", [])):
        for qi, raw in enumerate(stage.get("osm_queries", [])[:MAX_PLANNED]):
            key = f"{si}:osm:{qi}"
            if key in done:
                continue
            keys.append(key)
            query = OsmQuery.model_validate(raw)
            out, ev = rec.tool(osm_tool, osm_input(query, area))
            if out is not None:
                found.extend(feature_hypotheses(ev, query.confidence, query.why or "planned"))
        for qi, text in enumerate(stage.get("search_queries", [])[:MAX_PLANNED]):
            key = f"{si}:search:{qi}"
            if key in done:
                continue
            keys.append(key)
            rec.tool(
                "search",
                {
                    "query": text,
                    "max_results": rec.ctx.settings.search_max_results,
                    "exclude": leak_terms,
                },
            )
    h0 = len(state.get("hypotheses", []))
    return [h.model_copy(update={"id": f"h{h0 + i + 1}"}) for i, h in enumerate(found)], keys


def _loop_target(state: AgentState, fusion: Fusion, ctx: RunContext) -> tuple[str, str | None]:
    """Where to go after converging: 'end' or the stage that can separate the candidates."""
    if fusion.answer is None:
        focus = "no location evidence yet: read more text"
    elif fusion.rival is None:
        return "end", None
    else:
        focus = (
            f"candidates disagree: {fusion.answer.label} ({fusion.answer.score:.2f}) vs "
            f"{fusion.rival.label} ({fusion.rival.score:.2f})"
        )
    remaining = ctx.settings.max_steps - int(state.get("step", 0))
    # A sparse-text pass helps where the first pass found some text, not where it found none.
    read_text = ctx.toolbox.skip_reason("ocr") is None and any(
        e["tool"] == "ocr" and e["ok"] and e["result"].get("lines")
        for e in state.get("evidence", [])
    )
    if "sparse" not in state.get("ocr_passes", []) and read_text and remaining >= 2:
        return "details", focus
    if not ctx.backend.capabilities.refines or fusion.answer is None:
        return "end", None
    broad = {"country", "continent"}
    scene_runs = sum(1 for s in state.get("stages", []) if s["stage"] == "scene")
    if (
        fusion.rival is not None
        and ctx.backend.capabilities.sees_pixels  # the tools-only rules have no eyes
        and {fusion.answer.level, fusion.rival.level} <= broad
        and scene_runs < 2
        and remaining >= 3
    ):
        return "scene", focus
    if remaining >= 1:
        return "semantic", focus
    return "end", None


def _reason(fusion: Fusion, state: AgentState, backend: str) -> str:
    answer = fusion.answer
    if answer is None:
        return "no location evidence: no GPS metadata, no place named in readable text"
    rationale = next(
        (
            h.get("rationale", "")
            for h in state.get("hypotheses", [])
            if h["id"] == answer.hypothesis
        ),
        "",
    )
    source = answer.source
    if backend == "none" and source == "model":  # the rules stand in for the model
        source = "text clues"
    basis = f"{answer.level}-level answer from {source}"
    if rationale:
        basis += f": {rationale}"
    if backend == "none":
        basis += " (tools only, no model)"
    return basis


def _prediction(fusion: Fusion, state: AgentState, rec: NodeRecorder) -> Prediction:
    backend = rec.ctx.backend.name
    if fusion.answer is None or fusion.lat is None or fusion.lon is None:
        return Prediction(abstained=True, reason=_reason(fusion, state, backend))
    out, ev = rec.tool(
        "gazetteer", {"mode": "reverse", "lat": fusion.lat, "lon": fusion.lon, "limit": 1}
    )
    nearest = None
    places = ev.result.get("places", []) if out is not None else []
    if places:
        p = places[0]
        nearest = NamedPlace(
            name=p["name"],
            country_code=p.get("country_code"),
            admin1=p.get("admin1"),
            lat=p["lat"],
            lon=p["lon"],
            distance_km=round(float(p.get("distance_km") or 0.0), 3),
        )
    answer = fusion.answer
    return Prediction(
        lat=round(fusion.lat, 6),
        lon=round(fusion.lon, 6),
        radius_km=round(fusion.radius_km or answer.radius_km, 3),
        level=answer.level,
        label=answer.label,
        country_code=answer.country_code or (nearest.country_code if nearest else None),
        confidence=fusion.confidence,
        nearest_place=nearest,
        alternatives=fusion.alternatives,
        reason=_reason(fusion, state, backend),
    )


@guarded("converge", final=True)
def converge(state: AgentState, *, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Fuse the candidates; answer, or choose the stage to loop back to."""
    ctx = runtime.context
    rec = NodeRecorder(ctx, state, "converge", runtime.stream_writer)
    rec.emit({"event": "node_start", "node": "converge", "iteration": state.get("iteration", 0)})
    fusion = fuse([Candidate.model_validate(c) for c in state.get("candidates", [])])
    route, focus = _loop_target(state, fusion, ctx)
    update: dict[str, Any] = {
        "route": route,
        "focus": focus,
        "candidates": [c.model_dump(mode="json") for c in fusion.ranked],
    }
    if route == "end":
        update["prediction"] = _prediction(fusion, state, rec).model_dump(mode="json")
        rec.emit({"event": "prediction", "prediction": update["prediction"]})
    else:
        update["iteration"] = int(state.get("iteration", 0)) + 1
        rec.emit({"event": "loop", "node": "converge", "target": route, "focus": focus})
    return rec.finish(update)
