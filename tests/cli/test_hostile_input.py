"""Hostile input at the command line: files that are not photos, names that are not text."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from PIL import Image
from typer.testing import CliRunner, Result

from gre.cli import app


def _invoke_within(runner: CliRunner, args: list[str], seconds: float) -> Result:
    """Run the CLI in a thread so that a hang fails the test instead of stalling it."""
    box: list[Result] = []
    worker = threading.Thread(target=lambda: box.append(runner.invoke(app, args)), daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"gre {' '.join(args)} still running after {seconds} s"
    return box[0]


def test_a_fifo_is_refused_at_once_and_the_batch_goes_on(runner: CliRunner, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    good = tmp_path / "flat.png"
    Image.new("RGB", (64, 48), (30, 90, 30)).save(good)
    result = _invoke_within(runner, ["locate", "--json", str(fifo), str(good)], 120)
    assert result.exit_code == 1
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "named pipe" in errors[0]
    assert "Traceback" not in result.output
    assert len([ln for ln in result.stdout.splitlines() if ln.startswith("{")]) == 2


def test_terminal_escapes_in_a_file_name_are_shown_not_sent(
    runner: CliRunner, tmp_path: Path
) -> None:
    name = tmp_path / "a\x1b]0;owned\x07\x1b[2J.jpg"
    result = runner.invoke(app, ["locate", str(name)])
    assert result.exit_code == 1
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert "\\x1b]0;owned\\x07\\x1b[2J.jpg: no such file" in result.stderr
    assert "\x1b]0;" not in result.stdout and "\x1b[2J" not in result.stdout
