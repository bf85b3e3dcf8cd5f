"""The interactive review in a real terminal (tmux): pauses, a rejection, the answer."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

GRE = Path(sys.executable).with_name("gre")
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


def _pane(session: str) -> str:
    done = subprocess.run(
        ["tmux", "capture-pane", "-p", "-J", "-S", "-200", "-t", session],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout


def _wait_for(session: str, text: str, seconds: float = 120.0) -> str:
    """The pane once ``text`` (a regular expression, matched per line) is on it."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pane = _pane(session)
        if re.search(text, pane, re.M):
            return pane
        time.sleep(0.5)
    raise AssertionError(f"{text!r} never appeared:\n{_pane(session)}")


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")
def test_a_review_in_tmux_rejects_paris_and_answers_madrid(
    tmp_path: Path, session_cache: Path, photo: Path
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    for item in session_cache.iterdir():
        if item.name not in ("cases.sqlite", "cases"):
            (cache / item.name).symlink_to(item)
    script = tmp_path / "script.json"
    script.write_text(json.dumps(SCRIPT))
    config = tmp_path / "config.toml"
    config.write_text("")
    env = {"GRE_CACHE_DIR": cache, "GRE_OFFLINE": "1", "GRE_CONFIG": config, "COLUMNS": "150"}
    command = " ".join(
        [
            *(f"{k}={shlex.quote(str(v))}" for k, v in env.items()),
            shlex.quote(str(GRE)),
            "locate --interactive --backend scripted --script",
            shlex.quote(str(script)),
            shlex.quote(str(photo)),
            "; sleep 60",
        ]
    )
    session = f"gre-review-{uuid.uuid4().hex[:8]}"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GRE_")}
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "50", command],
        check=True,
        env=clean,
    )
    try:
        for stage in ("scene", "details", "semantic"):
            _wait_for(session, rf"^\[{stage}\]")
            subprocess.run(["tmux", "send-keys", "-t", session, "", "Enter"], check=True)
        pane = _wait_for(session, r"^\s+\d+\. Paris")  # the pause lists the candidates
        number = next(
            line.split(".")[0].strip()
            for line in reversed(pane.splitlines())
            if "Paris" in line and line.strip()[:1].isdigit()
        )
        # the live view between pauses: the stages, their tools and the loop back
        assert "⚙ ocr" in pane and "semantic (pass 2)" in pane and "↺ back to semantic" in pane
        reject = f"reject {number}"
        subprocess.run(["tmux", "send-keys", "-t", session, reject, "Enter"], check=True)
        for _ in range(12):  # continue through the remaining pauses
            time.sleep(1.0)
            if " done" in _pane(session):
                break
            subprocess.run(["tmux", "send-keys", "-t", session, "c", "Enter"], check=True)
        pane = _wait_for(session, " done")
        answer = pane[pane.rindex("answer ─") :]
        assert "Madrid  [ES]" in answer and "level: city" in answer
        assert "[rejected_by_analyst]" in pane and "Traceback" not in pane
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False)
