"""`gre locate --interactive` and `gre case list|resume|show`: the analyst's review cases."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gre.cli.common import fail, load_settings, make_console

if TYPE_CHECKING:
    from rich.console import Console

    from gre.agent.vlm.base import VLMBackend
    from gre.config import Settings
    from gre.graphs.review import CaseStore, Pause, Review
    from gre.records import Hints, Trace
    from gre.render import LiveRenderer

case_app = typer.Typer(help="Interactive review cases (gre locate --interactive).")

SETUP_KEYS = (
    "ignore_metadata",
    "corroborate_gps",
    "offline",
    "backend",
    "graph",
    "model_url",
    "model",
    "max_steps",
)
"""The settings a case keeps, so that it resumes with the backend and budget it began with."""

HELP = """commands (one a line):
  continue            accept and go on (also: c, an empty line)
  reject N... kN...   reject candidates by number, clues by id (e.g. reject 2 k1)
  hint TEXT           append TEXT to the run's hint text; before TEXT, --country XX
                      adds a country and --bbox S,W,N,E sets the area (hard constraints);
                      after semantic or before the answer, semantic runs again with it
  tool NAME k=v ...   run a tool (values read as JSON when they parse)
  help                this list
  quit                leave the case paused (gre case resume ID)"""


CASE_ID = re.compile(r"[0-9a-f]{8}")
"""A case id as `gre case list` shows it: 8 hex digits."""


def _store(settings: Settings) -> CaseStore:
    from gre.graphs.review import CaseStore

    return CaseStore(settings.cache_dir / "cases.sqlite")


def run_interactive(
    settings: Settings, made: VLMBackend, photo: Path, hints: Hints | None, script: Path | None
) -> None:
    """Start a review case on ``photo`` and take the analyst's commands."""
    from gre.graphs.review import Review

    locator = _locator(settings, made)
    store = _store(settings)
    live = _live()
    try:
        review = Review(locator, store, on_event=live)
    except ValueError as exc:
        store.close()
        locator.close()
        raise fail(str(exc)) from None
    setup: dict[str, Any] = {k: getattr(settings, k) for k in SETUP_KEYS}
    setup["script"] = str(script.resolve()) if script is not None else None
    with locator:
        try:
            locator.prepare(live)
            try:
                started = review.start(photo, setup, hints)
            finally:
                live.close()
            _loop(review, live, *started)
        finally:
            store.close()


def _live() -> LiveRenderer:
    """The live view of the reasoning between pauses (as `gre locate` shows it)."""
    from gre.render import LiveRenderer

    return LiveRenderer(make_console())


def _locator(settings: Settings, made: VLMBackend) -> Any:
    from gre.cli.locate_command import _locator as make

    return make(settings, made)


def _loop(review: Review, live: LiveRenderer, case_id: str, step: Pause | Trace) -> None:
    """Show each pause, send each command, until the case is done or the analyst quits."""
    from gre.graphs.review import Pause, parse_command
    from gre.render import render_prediction
    from gre.textnorm import printable

    out = live.console
    while isinstance(step, Pause):
        _show(out, step)
        while True:
            try:
                line = typer.prompt(f"[{step.stage}]", default="", show_default=False)
            except typer.Abort:
                line = "quit"
            action = parse_command(line, step)
            if isinstance(action, str):
                typer.echo(f"error: {printable(action)}", err=True)
            elif action["op"] == "help":
                typer.echo(HELP)
            elif action["op"] == "quit":
                typer.echo(
                    f"case {step.case_id} paused at {step.stage}; "
                    f"resume with: gre case resume {step.case_id}"
                )
                return
            else:
                break
        try:
            step = review.resume(step.case_id, action)
        finally:
            live.close()  # no spinner while the analyst types
    render_prediction(out, step)
    typer.echo(f"case {case_id} {'failed' if step.error else 'done'}")
    if step.error:
        raise typer.Exit(1)


def _show(out: Console, pause: Pause) -> None:
    """A pause: where, the last command's note, the clues and the numbered candidates."""
    from rich.text import Text

    from gre.textnorm import printable

    where = "before the answer" if pause.stage == "answer" else f"after {pause.stage}"
    out.print(Text(f"case {pause.case_id}: paused {where}", style="bold"))
    if pause.note:
        out.print(Text(f"  {printable(pause.note)}", style="dim"))
    clues = pause.clues
    out.print(Text(f"clues ({len(clues)}):"))
    for clue in clues:
        value = printable(clue.value[:100])
        out.print(Text(f"  {clue.id}  {clue.kind}: {value} ({clue.confidence:.2f})"))
    cands = pause.candidates
    out.print(Text(f"candidates ({len(cands)}):"))
    for i, cand in enumerate(cands, 1):
        flags = f" [{', '.join(cand.flags)}]" if cand.flags else ""
        out.print(
            Text(
                f"  {i}. {printable(cand.label)} ({cand.level}, {cand.lat:.4f}, {cand.lon:.4f}) "
                f"weight {cand.weight:.2f}{flags}"
            )
        )
    out.print(Text("type help for the commands", style="dim"))


def _open(case_id: str) -> tuple[Settings, CaseStore, Any]:
    """The settings, store and case for an id (a malformed or unknown id is a usage error)."""
    if not CASE_ID.fullmatch(case_id):
        shown = repr(case_id[:40]) + ("…" if len(case_id) > 40 else "")
        raise fail(f"no case {shown}: a case id is 8 hex digits (see gre case list)")
    settings = load_settings()
    store = _store(settings)
    case = store.get(case_id)
    if case is None:
        store.close()
        raise fail(f"no case {case_id!r} (see gre case list)")
    return settings, store, case


@case_app.command("list")
def case_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per case.")] = False,
) -> None:
    """The review cases: id, photo, where each stands, when it was last updated."""
    from rich.table import Table

    store = _store(load_settings())
    try:
        cases = store.cases()
    finally:
        store.close()
    if as_json:
        for case in cases:
            row = {"id": case.id, "photo": case.photo, "state": case.state}
            typer.echo(json.dumps({**row, "updated": case.updated_at}, ensure_ascii=False))
        return
    if not cases:
        typer.echo("no cases")
        return
    table = Table("id", "photo", "state", "updated")
    for case in cases:
        table.add_row(case.id, case.photo, case.state, case.updated_at)
    make_console().print(table)


@case_app.command("resume")
def case_resume(
    case_id: Annotated[str, typer.Argument(help="The case id (gre case list).")],
) -> None:
    """Continue a paused case's interactive review."""
    from gre.cli.locate_command import _backend
    from gre.graphs.review import CaseError, Review

    settings, store, case = _open(case_id)
    if case.trace is not None:
        store.close()
        raise fail(f"case {case_id} is {case.state}; see gre case show {case_id}")
    setup = dict(case.setup)
    script = setup.pop("script", None)
    settings = settings.model_copy(update={k: v for k, v in setup.items() if k in SETUP_KEYS})
    made = _backend(settings, Path(script) if script else None)
    locator = _locator(settings, made)
    live = _live()
    with locator:
        try:
            review = Review(locator, store, on_event=live)
            locator.prepare(live)
            _loop(review, live, case_id, review.resume(case_id))
        except CaseError as exc:
            raise fail(str(exc)) from None
        finally:
            store.close()


@case_app.command("show")
def case_show(
    case_id: Annotated[str, typer.Argument(help="The case id (gre case list).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print it as JSON.")] = False,
) -> None:
    """A case's final trace, or where it waits and its state so far."""
    from gre.graphs.review import build_review_graph

    _settings, store, case = _open(case_id)
    try:
        if case.trace is not None:
            data: dict[str, Any] = {"id": case.id, "state": case.state, "trace": case.trace}
        else:
            graph = build_review_graph(store.saver)
            values = graph.get_state({"configurable": {"thread_id": case_id}}).values
            data = {"id": case.id, "photo": case.photo, "state": case.state, "values": values}
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, default=str))
        return
    typer.echo(f"case {case.id}: {case.photo}: {case.state} (updated {case.updated_at})")
    trace = data.get("trace")
    if trace and trace.get("prediction"):
        from gre.records import Trace
        from gre.render import printable_answer

        typer.echo(printable_answer(Trace.model_validate(trace)))
