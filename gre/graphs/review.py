"""Interactive review: the staged graph with a pause (``interrupt()``) after each stage and
before the answer, kept in a SQLite checkpointer so a case can be resumed later.

At a pause the analyst's command comes back as the resume value (``Command(resume=...)``):
``continue``; ``reject`` candidates (weight 0, flag ``rejected_by_analyst``, kept so on
every later pass) or clues (dropped); ``hint`` (appended to the hint text); ``tool``
(run through the node's executor, ``requested_by`` analyst). Every command but
``continue`` pauses again at the same place, so each one is checkpointed at once.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command, Overwrite, interrupt
from pydantic import ValidationError

from gre.agent.hints import hints_of
from gre.errors import GreError, first_error
from gre.graphs.context import NodeRecorder, RunContext
from gre.graphs.locator import Locator
from gre.graphs.nodes import Node, _executor, answer, converge, ingest, make_stage, verify
from gre.graphs.routing import after_converge, after_ingest
from gre.graphs.state import AgentState
from gre.records import Candidate, Clue, Hints, ToolRequest, Trace
from gre.tools.support.http import network_budget

REJECTED_FLAG = "rejected_by_analyst"
"""The flag of a candidate the analyst rejected."""
ANALYST_BY = "analyst"
"""``requested_by`` of a tool request the analyst makes at a pause."""
PAUSES = ("scene", "details", "semantic", "answer")
"""Where a review pauses: after each reasoning stage, and before the answer."""
REVIEW_KEY = "review"
"""The key of the review's bookkeeping in the state's options."""

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


def _apply(
    state: AgentState, action: Action, runtime: Runtime[RunContext], stage: str
) -> dict[str, Any]:
    """One analyst command's state update."""
    op = action.get("op")
    review = _review(state)
    if op == "continue":
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
        hints = hints_of(state.get("options")) or Hints()
        text = "; ".join(t for t in (hints.text, str(action.get("text", ""))) if t)
        options = _with_review(state, next="again", note=f"hint added: {action.get('text')}")
        options["hints"] = hints.model_copy(update={"text": text}).model_dump(mode="json")
        return {"options": options}
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


def make_review(stage: str) -> Node:
    """A pause after ``stage`` (or before the answer): one analyst command per visit."""

    def node(state: AgentState, *, runtime: Runtime[RunContext]) -> dict[str, Any]:
        reply = interrupt({"stage": stage, "note": _review(state).get("note", "")})
        action = reply if isinstance(reply, dict) else {"op": "continue"}
        return _apply(state, action, runtime, stage)

    node.__name__ = f"review_{stage}"
    return node


def _after_review(onward: str) -> Callable[[AgentState], str]:
    def route(state: AgentState) -> str:
        review = _review(state)
        if review.get("next") != "on":
            return "again"
        if onward == "answer" and review.get("pending"):  # the analyst's tool results count
            return "verify"
        return onward

    return route


def build_review_graph(checkpointer: Any) -> Any:
    """The staged graph's wiring with the review pauses, compiled with ``checkpointer``."""
    graph = StateGraph(AgentState, context_schema=RunContext)
    graph.add_node("ingest", ingest)
    for stage in ("scene", "details", "semantic"):
        graph.add_node(stage, make_stage(stage))
    graph.add_node("verify", _keeping_rejections(verify))
    graph.add_node("converge", _keeping_rejections(converge))
    graph.add_node("answer", answer)
    for stage in PAUSES:
        graph.add_node(f"review_{stage}", make_review(stage))
    graph.add_edge(START, "ingest")
    graph.add_conditional_edges(
        "ingest", after_ingest, {"scene": "scene", "verify": "verify", "end": END}
    )
    onward = {"scene": "details", "details": "semantic", "semantic": "verify"}
    for stage, after in onward.items():
        graph.add_edge(stage, f"review_{stage}")
        graph.add_conditional_edges(
            f"review_{stage}", _after_review(after), {"again": f"review_{stage}", after: after}
        )
    graph.add_edge("verify", "converge")
    graph.add_conditional_edges(
        "converge",
        after_converge,
        {"scene": "scene", "details": "details", "semantic": "semantic", "answer": "review_answer"},
    )
    graph.add_conditional_edges(
        "review_answer",
        _after_review("answer"),
        {"again": "review_answer", "answer": "answer", "verify": "verify"},
    )
    graph.add_edge("answer", END)
    return graph.compile(name="gre-review", checkpointer=checkpointer)


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
    """Runs review cases with one Locator (its backend and tools) and one case store."""

    def __init__(self, locator: Locator, store: CaseStore) -> None:
        if locator.spec.name != "staged":
            raise CaseError(f"interactive review needs the staged graph, not {locator.spec.name}")
        self.locator = locator
        self.store = store
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
        error: str | None = None
        try:
            with network_budget(self.locator.settings.network_budget_s):
                self.graph.invoke(payload, config=self._config(case_id), context=ctx)
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
        return trace


def parse_command(line: str, pause: Pause) -> Action | str:
    """One line typed at a pause as an action, or the reason it is not one.

    ``help`` and ``quit`` are the caller's; numbers name the candidates as listed, and
    clue ids (``k3``) the clues.
    """
    word, _, rest = line.strip().partition(" ")
    word, rest = word.lower(), rest.strip()
    if word in ("", "c", "continue", "accept", "ok"):
        return {"op": "continue"}
    if word == "reject":
        return _reject(rest, pause)
    if word == "hint":
        if not rest:
            return "hint takes text: hint probably Spain"
        try:
            Hints(text=rest)
        except ValidationError as exc:
            return first_error(exc)[1]
        return {"op": "hint", "text": rest}
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
