"""Every `gre` command in the README names a real command and real options; the ones that
need no files of the user's are run for real."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from gre.cli import app

README = Path(__file__).resolve().parents[1] / "README.md"
_ENV = re.compile(r"^(?:[A-Z_][A-Z0-9_]*=\S+\s+)+")


def readme_commands() -> list[list[str]]:
    """The `gre ...` lines of the README's code blocks, as argument lists (no `gre`)."""
    commands: list[list[str]] = []
    block: list[str] | None = None
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            block = [] if block is None else None
            continue
        if block is None:
            continue
        text = line.split("  #")[0].strip().removeprefix("$ ")
        text = _ENV.sub("", text)
        if block and block[-1].endswith("\\"):
            block[-1] = block[-1][:-1] + " " + text
        else:
            block.append(text)
        if block[-1].startswith("gre ") and not block[-1].endswith("\\"):
            words = shlex.split(block[-1].split(" > ")[0].split(" | ")[0])
            commands.append(words[1:])
    return commands


COMMANDS = readme_commands()


def _resolve(words: list[str]) -> tuple[Any, list[str]]:
    """The command the words name (typer ships its own click: groups by their ``commands``)."""
    command: Any = typer.main.get_command(app)
    rest = list(words)
    while hasattr(command, "commands") and rest and rest[0] in command.commands:
        command = command.commands[rest.pop(0)]
    return command, rest


def test_the_readme_has_its_commands() -> None:
    firsts = {c[0] for c in COMMANDS if c}
    assert {"locate", "tools", "doctor", "eval", "report", "schema"} <= firsts
    assert len(COMMANDS) >= 15


@pytest.mark.parametrize("words", COMMANDS, ids=[" ".join(c)[:60] for c in COMMANDS])
def test_every_readme_command_names_real_options(words: list[str]) -> None:
    command, rest = _resolve(words)
    assert not hasattr(command, "commands"), f"gre {' '.join(words)}: no such command"
    known = {opt for p in command.params for opt in getattr(p, "opts", [])}
    used = {w.split("=")[0] for w in rest if w.startswith("--")}
    assert used <= known, f"gre {' '.join(words)}: unknown options {sorted(used - known)}"


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, session_cache: Path) -> CliRunner:
    monkeypatch.setenv("GRE_CACHE_DIR", str(session_cache))
    monkeypatch.setenv("COLUMNS", "120")
    return CliRunner()


def test_the_readme_commands_that_need_no_user_files_run(runner: CliRunner) -> None:
    ran = 0
    for words in COMMANDS:
        if words[:2] == ["tools", "run"]:
            result = runner.invoke(app, [*words, "--offline"])
            assert result.exit_code == 0, result.output
            places = json.loads(result.stdout)["places"]
            assert places, f"gre {' '.join(words)} found nothing"
            ran += 1
        elif words in (["tools", "list"], ["schema", "trace"], ["schema", "log"]):
            result = runner.invoke(app, words)
            assert result.exit_code == 0, result.output
            ran += 1
        elif words == ["doctor"]:
            result = runner.invoke(app, ["doctor", "--offline"])
            assert "Traceback" not in result.output and "backend" in result.stdout
            ran += 1
    assert ran >= 4
