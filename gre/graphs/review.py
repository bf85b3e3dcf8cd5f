"""Interactive review: the staged graph with a pause (``interrupt()``) after each stage and
before the answer, kept in a SQLite checkpointer so a case can be resumed later.

At a pause the analyst's command comes back as the resume value (``Command(resume=...)``):
``continue``; ``reject`` candidates (weight 0, flag ``rejected_by_analyst``, kept so on
every later pass) or clues (dropped); ``hint`` (text appended, ``--country`` codes added,
``--bbox`` set); ``tool`` (run through the node's executor, ``requested_by`` analyst).
Every command but ``continue`` pauses again at the same place, so each one is checkpointed
at once. A hint given after the semantic stage or before the answer would come too late
for the stage's planner and model, so continuing from there runs semantic again first.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from langgraph.runtime import Runtime
from langgraph.types import Command, Overwrite, interrupt
from pydantic import ValidationError

from gre.agent.hints import describe, hints_of
from gre.errors import GreError, first_error
from gre.events import Event, EventSink, RunEnd, RunStart, discard
from gre.graphs.context import NodeRecorder, RunContext
from gre.graphs.locator import Locator
from gre.graphs.nodes import Node, _executor, verify
from gre.graphs.staged import PAUSE_AT, PauseRoute, Pauses, build_staged_graph
from gre.graphs.state import AgentState
from gre.records import Candidate, Clue, Hints, ToolRequest, Trace
from gre.tools.support.http import network_budget

REJECTED_FLAG = "rejected_by_analyst"
"""The flag of a candidate the analyst rejected."""
ANALYST_BY = "analyst"
"""``requested_by`` of a tool request the analyst makes at a pause."""
PAUSES = PAUSE_AT
"""Where a review pauses: after each reasoning stage, and before the answer."""
RERUN_AT = ("semantic", "answer")
"""Pauses whose hints send the run back through semantic (and verify) when it goes on."""
REVIEW_KEY = "review"
"""The key of the review's bookkeeping in the state's options."""
GRAPH_NAME = "gre-review"

Action = dict[str, Any]


class CaseError(GreError, ValueError):
    """An unknown case, or one that cannot continue."""


def _review(state: AgentState) -> dict[str, Any]:
    return dict(state.get("options", {}).get(REVIEW_KEY) or {})


def _with_review(state: AgentState, **changes: Any) -> dict[str, Any]:
    """The state's options with the review's bookkeeping changed."""
    options = dict(state.get("options", {}))
    options[REVIEW_KEY] = {**_review(state), **changes}
    return options


def _rejecting(records: list[dict[str, Any]], rejected: set[str]) -> list[dict[str, Any]]:
    """Candidate records with the rejected ones at weight 0 and flagged."""
    out = []
    for rec in records:
        if rec.get("id") in rejected:
            flags = list(rec.get("flags", []))
            if REJECTED_FLAG not in flags:
                flags.append(REJECTED_FLAG)
            rec = {**rec, "weight": 0.0, "flags": flags}
        out.append(rec)
    return out


def _keeping_rejections(fn: Node) -> Node:
    """A node whose candidate updates keep the analyst's rejections (verify re-weighs)."""

    def node(state: AgentState, *, runtime: Runtime[RunContext]) -> dict[str, Any]:
        update = fn(state, runtime=runtime)
        rejected = set(_review(state).get("rejected", []))
        if rejected and "candidates" in update:
            update["candidates"] = _rejecting(update["candidates"], rejected)
        if fn is verify:
            update["options"] = _with_review(state, pending=False)
        return update

    node.__name__ = fn.__name__
    return node


def ranked(state: dict[str, Any]) -> list[Candidate]:
    """The candidates as the analyst sees them numbered: best score, then weight, first."""
    cands = [Candidate.model_validate(c) for c in state.get("candidates", [])]
    return sorted(cands, key=lambda c: (-c.score, -c.weight))


def clues_at(state: dict[str, Any], stage: str) -> list[Clue]:
    """The clues shown at a pause: the stage's own (all of them before the answer)."""
    clues = [Clue.model_validate(c) for c in state.get("clues", [])]
    return clues if stage == "answer" else [c for c in clues if c.stage == stage]


def apply_command(
    state: AgentState, action: Action, runtime: Runtime[RunContext], stage: str
) -> dict[str, Any]:
    """One analyst command's state update at the pause at ``stage``.

    Only ``tool`` uses ``runtime`` (its executor and live events).
    """
    op = action.get("op")
    review = _review(state)
    if op == "continue":
        if review.get("rehint"):
            back = "semantic" if state.get("stages") else "verify"
            note = f"{back} ran again with the hint"
            return {"options": _with_review(state, next=back, note=note, rehint=False)}
        return {"options": _with_review(state, next="on", note="")}
    if op == "reject":
        cand_ids = set(action.get("candidates", []))
        clue_ids = set(action.get("clues", []))
        rejected = sorted({*review.get("rejected", []), *cand_ids})
        update: dict[str, Any] = {
            "candidates": _rejecting(
                [c for c in state.get("candidates", []) if c["id"] in cand_ids], cand_ids
            ),
        }
        if clue_ids:
            kept = [c for c in state.get("clues", []) if c["id"] not in clue_ids]
            update["clues"] = Overwrite(kept)
        note = f"rejected {', '.join(sorted(cand_ids | clue_ids))}"
        update["options"] = _with_review(state, next="again", note=note, rejected=rejected)
        return update
    if op == "hint":
        return _hinted(state, action, stage)
    if op == "tool":
        rec = NodeRecorder(runtime.context, state, f"review_{stage}", runtime.stream_writer)
        request = ToolRequest(
            tool=str(action.get("tool", "")),
            input=dict(action.get("input", {})),
            why="asked by the analyst",
        )
        _out, evidence = _executor(state, rec).request(request, by=ANALYST_BY)
        verdict = evidence.summary if evidence.ok else f"failed: {evidence.error}"
        note = f"{request.tool} ({evidence.id}): {verdict}"
        return rec.finish(
            {"options": _with_review(state, next="again", note=note, pending=evidence.ok)}
        )
    return {"options": _with_review(state, next="again", note=f"unknown command {op!r}")}


def with_hint(hints: Hints | None, action: Mapping[str, Any]) -> Hints:
    """``hints`` with a hint command's parts: its text appended, its countries added, its
    bbox in place of any earlier one. Raises ValidationError for a bad part."""
    base = (hints or Hints()).model_dump(mode="json")
    text = "; ".join(t for t in (base["text"], action.get("text")) if t)
    bbox = action.get("bbox")
    return Hints.model_validate(
        {
            **base,
            "text": text or None,
            "countries": [*base["countries"], *action.get("countries", [])],
            "bbox": bbox if bbox is not None else base["bbox"],
        }
    )


def _hint_words(action: Mapping[str, Any]) -> str:
    parts = [str(action["text"])] if action.get("text") else []
    constraints = describe(Hints(countries=action.get("countries", []), bbox=action.get("bbox")))
    return "; ".join([*parts, constraints] if constraints else parts)


def _hinted(state: AgentState, action: Action, stage: str) -> dict[str, Any]:
    """The hint command: the hints updated; after semantic or before the answer, the run
    goes back through semantic when the analyst continues."""
    try:
        hints = with_hint(hints_of(state.get("options")), action)
        words = _hint_words(action)
    except ValidationError as exc:
        note = f"hint not added: {first_error(exc)[1]}"
        return {"options": _with_review(state, next="again", note=note)}
    rehint = stage in RERUN_AT or bool(_review(state).get("rehint"))
    note = f"hint added: {words}"
    if stage in RERUN_AT:
        note += " (semantic runs again with it when you continue)"
    options = _with_review(state, next="again", note=note, rehint=rehint)
    options["hints"] = hints.model_dump(mode="json")
    return {"options": options}


def make_review(stage: str) -> Node:
    """A pause after ``stage`` (or before the answer): one analyst command per visit."""

    def node(state: AgentState, *, runtime: Runtime[RunContext]) -> dict[str, Any]:
        reply = interrupt({"stage": stage, "note": _review(state).get("note", "")})
        action = reply if isinstance(reply, dict) else {"op": "continue"}
        return apply_command(state, action, runtime, stage)

    node.__name__ = f"review_{stage}"
    return node


def _after_review(at: str) -> Callable[[AgentState], PauseRoute]:
    """The pause's router: again after a command, back where a hint must reach, else on."""

    def route(state: AgentState) -> PauseRoute:
        review = _review(state)
        step = review.get("next")
        if step == "semantic":
            return "semantic"
        if step == "verify":
            return "verify"
        if step != "on":
            return "again"
        if at == "answer" and review.get("pending"):  # the analyst's tool results count
            return "verify"
        return "on"

    return route


REVIEW_PAUSES = Pauses(node=make_review, route=_after_review, wrap=_keeping_rejections)


def build_review_graph(checkpointer: Any) -> Any:
    """The staged graph with the review's pauses, compiled with ``checkpointer``."""
    return build_staged_graph(REVIEW_PAUSES, checkpointer=checkpointer, name=GRAPH_NAME)


@runtime_checkable
class Replaying(Protocol):
    """A backend that replays a script (``scripted``): told where a case's run stands."""

    def seek(self, done: Iterable[Mapping[str, Any]]) -> None: ...


@dataclass
class Case:
    """One review case as listed: a LangGraph thread id and what it is about."""

    id: str
    photo: str
    state: str
    created: float
    updated: float
    setup: dict[str, Any] = field(default_factory=dict)
    trace: dict[str, Any] | None = None

    @property
    def updated_at(self) -> str:
        """The last update as an ISO time (UTC, seconds)."""
        return dt.datetime.fromtimestamp(self.updated, dt.UTC).isoformat(timespec="seconds")


class CaseStore:
    """The cases database: LangGraph's SQLite checkpoints plus a ``gre_cases`` table."""

    def __init__(self, path: Path) -> None:
        from langgraph.checkpoint.sqlite import SqliteSaver

        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.conn = sqlite3.connect(str(path), check_same_thread=False)
        self.saver = SqliteSaver(self.conn)
        self.saver.setup()
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS gre_cases (id TEXT PRIMARY KEY, photo TEXT, state TEXT,"
            " created REAL, updated REAL, setup TEXT, trace TEXT)"
        )
        self.conn.commit()

    def add(self, photo: str, setup: dict[str, Any]) -> Case:
        """A new case (a fresh short id)."""
        now = time.time()
        case = Case(uuid.uuid4().hex[:8], photo, "new", now, now, setup)
        self.conn.execute(
            "INSERT INTO gre_cases VALUES (?, ?, ?, ?, ?, ?, NULL)",
            (case.id, photo, case.state, now, now, json.dumps(setup)),
        )
        self.conn.commit()
        return case

    def set_state(self, case_id: str, state: str, trace: Trace | None = None) -> None:
        """Record where a case stands (and its final trace when done)."""
        dumped = trace.model_dump_json() if trace is not None else None
        self.conn.execute(
            "UPDATE gre_cases SET state = ?, updated = ?, trace = COALESCE(?, trace) WHERE id = ?",
            (state, time.time(), dumped, case_id),
        )
        self.conn.commit()

    def get(self, case_id: str) -> Case | None:
        """The case with that id, or None."""
        row = self.conn.execute("SELECT * FROM gre_cases WHERE id = ?", (case_id,)).fetchone()
        return self._case(row) if row else None

    def cases(self) -> list[Case]:
        """Every case, the latest updated first."""
        rows = self.conn.execute("SELECT * FROM gre_cases ORDER BY updated DESC").fetchall()
        return [self._case(r) for r in rows]

    @staticmethod
    def _case(row: tuple[Any, ...]) -> Case:
        trace = json.loads(row[6]) if row[6] else None
        return Case(row[0], row[1], row[2], row[3], row[4], json.loads(row[5] or "{}"), trace)

    def close(self) -> None:
        """Close the database."""
        self.conn.close()


@dataclass
class Pause:
    """Where a case waits for the analyst: the stage, the last command's note, the state."""

    case_id: str
    stage: str
    note: str
    values: dict[str, Any]

    @property
    def candidates(self) -> list[Candidate]:
        """The candidates, numbered from 1 in this order."""
        return ranked(self.values)

    @property
    def clues(self) -> list[Clue]:
        """The clues shown at this pause."""
        return clues_at(self.values, self.stage)


class Review:
    """Runs review cases with one Locator (its backend and tools) and one case store.

    ``on_event`` sees the run's live events between pauses (the renderer's view).
    """

    def __init__(
        self, locator: Locator, store: CaseStore, on_event: EventSink | None = None
    ) -> None:
        if locator.spec.name != "staged":
            raise CaseError(f"interactive review needs the staged graph, not {locator.spec.name}")
        self.locator = locator
        self.store = store
        self.on_event: EventSink = on_event or discard
        self.graph = build_review_graph(store.saver)
        self._limit = locator.spec.recursion_limit(locator.settings.max_steps) + 2 * len(PAUSES)

    def workdir(self, case_id: str) -> Path:
        """The case's own working directory (its working copy outlives the process)."""
        path = self.locator.settings.cache_dir / "cases" / case_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def start(
        self, photo: Path, setup: dict[str, Any], hints: Hints | None = None
    ) -> tuple[str, Pause | Trace]:
        """A new case on ``photo``, run to its first pause: its id and where it stands."""
        case = self.store.add(str(photo), setup)
        state, _options = self.locator.initial_state(photo, hints=hints)
        self.on_event(RunStart(path=str(photo), backend=self.locator.backend.name))
        return case.id, self._run(case.id, state)

    def resume(self, case_id: str, action: Action | None = None) -> Pause | Trace:
        """Continue a case with one analyst command (None: show where it waits)."""
        case = self.store.get(case_id)
        if case is None:
            raise CaseError(f"no case {case_id!r}")
        if case.trace is not None:
            raise CaseError(f"case {case_id} is done")
        if action is None:
            pause = self.pause(case_id)
            if pause is None:
                raise CaseError(f"case {case_id} is not paused")
            return pause
        return self._run(case_id, Command(resume=action))

    def pause(self, case_id: str) -> Pause | None:
        """Where the case waits, or None when it does not."""
        snapshot = self.graph.get_state(self._config(case_id))
        for task in snapshot.tasks:
            for intr in task.interrupts:
                value = intr.value if isinstance(intr.value, dict) else {}
                return Pause(
                    case_id,
                    str(value.get("stage", "?")),
                    str(value.get("note", "")),
                    dict(snapshot.values),
                )
        return None

    def values(self, case_id: str) -> dict[str, Any]:
        """The case's current state values."""
        return dict(self.graph.get_state(self._config(case_id)).values)

    def _config(self, case_id: str) -> dict[str, Any]:
        return {"configurable": {"thread_id": case_id}, "recursion_limit": self._limit}

    def _run(self, case_id: str, payload: Any) -> Pause | Trace:
        ctx = self.locator.context(self.workdir(case_id))
        backend = self.locator.backend
        if isinstance(backend, Replaying):  # a script goes on where the case's run is
            backend.seek(self.values(case_id).get("stages", []))
        error: str | None = None
        try:
            with network_budget(self.locator.settings.network_budget_s):
                for chunk in self.graph.stream(
                    payload, config=self._config(case_id), context=ctx, stream_mode="custom"
                ):
                    if isinstance(chunk, Event):
                        self.on_event(chunk)
        except Exception as exc:  # the case must survive any failure
            error = f"run failed: {type(exc).__name__}: {exc}"
        pause = None if error else self.pause(case_id)
        if pause is not None:
            self.store.set_state(case_id, f"paused at {pause.stage}")
            return pause
        return self._finish(case_id, error)

    def _finish(self, case_id: str, error: str | None) -> Trace:
        case = self.store.get(case_id)
        values = self.values(case_id)
        options = dict(values.get("options", {}))
        hints = hints_of(options)
        public = {k: v for k, v in options.items() if k not in ("hints", REVIEW_KEY)}
        ms = (time.time() - case.created) * 1000 if case else 0.0
        try:
            trace = self.locator.trace_of(values, error, ms, public, hints)
        except ValidationError as exc:
            trace = self.locator.trace_of({}, f"run failed: {exc}", ms, public, hints)
        self.store.set_state(case_id, "failed" if trace.error else "done", trace)
        shutil.rmtree(self.locator.settings.cache_dir / "cases" / case_id, ignore_errors=True)
        self.on_event(RunEnd(trace=trace))
        return trace


def parse_command(line: str, pause: Pause) -> Action | str:
    """One line typed at a pause as an action, or the reason it is not one (one line).

    ``help`` and ``quit`` (the case stays paused) are the caller's to act on, not the
    graph's; numbers name the candidates as listed, and clue ids (``k3``) the clues.
    """
    word, _, rest = line.strip().partition(" ")
    word, rest = word.lower(), rest.strip()
    if word in ("", "c", "continue", "accept", "ok"):
        return {"op": "continue"}
    if word in ("help", "quit", "q", "exit"):
        return {"op": "help" if word == "help" else "quit"}
    if word == "reject":
        return _reject(rest, pause)
    if word == "hint":
        return _hint(rest, pause)
    if word == "tool":
        return _tool(rest)
    return f"unknown command {word!r}; type help"


def _reject(rest: str, pause: Pause) -> Action | str:
    cands = pause.candidates
    clue_ids = {c.id for c in pause.clues}
    cand_ids: list[str] = []
    clues: list[str] = []
    for word in rest.replace(",", " ").split():
        if word.isdigit() and 1 <= int(word) <= len(cands):
            cand_ids.append(cands[int(word) - 1].id)
        elif word.lower() in clue_ids:
            clues.append(word.lower())
        else:
            return f"no candidate or clue {word!r} here"
    if not cand_ids and not clues:
        return "reject takes candidate numbers or clue ids: reject 2 k1"
    return {"op": "reject", "candidates": cand_ids, "clues": clues}


_HINT_FLAGS = frozenset({"--country", "--bbox"})
_HINT_FIELDS = {"text": "hint text", "countries": "--country", "bbox": "--bbox"}


def _hint(rest: str, pause: Pause) -> Action | str:
    """``hint [--country XX]... [--bbox S,W,N,E] [TEXT]``, checked with the run's hints."""
    words = rest.split()
    used = 0
    countries: list[str] = []
    bbox: list[float] | None = None
    while used < len(words) and words[used].startswith("--"):
        flag, _, value = words[used].partition("=")
        used += 1
        if flag.lower() not in _HINT_FLAGS:
            return f"hint takes --country XX, --bbox S,W,N,E and text, not {flag!r}"
        if not value:
            if used == len(words):
                return f"hint {flag.lower()} needs a value"
            value, used = words[used], used + 1
        if flag.lower() == "--country":
            countries.append(value)
            continue
        try:
            bbox = [float(v) for v in value.split(",")]
        except ValueError:
            bbox = []
        if len(bbox) != 4:
            return f"hint --bbox {value!r}: give four numbers S,W,N,E"
    parts = rest.split(maxsplit=used)
    text = parts[used] if len(parts) > used else ""
    if not text and not countries and bbox is None:
        return "hint takes text or constraints: hint probably Spain, hint --country ES"
    action: Action = {"op": "hint", "text": text or None, "countries": countries, "bbox": bbox}
    try:
        with_hint(hints_of(pause.values.get("options")), action)
    except ValidationError as exc:
        where, message = first_error(exc)
        return f"{_HINT_FIELDS.get(where.split('.')[0], 'hint')}: {message}"
    return action


def _tool(rest: str) -> Action | str:
    words = rest.split()
    if not words:
        return "tool takes a name and key=value pairs: tool gazetteer query=Paris"
    name, pairs = words[0], words[1:]
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            return f"tool inputs are key=value, got {pair!r}"
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return {"op": "tool", "tool": name, "input": params}
