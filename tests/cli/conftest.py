"""The CLI tests' runner: the session's cache, offline, a wide terminal."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, session_cache: Path) -> CliRunner:
    """typer's runner; network tools would only meet the socket guard, so runs are offline."""
    monkeypatch.setenv("GRE_CACHE_DIR", str(session_cache))
    monkeypatch.setenv("GRE_OFFLINE", "1")
    monkeypatch.setenv("COLUMNS", "120")
    return CliRunner()
