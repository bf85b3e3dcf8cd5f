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
