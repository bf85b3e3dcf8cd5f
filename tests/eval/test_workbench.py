"""The analyst's workbench: reports that fit 80 columns, per-sample tables, configuration
differences between compared runs, labelled plots, and the folder dataset's metadata rule."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from rich.console import Console
from typer.testing import CliRunner

from gre.cli import app
from gre.config import Settings
from gre.eval.datasets import load_dataset
from gre.eval.log import RunHeader, RunLog, SampleResult, scan_log
from gre.eval.report import REASON_CHARS, fitted, report
from gre.eval.runner import EvalConfig, EvalError, Runner
from gre.graphs.locator import Locator
from gre.tools.base import ToolRegistry
from gre.tools.exif.tool import ExifTool
from gre.tools.ocr.tool import OcrTool

KM_PER_DEGREE = 111.19492664455873
LONG_REASON = "the model replied " + "with far too many words " * 8 + "and stopped"

CONFIG = {
    "graph": "staged",
    "backend": "openai",
    "model": "qwen2.5-vl-7b",
    "ignore_metadata": True,
    "offline": True,
    "max_steps": 8,
}


def write_log(
    path: Path,
    results: list[SampleResult],
    *,
    config: dict[str, Any] | None = None,
    gre_version: str = "0.1.0",
) -> Path:
    log = RunLog(path)
    log.append(
        RunHeader(
            run_id=path.stem,
            created_at="2026-01-02T03:04:05+00:00",
            gre_version=gre_version,
            dataset={"name": "toy", "size": len(results), "content_hash": "hash-toy"},
            config=config or CONFIG,
        )
    )
    for result in results:
        log.append(result)
    log.close()
    return path


def answered(sid: str, km: float, category: str = "urban", **extra: Any) -> SampleResult:
    return SampleResult(
        sample_id=sid,
        status="ok",
        lat_true=0.0,
        lon_true=0.0,
        lat=km / KM_PER_DEGREE,
        lon=0.0,
        error_km=km,
        level="city",
        confidence=0.85,
        category=category,
        **extra,
    )


def missed(sid: str, status: str, error: str, category: str = "rural") -> SampleResult:
    return SampleResult.model_validate(
        {
            "sample_id": sid,
            "status": status,
            "lat_true": 0.0,
            "lon_true": 0.0,
            "level": "unknown",
            "confidence": 0.0,
            "category": category,
            "error": error,
        }
    )


def run_results(errors: tuple[float, float, float, float]) -> list[SampleResult]:
    trace = {"prediction": {"reason": "city-level answer from gazetteer: 'STRASBOURG'"}}
    return [
        answered("s000", errors[0], trace=trace),
        answered("s001", errors[1]),
        answered("s002", errors[2], "rural"),
        answered("s003", errors[3], "nature"),
        missed("s004", "abstained", "nothing located the photo"),
        missed("s005", "failed", f"model unavailable: {LONG_REASON}", "nature"),
    ]


A_ERRORS = (3.0, 12.0, 180.0, 700.0)
"""Street 0, city 33.3, region 50.0, country and continent 66.7 %; median 96.0 km."""
B_ERRORS = (0.2, 0.6, 9.0, 350.0)
"""Street 33.3, city 50.0, region 50.0, country and continent 66.7 %; median 4.8 km."""


@pytest.fixture
def two_runs(tmp_path: Path) -> tuple[Path, Path]:
    a = write_log(tmp_path / "tools-only.jsonl", run_results(A_ERRORS))
    other = {**CONFIG, "graph": "direct", "model": "gre-7b", "ignore_metadata": False}
    b = write_log(
        tmp_path / "with-exif.jsonl", run_results(B_ERRORS), config=other, gre_version="0.2.0"
    )
    return a, b


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("COLUMNS", "80")
    return CliRunner()


def _lines(text: str) -> list[str]:
    return text.splitlines()


# --- 80 columns --------------------------------------------------------------------------------


def test_report_fits_80_columns(
    cli: CliRunner, two_runs: tuple[Path, Path], tmp_path: Path
) -> None:
    a, b = two_runs
    out_dir = tmp_path / "r"
    args = ["report", str(a), "--compare", str(b), "--out", str(out_dir), "--bootstrap", "50"]
    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert [line for line in _lines(out) if len(line) > 80] == []
    assert "…" not in out  # nothing cut short
    # the key numbers, whole: accuracies, their differences, errors, GeoScores, counts
    for number in ("33.3", "+33.3", "50.0", "+16.7", "66.7", "96.0", "4.8", "-91.2", "224"):
        assert number in out, number
    runs = json.loads((out_dir / "report.json").read_text(encoding="utf-8"))["runs"]
    for run in runs:
        assert f"{run['summary']['geoscore_mean']:,.0f}" in out
    assert "Cont." in out and "2500 km" in out  # headers abbreviated, not cut
    assert "Configuration differences" in out and "false (EXIF read)" in out
    assert f"wrote {out_dir}" in out.replace("\n", "")


def test_narrow_tables_split_then_stack(two_runs: tuple[Path, Path], tmp_path: Path) -> None:
    for width in (60, 40, 24):
        buf = io.StringIO()
        con = Console(file=buf, width=width, color_system=None)
        report(list(two_runs), tmp_path / f"w{width}", console=con, bootstrap=0, plots=False)
        text = buf.getvalue()
        assert max(len(line) for line in _lines(text)) <= width
        assert "+33.3" in text and "66.7" in text and "-91.2" in text


def test_a_wide_console_keeps_the_full_headers(two_runs: tuple[Path, Path], tmp_path: Path) -> None:
    buf = io.StringIO()
    con = Console(file=buf, width=220, color_system=None)
    report(list(two_runs), tmp_path / "wide", console=con, bootstrap=0, plots=False)
    text = buf.getvalue()
    assert "Continent 2500 km" in text and "Street 1 km" in text
    assert "(1/2)" not in text


def test_fitted_stacks_what_cannot_be_split() -> None:
    from gre.eval.report_tables import Cell, TableSpec

    spec = TableSpec(
        title="Wide",
        columns=["Name", "A very long header", "Another long header"],
        rows=[[Cell("row-1"), Cell("12,345", "+1", True), Cell("67.8")]],
    )
    buf = io.StringIO()
    con = Console(file=buf, width=20, color_system=None)
    parts = fitted(con, spec)
    for part in parts:
        con.print(part)
    text = buf.getvalue()
    assert max(len(line) for line in _lines(text)) <= 20
    assert "12,345 (+1)" in text and "67.8" in text and "row-1" in text


# --- per-sample tables -------------------------------------------------------------------------


def test_samples_table_terminal_markdown_json(two_runs: tuple[Path, Path], tmp_path: Path) -> None:
    a, _ = two_runs
    buf = io.StringIO()
    con = Console(file=buf, width=200, color_system=None)
    out = tmp_path / "s"
    result = report([a], out, console=con, bootstrap=0, plots=False, samples=True)
    text = buf.getvalue()
    assert "Samples of tools-only" in text
    for sid in ("s000", "s001", "s002", "s003", "s004", "s005"):
        assert sid in text
    assert "abstained" in text and "failed" in text and "nothing located the photo" in text
    assert "city-level answer from gazetteer" in text  # an answer's why, from its trace
    rows = result.runs[0].samples
    assert [r.sample_id for r in rows] == ["s000", "s001", "s002", "s003", "s004", "s005"]
    assert rows[1].status == "ok" and rows[1].error_km == pytest.approx(12.0, rel=1e-6)
    assert "12.0" in text
    assert rows[1].level == "city" and rows[1].confidence == 0.85 and rows[1].category == "urban"
    assert rows[5].reason == f"model unavailable: {' '.join(LONG_REASON.split())}"
    assert rows[5].reason not in text
    assert rows[5].reason[: REASON_CHARS - 1].rstrip() + "…" in text
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "### Samples of tools-only" in md
    assert "| Sample | Status | Error km | Level | Confidence | Category | Reason |" in md
    assert "| s004 | abstained | – | unknown | 0.00 | rural | nothing located the photo |" in md
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert len(data["runs"][0]["samples"]) == 6
    assert data["runs"][0]["samples"][4]["reason"] == "nothing located the photo"


def test_samples_are_left_out_unless_asked(two_runs: tuple[Path, Path], tmp_path: Path) -> None:
    buf = io.StringIO()
    result = report(
        [two_runs[0]], tmp_path / "n", console=Console(file=buf, width=120), plots=False
    )
    assert result.runs[0].samples == [] and "Samples of" not in buf.getvalue()
    assert "Samples of" not in (tmp_path / "n" / "report.md").read_text(encoding="utf-8")


def test_cli_samples_at_80_columns(
    cli: CliRunner, two_runs: tuple[Path, Path], tmp_path: Path
) -> None:
    result = cli.invoke(
        app, ["report", str(two_runs[0]), "--samples", "--out", str(tmp_path / "c")]
    )
    assert result.exit_code == 0, result.output
    assert all(len(line) <= 80 for line in _lines(result.stdout))
    assert "Samples of tools-only" in result.stdout and "s005" in result.stdout


def test_a_reason_cannot_drive_the_terminal(tmp_path: Path) -> None:
    log = write_log(tmp_path / "x.jsonl", [missed("s\x1b[31m", "failed", "bad\x1b]0;t\x07\nline")])
    buf = io.StringIO()
    report([log], tmp_path / "x", console=Console(file=buf, width=120), plots=False, samples=True)
    assert "\x1b" not in buf.getvalue() and "\\x1b" in buf.getvalue()


# --- configuration differences -----------------------------------------------------------------


def test_compare_shows_configuration_differences(
    two_runs: tuple[Path, Path], tmp_path: Path
) -> None:
    buf = io.StringIO()
    out = tmp_path / "d"
    result = report(list(two_runs), out, console=Console(file=buf, width=120), plots=False)
    diffs = {d.key: d.values for d in result.config_differences}
    assert diffs == {
        "graph": ["staged", "direct"],
        "model": ["qwen2.5-vl-7b", "gre-7b"],
        "ignore_metadata": [True, False],
        "gre_version": ["0.1.0", "0.2.0"],
    }
    text = buf.getvalue()
    assert "Configuration differences" in text
    assert "true (EXIF not read)" in text and "false (EXIF read)" in text
    assert "offline" not in text  # the same in both runs
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "### Configuration differences" in md
    assert "| ignore_metadata | true (EXIF not read) | false (EXIF read) |" in md
    assert "| graph | staged | direct |" in md
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert {"key": "backend"} not in data["config_differences"]
    assert len(data["config_differences"]) == 4


def test_a_setting_one_log_did_not_record(tmp_path: Path) -> None:
    a = write_log(tmp_path / "old.jsonl", run_results(A_ERRORS), config={"graph": "staged"})
    b = write_log(tmp_path / "new.jsonl", run_results(A_ERRORS))
    result = report([a, b], tmp_path / "o", plots=False, write=False)
    diffs = {d.key: d.values for d in result.config_differences}
    assert diffs["backend"] == [None, "openai"] and "graph" not in diffs


def test_no_differences_no_table(tmp_path: Path) -> None:
    a = write_log(tmp_path / "a.jsonl", run_results(A_ERRORS))
    b = write_log(tmp_path / "b.jsonl", run_results(B_ERRORS))
    buf = io.StringIO()
    result = report([a, b], tmp_path / "o", console=Console(file=buf, width=120), plots=False)
    assert result.config_differences == [] and "Configuration differences" not in buf.getvalue()
    single = report([a], tmp_path / "p", plots=False, write=False)
    assert single.config_differences == []


# --- plots -------------------------------------------------------------------------------------


def _series(two_runs: tuple[Path, Path]) -> list[Any]:
    from gre.eval import plots

    result = report(list(two_runs), None, plots=False, write=False, bootstrap=50)
    return [
        plots.Series(label=entry.label, errors=[], summary=entry.summary) for entry in result.runs
    ]


def _texts(ax: Any) -> list[str]:
    return [t.get_text() for t in ax.texts]


def test_accuracy_bars_carry_labels_and_zero_markers(two_runs: tuple[Path, Path]) -> None:
    from gre.eval import plots

    series = _series(two_runs)
    fig = plots.draw_accuracy_bars(series)
    (ax,) = fig.axes
    bars = [p for c in ax.containers if hasattr(c, "patches") for p in c.patches]
    assert len(bars) == 10  # 5 thresholds x 2 runs
    labels = _texts(ax)
    assert len(labels) == len(bars)
    heights = [b.get_height() for b in bars]
    zeros = sum(1 for h in heights if h == 0)
    assert zeros == 1  # tools-only: nothing within 1 km
    assert labels.count("0") == zeros
    markers = [c for c in ax.collections if c.get_gid() == plots.ZERO_MARKER]
    assert len(markers) == zeros
    assert "33.3" in labels and "66.7" in labels


def test_category_bars_label_every_bar(two_runs: tuple[Path, Path]) -> None:
    from gre.eval import plots

    fig = plots.draw_category_bars(_series(two_runs))
    assert fig is not None
    for ax in fig.axes:
        bars = [p for c in ax.containers if hasattr(c, "patches") for p in c.patches]
        assert len(bars) == 6  # 3 categories x 2 runs
        labels = _texts(ax)
        assert len(labels) == 6
        zeros = sum(1 for b in bars if b.get_height() == 0)
        markers = [c for c in ax.collections if c.get_gid() == plots.ZERO_MARKER]
        assert labels.count("0") == zeros == len(markers)
    # 25 km: no nature sample within it in either run, no rural one in the first
    ticks = [t.get_text().split("\n")[0] for t in fig.axes[0].get_xticklabels()]
    assert ticks == ["nature", "rural", "urban"]
    assert _texts(fig.axes[0]) == ["0", "0", "100.0", "0", "50.0", "100.0"]


def test_a_category_a_run_lacks_reads_as_a_dash(tmp_path: Path) -> None:
    from gre.eval import plots

    a = write_log(
        tmp_path / "a.jsonl", [answered("s1", 5.0, "urban"), answered("s2", 5.0, "rural")]
    )
    b = write_log(tmp_path / "b.jsonl", [answered("s1", 5.0, "urban")])
    result = report([a, b], None, plots=False, write=False, bootstrap=0)
    series = [plots.Series(label=e.label, errors=[], summary=e.summary) for e in result.runs]
    fig = plots.draw_category_bars(series)
    assert fig is not None
    labels = _texts(fig.axes[0])
    assert labels.count("–") == 1 and labels.count("100.0") == 3
    assert not [c for c in fig.axes[0].collections if c.get_gid() == plots.ZERO_MARKER]


def test_plots_are_written_as_pngs(two_runs: tuple[Path, Path], tmp_path: Path) -> None:
    result = report(list(two_runs), tmp_path / "p", bootstrap=50)
    pngs = [Path(f) for f in result.files if f.endswith(".png")]
    assert {p.name for p in pngs} == {"error_cdf.png", "accuracy.png", "categories.png"}
    for png in pngs:
        with Image.open(png) as im:
            assert im.format == "PNG" and im.size[0] > 300


# --- gre eval --use-metadata on a folder dataset -----------------------------------------------


def _geotagged(folder: Path, name: str = "trip/paris.jpg") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)})
    exif[0x8825] = gps
    Image.new("RGB", (48, 32), (90, 120, 60)).save(path, exif=exif)
    return path


def test_use_metadata_on_a_folder_dataset_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    folder = tmp_path / "photos"
    _geotagged(folder)
    monkeypatch.chdir(tmp_path)
    log = tmp_path / "run.jsonl"
    result = CliRunner().invoke(
        app, ["eval", str(folder), "--use-metadata", "--out", str(log), "--quiet"]
    )
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --use-metadata: ")
    assert result.stderr.count("\n") == 1 and "metadata" in result.stderr
    assert "folder" in result.stderr and "Traceback" not in result.output
    assert not log.exists()


def test_runner_refuses_metadata_on_a_folder_dataset(tmp_path: Path, settings: Settings) -> None:
    _geotagged(tmp_path / "photos")
    data = load_dataset(tmp_path / "photos")
    with pytest.raises(EvalError, match="--use-metadata"):
        Runner(
            data,
            settings.model_copy(update={"ignore_metadata": False}),
            EvalConfig(),
            tmp_path / "x",
        )


def test_a_folder_run_names_the_photo_not_its_deleted_copy(
    tmp_path: Path, settings: Settings
) -> None:
    photo = _geotagged(tmp_path / "photos")
    data = load_dataset(tmp_path / "photos")
    registry = ToolRegistry()
    registry.register(ExifTool, package="gre")
    registry.register(OcrTool, package="gre")
    workdirs: list[Path] = []

    def factory(s: Settings) -> Locator:
        loc = Locator(s, registry=registry)
        workdirs.append(loc.workdir)
        return loc

    log = tmp_path / "run.jsonl"
    asyncio.run(
        Runner(
            data,
            settings.model_copy(update={"ignore_metadata": True}),
            EvalConfig(concurrency=1, keep_traces=True),
            log,
            locator_factory=factory,
        ).run()
    )
    contents = scan_log(log)
    assert contents.header.config["ignore_metadata"] is True
    (result,) = contents.results.values()
    trace = result.trace
    assert trace is not None
    assert trace["input_path"] == str(photo.resolve())
    assert trace["photo"]["path"] == str(photo.resolve()) and trace["photo"]["work_path"] is None
    dumped = json.dumps(trace)
    assert "eval-input" not in dumped and str(workdirs[0]) not in dumped
    assert trace["schema_version"] == 2 and trace["started_at"] and trace["finished_at"]
