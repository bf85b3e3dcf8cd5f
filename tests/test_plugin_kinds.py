"""Plugins of every kind, installed for real from tests/plugins/gre-test-plugins, are used."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from gre.agent.vlm import backend_registry, make_backend
from gre.cli import app
from gre.config import Settings
from gre.eval.datasets import detect_format, format_registry, load_dataset
from gre.eval.log import read_log
from gre.graphs.locator import Locator
from gre.graphs.specs import graph_registry
from gre.testing.plugins import InstalledPlugin
from gre.tools.base import ToolRegistry

PLUGIN_PACKAGE = "gre-test-plugins"


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, session_cache: Path) -> CliRunner:
    monkeypatch.setenv("GRE_CACHE_DIR", str(session_cache))
    monkeypatch.setenv("GRE_OFFLINE", "1")
    monkeypatch.setenv("COLUMNS", "120")
    return CliRunner()


@pytest.fixture
def blank(tmp_path: Path) -> Path:
    """A photo with nothing to read: whatever locates it is the backend's doing."""
    path = tmp_path / "blank.png"
    Image.new("RGB", (96, 64), (120, 150, 90)).save(path)
    return path


def _tsv(folder: Path, rows: list[str]) -> Path:
    for name in ("a.png", "b.png"):
        Image.new("RGB", (32, 24), (200, 40, 40)).save(folder / name)
    table = folder / "points.tsv"
    table.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return table


def test_every_kind_is_discovered(test_plugins: InstalledPlugin) -> None:
    assert test_plugins.modules == ("gre_test_plugins",)
    for registry, name in (
        (backend_registry(), "echo_test"),
        (graph_registry(), "one_shot_test"),
        (format_registry(), "tsv_test"),
    ):
        assert registry.load_errors == []
        plugin = registry.plugin(name)
        assert plugin.package == PLUGIN_PACKAGE and not plugin.builtin
    assert graph_registry().get("one_shot_test").description.startswith("one node")


def test_echo_backend_by_name(test_plugins: InstalledPlugin, session_cache: Path) -> None:
    settings = Settings(backend="echo_test", cache_dir=session_cache, offline=True)
    backend = make_backend(settings)
    assert backend.name == "echo_test"
    backend.close()


def test_locate_answers_with_the_echo_backend(
    test_plugins: InstalledPlugin, runner: CliRunner, blank: Path
) -> None:
    result = runner.invoke(app, ["locate", "--backend", "echo_test", "--json", str(blank)])
    assert result.exit_code == 0, result.output
    trace = json.loads(result.stdout)
    assert trace["backend"] == "echo_test"
    assert [s["stage"] for s in trace["stages"]][:1] == ["scene"]
    prediction = trace["prediction"]
    assert prediction["country_code"] == "IS" and prediction["level"] == "country"
    assert "echo_test" in json.dumps(trace["hypotheses"])
    shown = runner.invoke(app, ["locate", "--backend", "echo_test", str(blank)])
    assert shown.exit_code == 0 and "Iceland" in shown.stdout


def test_the_direct_check_uses_the_graph_spec(
    test_plugins: InstalledPlugin, runner: CliRunner, blank: Path
) -> None:
    result = runner.invoke(
        app, ["locate", "--backend", "echo_test", "--graph", "direct", str(blank)]
    )
    assert result.exit_code == 2
    assert "the direct graph needs a model backend" in result.stderr
    assert "'echo_test' does not" in result.stderr


def test_one_shot_graph_runs_and_makes_the_trace(
    test_plugins: InstalledPlugin, runner: CliRunner, blank: Path, settings: Settings
) -> None:
    with Locator(
        settings.model_copy(update={"graph": "one_shot_test"}), registry=ToolRegistry()
    ) as locator:
        trace = locator.locate(blank)
    assert trace.graph == "one_shot_test" and trace.error is None
    assert trace.prediction.label == "Reykjavik (one_shot_test)"
    assert trace.warnings == ["one_shot_test ran with backend none"]
    assert [t.node for t in trace.timings] == ["one_shot"] and trace.steps == 1
    result = runner.invoke(app, ["locate", "--graph", "one_shot_test", "--json", str(blank)])
    assert result.exit_code == 0, result.output
    cli_trace = json.loads(result.stdout)
    assert cli_trace["graph"] == "one_shot_test"
    assert cli_trace["prediction"]["label"] == "Reykjavik (one_shot_test)"
    helped = runner.invoke(app, ["locate", "--help"])
    assert "staged, direct" in helped.stdout


def test_tsv_format_by_name_and_by_detection(test_plugins: InstalledPlugin, tmp_path: Path) -> None:
    table = _tsv(tmp_path, ["x1\t64.1\t-21.9\ta.png", "x2\t48.85\t2.35\tb.png", "x3\t99\t0\ta.png"])
    data = load_dataset(table, format="tsv_test")
    assert data.format == "tsv_test" and [s.id for s in data.samples] == ["x1", "x2"]
    assert data.report.skipped == {"bad_coordinates": 1}
    assert data.samples[0].metadata == {"format": "tsv_test"}
    assert detect_format(table) == "tsv_test"
    assert load_dataset(table).format == "tsv_test"
    header = tmp_path / "with-header.tsv"
    header.write_text("IMG_ID\tLAT\tLON\na.png\t1\t2\n", encoding="utf-8")
    assert detect_format(header) == "csv"  # a table with a header is still the built-in's


def test_eval_runs_a_tsv_dataset_through_the_cli(
    test_plugins: InstalledPlugin, runner: CliRunner, tmp_path: Path
) -> None:
    table = _tsv(tmp_path, ["x1\t64.1466\t-21.9426\ta.png", "x2\t48.8566\t2.3522\tb.png"])
    log = tmp_path / "run.jsonl"
    args = ["eval", str(table), "--format", "tsv_test", "--graph", "one_shot_test"]
    result = runner.invoke(app, [*args, "--out", str(log), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "2/2 done" in result.stdout
    header, results = read_log(log)
    assert header.dataset["format"] == "tsv_test" and header.config["graph"] == "one_shot_test"
    assert results["x1"].status == "ok" and results["x1"].error_km is not None
    assert results["x1"].error_km < 1 and 2000 < (results["x2"].error_km or 0) < 2500
