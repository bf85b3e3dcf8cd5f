"""`gre eval --ray` without Ray installed: a one-line error naming the extra."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from test_runner import make_dataset
from typer.testing import CliRunner

from gre.cli.app import app


def test_without_ray_installed_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    dataset = make_dataset(tmp_path / "data", 2)
    out = CliRunner().invoke(app, ["eval", str(dataset), "--ray", "local"])
    assert out.exit_code == 2
    assert out.output.strip().splitlines() == [
        "error: --ray needs Ray: pip install 'gre-suite[ray]'"
    ]
