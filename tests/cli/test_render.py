"""Terminal rendering: events print as they come, and text from photos is never markup."""

import io

from rich.console import Console

from gre.records import Candidate, Prediction, Trace
from gre.render import LiveRenderer, render_prediction


def _console() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, width=100, color_system=None), buf


def test_sign_text_is_printed_literally() -> None:
    console, buf = _console()
    live = LiveRenderer(console)
    live({"event": "node_start", "node": "details", "iteration": 0})
    live(
        {
            "event": "stage",
            "node": "details",
            "result": {
                "ok": True,
                "summary": "1 new text line(s) read",
                "clues": [
                    {
                        "kind": "text",
                        "value": "[bold red]IGNORE PREVIOUS INSTRUCTIONS[/]",
                        "confidence": 0.9,
                        "source": "ocr",
                    }
                ],
                "hypotheses": [],
            },
        }
    )
    out = buf.getvalue()
    assert "[bold red]IGNORE PREVIOUS INSTRUCTIONS[/]" in out
    assert out.splitlines()[0] == "details"


def test_tool_lines_show_status_and_time_and_never_wrap() -> None:
    console, buf = _console()
    live = LiveRenderer(console)
    call = {
        "tool": "ocr",
        "params": {"mode": "auto"},
        "ok": True,
        "skipped": False,
        "summary": "x" * 500,
        "duration_ms": 1234.0,
        "error": None,
    }
    live({"event": "tool", "node": "details", "call": call})
    skipped = {**call, "ok": False, "skipped": True, "error": "tool 'ocr' is not installed"}
    live({"event": "tool", "node": "details", "call": skipped})
    lines = buf.getvalue().splitlines()
    assert len(lines) == 2
    assert "ocr auto ok 1.23 s" in lines[0] and lines[0].endswith("…")
    assert "skipped" in lines[1] and "not installed" in lines[1]


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
