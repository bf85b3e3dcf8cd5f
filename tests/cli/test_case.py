"""`gre locate --interactive` and `gre case`: scripted review sessions through the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gre.cli import app

SCRIPT = [
    {
        "stage": "semantic",
        "summary": "s",
        "hypotheses": [
            {"level": "city", "name": "Paris", "lat": 48.8566, "lon": 2.3522, "confidence": 0.8},
            {"level": "city", "name": "Madrid", "lat": 40.4168, "lon": -3.7038, "confidence": 0.7},
        ],
    }
]


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, session_cache: Path) -> CliRunner:
    cache = tmp_path / "cache"
    cache.mkdir()
    for item in session_cache.iterdir():  # the built indexes, without other tests' cases
        if item.name not in ("cases.sqlite", "cases"):
            (cache / item.name).symlink_to(item)
    monkeypatch.setenv("GRE_CACHE_DIR", str(cache))
    monkeypatch.setenv("GRE_OFFLINE", "1")
    monkeypatch.setenv("COLUMNS", "160")
    return CliRunner()


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "script.json"
    path.write_text(json.dumps(SCRIPT))
    return path


def _args(photo: Path, script: Path) -> list[str]:
    return ["locate", "--interactive", "--backend", "scripted", "--script", str(script), str(photo)]


def _number(output: str, label: str) -> str:
    """The number the last pause gave the candidate named ``label``."""
    found = re.findall(rf"^\s+(\d+)\. {label}\b", output, re.M)
    assert found, output
    return str(found[-1])


def test_rejecting_paris_makes_madrid_the_answer(
    runner: CliRunner, photo: Path, script: Path
) -> None:
    first = runner.invoke(app, _args(photo, script), input="\n\n\nquit\n")
    assert first.exit_code == 0, first.output
    assert "candidates (2)" in first.output  # semantic again: Paris and Madrid disagree
    case_id = re.findall(r"gre case resume (\w+)", first.output)[-1]
    paris = _number(first.output, "Paris")
    done = runner.invoke(
        app, ["case", "resume", case_id], input=f"help\nreject {paris}\n" + "c\n" * 20
    )
    assert done.exit_code == 0, done.output
    assert "reject N" in done.output  # help
    shown = runner.invoke(app, ["case", "show", case_id, "--json"])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.output)
    assert data["state"] == "done"
    trace = data["trace"]
    assert "Madrid" in (trace["prediction"]["label"] or "")
    rejected = [c for c in trace["candidates"] if "rejected_by_analyst" in c["flags"]]
    assert rejected and all(c["weight"] == 0 for c in rejected)
    assert all("Paris" in c["label"] for c in rejected)


def test_quit_leaves_a_case_that_list_shows_and_resume_finishes(
    runner: CliRunner, photo: Path, script: Path
) -> None:
    first = runner.invoke(app, _args(photo, script), input="quit\n")
    assert first.exit_code == 0, first.output
    case_id = re.findall(r"gre case resume (\w+)", first.output)[-1]
    listed = runner.invoke(app, ["case", "list", "--json"])
    rows = [json.loads(line) for line in listed.output.splitlines()]
    assert [(r["id"], r["state"]) for r in rows] == [(case_id, "paused at scene")]
    paused = runner.invoke(app, ["case", "show", case_id, "--json"])
    assert json.loads(paused.output)["state"] == "paused at scene"
    done = runner.invoke(
        app, ["case", "resume", case_id], input="hint probably Spain\n" + "\n" * 20
    )
    assert done.exit_code == 0, done.output
    assert f"case {case_id} done" in done.output
    trace = json.loads(runner.invoke(app, ["case", "show", case_id, "--json"]).output)["trace"]
    assert trace["hints"]["text"] == "probably Spain"
    again = runner.invoke(app, ["case", "resume", case_id])
    assert again.exit_code == 2


def test_analyst_tool_requests_run_through_the_executor(
    runner: CliRunner, photo: Path, script: Path
) -> None:
    lines = "\n\ntool gazetteer query=Lisbon\n" + "\n" * 20
    result = runner.invoke(app, _args(photo, script), input=lines)
    assert result.exit_code == 0, result.output
    case_id = re.findall(r"case (\w+) done", result.output)[-1]
    trace = json.loads(runner.invoke(app, ["case", "show", case_id, "--json"]).output)["trace"]
    asked = [e for e in trace["evidence"] if e["requested_by"] == "analyst"]
    assert asked and asked[0]["tool"] == "gazetteer"


@pytest.mark.parametrize("command", [["resume", "nope"], ["show", "nope", "--json"]])
def test_an_unknown_case_is_a_one_line_error(runner: CliRunner, command: list[str]) -> None:
    result = runner.invoke(app, ["case", *command])
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1 and "no case 'nope'" in result.stderr


@pytest.mark.parametrize(
    "case_id", ["", "../../etc/passwd", "abc\x1b[31mred", "ab\ncd", "\u202eabcdef12", "9" * 5000]
)
@pytest.mark.parametrize("command", ["resume", "show"])
def test_a_malformed_case_id_is_a_one_line_error(
    runner: CliRunner, command: str, case_id: str
) -> None:
    result = runner.invoke(app, ["case", command, case_id])
    assert result.exit_code == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: no case ") and line.endswith(
        ": a case id is 8 hex digits (see gre case list)"
    )
    assert len(line) < 150 and "\x1b" not in line and "\u202e" not in line


def test_a_well_formed_id_of_no_case_says_so(runner: CliRunner) -> None:
    result = runner.invoke(app, ["case", "resume", "0123abcd"])
    assert result.exit_code == 2
    assert result.stderr == "error: no case '0123abcd' (see gre case list)\n"


def test_a_hint_with_control_characters_at_the_prompt_is_a_one_line_error(
    runner: CliRunner, photo: Path, script: Path
) -> None:
    lines = "hint \x1b[2Jwiped\nhint ok\u202eevil\nhint --country 1\x07\nquit\n"
    result = runner.invoke(app, _args(photo, script), input=lines)
    assert result.exit_code == 0, result.output
    errors = result.stderr.splitlines()
    assert errors == [
        "error: hint text: hint text must not contain control characters (found '\\x1b')",
        "error: hint text: hint text must not contain control characters (found '\\u202e')",
        "error: --country: country must be an ISO 3166-1 alpha-2 code, got '1\\x07'",
    ]
    shown = [ln for ln in result.stdout.splitlines() if not ln.startswith("[scene]: ")]  # echo
    assert not any("\x1b" in ln or "\u202e" in ln for ln in shown)
    assert "case " in result.stdout and "paused at scene" in result.stdout


def test_the_live_view_runs_between_pauses(runner: CliRunner, photo: Path, script: Path) -> None:
    result = runner.invoke(app, _args(photo, script), input="\n\n\n\nquit\n")
    assert result.exit_code == 0, result.output
    out = result.stdout
    # stage by stage: the node, its tool calls and hypotheses, then its pause
    assert out.index("\ningest\n") < out.index("⚙ exif ok") < out.index("\nscene\n")
    assert out.index("\nscene\n") < out.index("paused after scene")
    assert out.index("paused after scene") < out.index("⚙ ocr") < out.index("paused after details")
    semantic = out.index("paused after details")
    assert out.index("? city: Paris", semantic) < out.index("paused after semantic")
    assert "◦ 2 candidate(s): Paris (0.80), Madrid (0.70)" in out  # verify, after the pause
    assert "↺ back to semantic" in out and "semantic (pass 2)" in out


def test_a_case_resumed_in_a_new_process_goes_on_where_its_script_was(
    runner: CliRunner, photo: Path, tmp_path: Path
) -> None:
    steps = [
        {"stage": "scene", "summary": "scene one"},
        {"stage": "details", "summary": "details one"},
        {**SCRIPT[0], "summary": "semantic one"},
        {"stage": "semantic", "summary": "semantic two"},
    ]
    script = tmp_path / "steps.json"
    script.write_text(json.dumps(steps))
    first = runner.invoke(app, _args(photo, script), input="\n\nquit\n")
    assert first.exit_code == 0 and "paused at semantic" in first.stdout, first.output
    case_id = re.findall(r"gre case resume (\w+)", first.output)[-1]
    done = runner.invoke(app, ["case", "resume", case_id], input="c\n" * 20)
    assert done.exit_code == 0, done.output
    assert "· semantic two" in done.stdout  # the loop's second semantic pass, shown live
    trace = json.loads(runner.invoke(app, ["case", "show", case_id, "--json"]).output)["trace"]
    summaries = [(s["stage"], s["summary"]) for s in trace["stages"]]
    assert summaries[:4] == [
        ("scene", "scene one"),
        ("details", "details one"),
        ("semantic", "semantic one"),
        ("semantic", "semantic two"),
    ]
    assert summaries.count(("semantic", "semantic one")) == 1


def test_a_country_hint_before_the_answer_runs_semantic_again_and_holds(
    runner: CliRunner, photo: Path, script: Path
) -> None:
    lines = "\n\n\n\nhint --country ES\n" + "c\n" * 20
    result = runner.invoke(app, _args(photo, script), input=lines)
    assert result.exit_code == 0, result.output
    out = result.stdout
    at = out.index("hint added: countries ES (semantic runs again with it when you continue)")
    assert out.index("semantic ran again with the hint", at) > at
    assert "! hints ruled out 1 candidate(s) outside countries ES" in out[at:]
    case_id = re.findall(r"case (\w+) done", out)[-1]
    trace = json.loads(runner.invoke(app, ["case", "show", case_id, "--json"]).output)["trace"]
    assert trace["prediction"]["country_code"] == "ES" and trace["hints"]["countries"] == ["ES"]
