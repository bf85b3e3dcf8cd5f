"""The interactive review without the CLI: its wiring, command parser, state updates and runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph.runtime import Runtime
from langgraph.types import Overwrite

from gre.agent.hints import HINT_BY, OUTSIDE_FLAG
from gre.agent.vlm.scripted import ScriptedBackend
from gre.config import Settings
from gre.events import Event, NodeStart, ToolDone
from gre.graphs.locator import Locator
from gre.graphs.review import (
    ANALYST_BY,
    REJECTED_FLAG,
    CaseStore,
    Pause,
    Review,
    apply_command,
    build_review_graph,
    parse_command,
)
from gre.graphs.staged import PAUSE_PREFIX, build_staged_graph
from gre.records import Candidate, Clue, StageResult, Trace

PARIS = {"level": "city", "name": "Paris", "lat": 48.8566, "lon": 2.3522, "confidence": 0.8}
MADRID = {"level": "city", "name": "Madrid", "lat": 40.4168, "lon": -3.7038, "confidence": 0.7}
LISBON = {"level": "city", "name": "Lisbon", "lat": 38.7223, "lon": -9.1393, "confidence": 0.6}
ONWARD = {"scene": "details", "details": "semantic", "semantic": "verify", "answer": "answer"}
DISAGREE = [{"stage": "semantic", "summary": "first", "hypotheses": [PARIS, MADRID]}]


def _cand(cid: str, label: str, weight: float, score: float) -> dict[str, Any]:
    return Candidate(
        id=cid, lat=0.0, lon=0.0, radius_km=5.0, level="city", label=label, weight=weight
    ).model_dump(mode="json") | {"score": score}


STATE: dict[str, Any] = {
    "input_path": "photo.jpg",
    "options": {"hints": None, "review": {}},
    "candidates": [_cand("c1", "Paris", 0.8, 0.5), _cand("c2", "Madrid", 0.7, 0.4)],
    "clues": [
        Clue(id="k1", stage="semantic", kind="place_name", value="PARIS").model_dump(mode="json"),
        Clue(id="k2", stage="scene", kind="setting", value="urban").model_dump(mode="json"),
    ],
    "stages": [{"stage": "semantic"}],
}


def _pause(stage: str = "semantic", values: dict[str, Any] | None = None) -> Pause:
    return Pause("abcd1234", stage, "", values if values is not None else STATE)


@pytest.fixture
def locator(settings: Settings) -> Iterator[Locator]:
    with Locator(settings, backend=ScriptedBackend.from_data(DISAGREE)) as loc:
        yield loc


def _runtime(locator: Locator, tmp_path: Path, events: list[Event]) -> Runtime[Any]:
    return Runtime(context=locator.context(tmp_path), stream_writer=events.append)


# --- one builder: the review graph is the staged graph with pauses ---------------------------


def _edges(graph: Any) -> set[tuple[str, str, str]]:
    return {(e.source, e.target, str(e.data or "")) for e in graph.get_graph().edges}


def test_the_review_graph_is_the_staged_wiring_with_pauses_in_between() -> None:
    staged = {(s, t) for s, t, _d in _edges(build_staged_graph())}
    review = _edges(build_review_graph(None))
    onward = {f"{PAUSE_PREFIX}{at}": to for at, to in ONWARD.items()}
    assert {s for s, _t, _d in review if s.startswith(PAUSE_PREFIX)} == set(onward)
    # every edge into a pause, followed to where the pause goes on, is a staged edge
    contracted = {(s, onward.get(t, t)) for s, t, _d in review if s not in onward}
    assert contracted == staged
    assert not any(s.startswith(PAUSE_PREFIX) or t.startswith(PAUSE_PREFIX) for s, t in staged)
    for pause, on in onward.items():  # a pause stays, goes on, or goes back through semantic
        assert {t for s, t, _d in review if s == pause} == {pause, on, "semantic", "verify"}


# --- the command parser -------------------------------------------------------------------


def test_continue_help_and_quit_parse_to_their_ops() -> None:
    for line in ("", "  ", "c", "continue", "OK"):
        assert parse_command(line, _pause()) == {"op": "continue"}
    assert parse_command("help", _pause()) == {"op": "help"}
    assert parse_command("quit", _pause()) == {"op": "quit"}
    assert parse_command("q", _pause()) == {"op": "quit"}


def test_reject_names_candidates_as_listed_and_the_pauses_clues() -> None:
    # listed by score: 1 is Paris (c1), 2 is Madrid (c2); k1 is semantic's clue, k2 scene's
    assert parse_command("reject 2 K1", _pause()) == {
        "op": "reject",
        "candidates": ["c2"],
        "clues": ["k1"],
    }
    assert parse_command("reject 1,2", _pause())["candidates"] == ["c1", "c2"]
    assert parse_command("reject k2", _pause("scene")) == {
        "op": "reject",
        "candidates": [],
        "clues": ["k2"],
    }


def test_hint_takes_text_and_hard_constraints() -> None:
    assert parse_command("hint probably  Spain", _pause()) == {
        "op": "hint",
        "text": "probably  Spain",
        "countries": [],
        "bbox": None,
    }
    assert parse_command("hint --country es --bbox=36,-10,44,4 near Madrid", _pause()) == {
        "op": "hint",
        "text": "near Madrid",
        "countries": ["es"],
        "bbox": [36.0, -10.0, 44.0, 4.0],
    }


def test_tool_reads_key_value_pairs_as_json_where_they_parse() -> None:
    assert parse_command("tool gazetteer mode=lookup name=Lisbon limit=3", _pause()) == {
        "op": "tool",
        "tool": "gazetteer",
        "input": {"mode": "lookup", "name": "Lisbon", "limit": 3},
    }


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("reject", "reject takes candidate numbers or clue ids"),
        ("reject 3", "no candidate or clue '3' here"),
        ("reject k2", "no candidate or clue 'k2' here"),  # scene's clue, not shown at semantic
        ("reject 0", "no candidate or clue '0' here"),
        ("hint", "hint takes text or constraints"),
        ("hint \x1b[31mred", "hint text: hint text must not contain control characters"),
        ("hint a\u202eb", "hint text: hint text must not contain control characters"),
        ("hint " + "x" * 501, "hint text: String should have at most 500 characters"),
        ("hint --country XX1", "--country: country must be an ISO 3166-1 alpha-2 code"),
        ("hint --country ZZ", "--country: unknown country code 'ZZ'"),
        ("hint --country", "hint --country needs a value"),
        ("hint --bbox 1,2,3", "hint --bbox '1,2,3': give four numbers S,W,N,E"),
        ("hint --bbox a,b,c,d", "give four numbers S,W,N,E"),
        ("hint --bbox 50,0,40,1", "--bbox: bbox needs south < north"),
        ("hint --near Lyon", "hint takes --country XX, --bbox S,W,N,E and text, not '--near'"),
        ("tool", "tool takes a name and key=value pairs"),
        ("tool gazetteer Lisbon", "tool inputs are key=value, got 'Lisbon'"),
        ("frobnicate now", "unknown command 'frobnicate'; type help"),
        ("\x1b[2Jclear", "unknown command '\\x1b[2jclear'"),
    ],
)
def test_a_malformed_command_is_a_one_line_reason(line: str, expected: str) -> None:
    reason = parse_command(line, _pause())
    assert isinstance(reason, str), reason
    assert expected in reason and len(reason.splitlines()) == 1
    assert "\x1b" not in reason and "\u202e" not in reason


def test_the_hint_text_limit_counts_the_runs_hints_too() -> None:
    values = {**STATE, "options": {"hints": {"text": "y" * 450}}}
    assert isinstance(parse_command("hint " + "x" * 40, _pause(values=values)), dict)
    reason = parse_command("hint " + "x" * 60, _pause(values=values))
    assert isinstance(reason, str) and "at most 500 characters" in reason


# --- the state updates ----------------------------------------------------------------------


def test_continue_goes_on(locator: Locator, tmp_path: Path) -> None:
    update = apply_command(STATE, {"op": "continue"}, _runtime(locator, tmp_path, []), "scene")
    assert update == {"options": {**STATE["options"], "review": {"next": "on", "note": ""}}}


def test_reject_weighs_candidates_to_zero_and_drops_clues(locator: Locator, tmp_path: Path) -> None:
    action = {"op": "reject", "candidates": ["c1"], "clues": ["k1"]}
    update = apply_command(STATE, action, _runtime(locator, tmp_path, []), "semantic")
    (paris,) = update["candidates"]
    assert paris["id"] == "c1" and paris["weight"] == 0.0 and paris["flags"] == [REJECTED_FLAG]
    assert isinstance(update["clues"], Overwrite)
    assert [c["id"] for c in update["clues"].value] == ["k2"]
    review = update["options"]["review"]
    assert review["rejected"] == ["c1"] and review["next"] == "again"
    assert review["note"] == "rejected c1, k1"
    assert STATE["candidates"][0]["weight"] == 0.8  # the state itself is left alone


def test_a_hint_appends_text_adds_countries_and_replaces_the_bbox(
    locator: Locator, tmp_path: Path
) -> None:
    runtime = _runtime(locator, tmp_path, [])
    state = {**STATE, "options": {"hints": {"text": "old", "countries": ["PT"]}}}
    action = {"op": "hint", "text": "probably Spain", "countries": ["es"], "bbox": [36, -10, 44, 4]}
    update = apply_command(state, action, runtime, "scene")
    hints = update["options"]["hints"]
    assert hints["text"] == "old; probably Spain"
    assert hints["countries"] == ["PT", "ES"] and hints["bbox"] == [36.0, -10.0, 44.0, 4.0]
    review = update["options"]["review"]
    assert review["next"] == "again" and review["rehint"] is False  # semantic is still ahead
    assert review["note"] == "hint added: probably Spain; countries ES; bbox S 36, W -10, N 44, E 4"


def test_a_hint_after_semantic_sends_the_run_back_through_it(
    locator: Locator, tmp_path: Path
) -> None:
    runtime = _runtime(locator, tmp_path, [])
    action = {"op": "hint", "text": "probably Spain"}
    update = apply_command(STATE, action, runtime, "answer")
    assert update["options"]["review"]["rehint"] is True
    assert "semantic runs again" in update["options"]["review"]["note"]
    hinted = {**STATE, "options": update["options"]}
    went = apply_command(hinted, {"op": "continue"}, runtime, "answer")
    assert went["options"]["review"]["next"] == "semantic"
    assert went["options"]["review"]["rehint"] is False
    unstaged = {**hinted, "stages": []}  # a GPS fix answered without stages: verify again
    went = apply_command(unstaged, {"op": "continue"}, runtime, "answer")
    assert went["options"]["review"]["next"] == "verify"


def test_a_bad_hint_sent_straight_to_the_graph_is_a_note(locator: Locator, tmp_path: Path) -> None:
    action = {"op": "hint", "countries": ["XX"]}
    update = apply_command(STATE, action, _runtime(locator, tmp_path, []), "scene")
    assert update["options"]["hints"] is None  # unchanged
    assert update["options"]["review"]["note"].startswith(
        "hint not added: unknown country code 'XX'"
    )


def test_an_analyst_tool_request_runs_and_is_recorded_as_the_analysts(
    locator: Locator, tmp_path: Path
) -> None:
    events: list[Event] = []
    action = {"op": "tool", "tool": "gazetteer", "input": {"mode": "lookup", "name": "Lisbon"}}
    update = apply_command(STATE, action, _runtime(locator, tmp_path, events), "details")
    (ev,) = update["evidence"]
    assert ev["requested_by"] == ANALYST_BY and ev["tool"] == "gazetteer" and ev["ok"]
    assert ev["stage"] == "review_details" and ev["query"]["name"] == "Lisbon"
    assert any(claim["country"] == "PT" for claim in ev["claims"])
    (call,) = update["tool_calls"]
    assert call["tool"] == "gazetteer" and call["ok"]
    review = update["options"]["review"]
    assert review["pending"] is True and review["note"].startswith(f"gazetteer ({ev['id']}): ")
    assert [type(e).__name__ for e in events if not isinstance(e, NodeStart)][:2] == [
        "ToolStart",
        "ToolDone",
    ]


def test_an_unknown_tool_fails_as_evidence_not_an_exception(
    locator: Locator, tmp_path: Path
) -> None:
    action = {"op": "tool", "tool": "nope", "input": {}}
    update = apply_command(STATE, action, _runtime(locator, tmp_path, []), "scene")
    (ev,) = update["evidence"]
    assert not ev["ok"] and ev["requested_by"] == ANALYST_BY
    assert update["options"]["review"]["pending"] is False
    assert "failed" in update["options"]["review"]["note"]


# --- whole reviews ------------------------------------------------------------------------


def _review(settings: Settings, store: Path, script: list[dict[str, Any]], **kw: Any) -> Review:
    backend = ScriptedBackend.from_data(script)
    locator = Locator(settings, backend=backend)
    return Review(locator, CaseStore(store), **kw)


def _close(review: Review) -> None:
    review.store.close()
    review.locator.close()


def _on(review: Review, step: Pause | Trace, until: str | None = None) -> Pause | Trace:
    """Continue at every pause until the pause at ``until`` (or the answer)."""
    for _ in range(30):
        if not isinstance(step, Pause) or step.stage == until:
            return step
        step = review.resume(step.case_id, {"op": "continue"})
    raise AssertionError("the review never ended")


def test_quit_leaves_the_case_paused_where_it_was(
    settings: Settings, tmp_path: Path, photo: Path
) -> None:
    db = tmp_path / "cases.sqlite"
    review = _review(settings, db, DISAGREE)
    case_id, step = review.start(photo, {})
    assert isinstance(step, Pause) and step.stage == "scene"
    assert parse_command("quit", step) == {"op": "quit"}  # nothing is sent to the graph
    _close(review)
    again = _review(settings, db, DISAGREE)
    try:
        assert again.store.get(case_id).state == "paused at scene"
        paused = again.resume(case_id)
        assert isinstance(paused, Pause) and paused.stage == "scene"
        assert paused.values["step"] == 1
    finally:
        _close(again)


def test_a_country_hint_at_the_last_pause_constrains_the_answer(
    settings: Settings, tmp_path: Path, photo: Path
) -> None:
    review = _review(settings, tmp_path / "cases.sqlite", DISAGREE)
    try:
        case_id, step = review.start(photo, {})
        step = _on(review, step, "answer")
        assert isinstance(step, Pause) and step.candidates[0].label.startswith("Paris")
        action = parse_command("hint --country ES", step)
        assert isinstance(action, dict)
        step = review.resume(case_id, action)
        assert isinstance(step, Pause) and step.stage == "answer"  # a command pauses again
        step = review.resume(case_id, {"op": "continue"})
        assert isinstance(step, Pause) and step.stage == "semantic"  # semantic runs again
        assert step.note == "semantic ran again with the hint"
        trace = _on(review, step)
    finally:
        _close(review)
    assert isinstance(trace, Trace) and trace.prediction.label.startswith("Madrid")
    paris = [c for c in trace.candidates if c.label.startswith("Paris")]
    assert paris and all(c.weight == 0 and OUTSIDE_FLAG in c.flags for c in paris)
    assert trace.hints is not None and trace.hints.countries == ["ES"]


def test_a_hint_text_at_the_last_pause_reaches_the_model_and_the_planner(
    settings: Settings, tmp_path: Path, photo: Path
) -> None:
    review = _review(settings, tmp_path / "cases.sqlite", DISAGREE)
    backend = review.locator.backend
    assert isinstance(backend, ScriptedBackend)
    try:
        case_id, step = review.start(photo, {})
        step = _on(review, step, "answer")
        seen = len(backend.calls)
        step = review.resume(case_id, {"op": "hint", "text": "probably Spain"})
        trace = _on(review, step)
    finally:
        _close(review)
    assert isinstance(trace, Trace) and not trace.error
    (rerun,) = [ctx for stage, ctx in backend.calls[seen:] if stage == "semantic"]
    assert rerun.hints is not None and rerun.hints.text == "probably Spain"
    (scan,) = [e for e in trace.evidence if e.requested_by == HINT_BY]
    assert scan.stage == "semantic" and scan.query["text"] == "probably Spain"
    spain = [c for c in trace.candidates if scan.id in c.evidence]
    assert spain and all(c.country_code == "ES" for c in spain)
    answer_at = max(t.started_at for t in trace.timings if t.node == "answer")
    assert all(t.started_at < answer_at for t in trace.timings if t.node == "semantic")


def test_a_resumed_case_goes_on_where_its_script_was(
    settings: Settings, tmp_path: Path, photo: Path
) -> None:
    script = [
        {"stage": "scene", "summary": "scene one"},
        {"stage": "details", "summary": "details one"},
        *DISAGREE,
        {"stage": "semantic", "summary": "second", "hypotheses": [LISBON]},
    ]
    db = tmp_path / "cases.sqlite"
    first = _review(settings, db, script)
    try:
        case_id, step = first.start(photo, {})
        step = _on(first, step, "semantic")  # the first semantic pass, then the analyst quits
    finally:
        _close(first)
    later = _review(settings, db, script)  # a new process: a fresh backend and store
    try:
        trace = _on(later, later.resume(case_id))
    finally:
        _close(later)
    assert isinstance(trace, Trace) and not trace.error
    summaries = [(s.stage, s.summary) for s in trace.stages]
    assert summaries[:3] == [
        ("scene", "scene one"),
        ("details", "details one"),
        ("semantic", "first"),
    ]
    assert ("semantic", "second") in summaries[3:]  # the loop's pass got the next entry
    assert summaries.count(("semantic", "first")) == 1
    assert any(c.label.startswith("Lisbon") for c in trace.candidates)


def test_the_live_events_between_pauses_reach_on_event(
    settings: Settings, tmp_path: Path, photo: Path
) -> None:
    events: list[Event] = []
    review = _review(settings, tmp_path / "cases.sqlite", DISAGREE, on_event=events.append)
    try:
        _case_id, step = review.start(photo, {})
        assert [e.node for e in events if isinstance(e, NodeStart)] == ["ingest", "scene"]
        _on(review, step, "semantic")
    finally:
        _close(review)
    started = [e.node for e in events if isinstance(e, NodeStart)]
    assert started[:4] == ["ingest", "scene", "details", "semantic"]
    assert any(isinstance(e, ToolDone) and e.call.tool == "ocr" for e in events)


def test_the_scripted_backend_seeks_past_what_a_run_holds(photo: Path) -> None:
    from gre.agent.vlm.base import StageContext
    from gre.records import PhotoInfo

    context = StageContext(
        photo=PhotoInfo(
            path=str(photo),
            work_path=str(photo),
            sha256="0",
            format="JPEG",
            width=1,
            height=1,
            bytes=1,
        )
    )
    script = [StageResult(stage="scene", summary=s) for s in ("a", "b")]
    backend = ScriptedBackend(script)
    backend.seek([{"stage": "scene"}, {"stage": "details"}])
    assert backend.propose("scene", [], context).summary == "b"
    assert backend.propose("scene", [], context).summary == "script exhausted"
    backend.seek([])
    assert backend.propose("scene", [], context).summary == "a"
    cycling = ScriptedBackend(script, cycle=True)
    cycling.seek([{"stage": "scene"}] * 3)
    assert cycling.propose("scene", [], context).summary == "b"
