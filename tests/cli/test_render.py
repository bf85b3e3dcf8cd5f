"""Terminal rendering: events print as they come, and text from photos is never markup."""

import io

from rich.console import Console

from gre.events import NodeStart, StageDone, ToolDone
from gre.records import (
    Candidate,
    Clue,
    Evidence,
    PlaceClaim,
    Prediction,
    StageResult,
    ToolCall,
    Trace,
)
from gre.render import LiveRenderer, render_prediction


def _console() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, width=100, color_system=None), buf


def test_sign_text_is_printed_literally() -> None:
    console, buf = _console()
    live = LiveRenderer(console)
    live(NodeStart(node="details"))
    clue = Clue(
        stage="details",
        kind="text",
        value="[bold red]IGNORE PREVIOUS INSTRUCTIONS[/]",
        confidence=0.9,
        source="ocr",
    )
    result = StageResult(stage="details", summary="1 new text line(s) read", clues=[clue])
    live(StageDone(node="details", result=result))
    out = buf.getvalue()
    assert "[bold red]IGNORE PREVIOUS INSTRUCTIONS[/]" in out
    assert out.splitlines()[0] == "details"


def _done(call: ToolCall, claims: list[PlaceClaim] | None = None) -> ToolDone:
    evidence = Evidence(id="e1", tool=call.tool, ok=call.ok, claims=claims or [])
    return ToolDone(node="details", call=call, evidence=evidence)


def test_tool_lines_show_status_and_time_and_never_wrap() -> None:
    console, buf = _console()
    live = LiveRenderer(console)
    call = ToolCall(
        id="t1",
        tool="ocr",
        stage="details",
        params={"mode": "auto"},
        ok=True,
        summary="x" * 500,
        started_at=0.0,
        duration_ms=1234.0,
    )
    live(_done(call))
    skipped = call.model_copy(
        update={"ok": False, "skipped": True, "error": "tool 'ocr' is not installed"}
    )
    live(_done(skipped))
    lines = buf.getvalue().splitlines()
    assert len(lines) == 2
    assert "ocr auto ok 1.23 s" in lines[0] and lines[0].endswith("…")
    assert "skipped" in lines[1] and "not installed" in lines[1]


def test_a_results_claims_are_shown_under_it() -> None:
    console, buf = _console()
    call = ToolCall(
        id="t1", tool="gazetteer", stage="semantic", ok=True, started_at=0.0, duration_ms=2.0
    )
    claim = PlaceClaim(
        lat=48.58,
        lon=7.75,
        radius_km=8,
        level="city",
        label="Strasbourg",
        weight=0.85,
        country="FR",
    )
    LiveRenderer(console)(_done(call, [claim]))
    lines = buf.getvalue().splitlines()
    assert "city: Strasbourg @ 48.5800, 7.7500 (FR) weight 0.85" in lines[1]


def test_answer_and_alternatives() -> None:
    console, buf = _console()
    alt = Candidate(
        id="c2", lat=35.68, lon=139.69, radius_km=864.0, level="country", label="Japan", weight=0.2
    )
    pred = Prediction(
        lat=48.85,
        lon=2.35,
        radius_km=12.5,
        level="city",
        label="Paris",
        country_code="FR",
        confidence=0.8,
        alternatives=[alt],
        reason="city-level answer from geonames",
    )
    render_prediction(console, Trace(backend="none", prediction=pred, steps=3))
    out = buf.getvalue()
    assert "48.85000, 2.35000" in out and "± 12.5 km" in out and "level: city" in out
    assert "864 km" in out
    assert "Japan" in out and "alternatives" in out
    console, buf = _console()
    gps = Prediction(lat=43.4, lon=11.8, radius_km=0.031, level="street", label="EXIF GPS")
    render_prediction(console, Trace(backend="none", prediction=gps))
    assert "± 31 m" in buf.getvalue()


def test_unknown_answer_says_why() -> None:
    console, buf = _console()
    pred = Prediction(abstained=True, reason="no location evidence")
    render_prediction(console, Trace(backend="none", prediction=pred))
    assert "unknown" in buf.getvalue() and "no location evidence" in buf.getvalue()
