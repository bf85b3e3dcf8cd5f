"""``gre report``: tables, Markdown, PNG plots, comparisons, merged shards and the CLI."""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from PIL import Image
from rich.console import Console
from typer.testing import CliRunner

from gre.cli import app
from gre.eval.log import LogError, RunHeader, RunLog, SampleResult
from gre.eval.report import ReportError, default_out, report

KM_PER_DEGREE = 2 * math.pi * 6371.0 / 360

# (error km or "abstained"/"failed", category)
Row = tuple[float | str, str | None]
RUN_A: list[Row] = [
    (0.5, "urban"),
    (10.0, "urban"),
    (100.0, "rural"),
    (500.0, "rural"),
    (2000.0, "nature"),
    (5000.0, "nature"),
    ("abstained", "urban"),
    ("failed", "nature"),
    (20.0, "urban"),
    (300.0, "rural"),
]
# B: every answer better, no abstention.
RUN_B: list[Row] = [
    (0.2, "urban"),
    (0.8, "urban"),
    (20.0, "rural"),
    (150.0, "rural"),
    (700.0, "nature"),
    (2400.0, "nature"),
    (30.0, "urban"),
    ("failed", "nature"),
    (5.0, "urban"),
    (100.0, "rural"),
]


def write_run(
    path: Path,
    rows: Sequence[Row],
    *,
    content_hash: str = "hash-toy-v1",
    size: int | None = None,
    shard: tuple[int, int] = (1, 1),
    ids: Sequence[str] | None = None,
    model: str = "qwen2.5-vl-7b",
) -> Path:
    log = RunLog(path)
    log.append(
        RunHeader(
            run_id=path.stem,
            created_at="2026-01-02T03:04:05+00:00",
            gre_version="0.1.0",
            dataset={"name": "toy", "size": size or len(rows), "content_hash": content_hash},
            config={"graph": "staged", "backend": "openai", "model": model},
            shard=shard,
        )
    )
    for i, (outcome, category) in enumerate(rows):
        sid = ids[i] if ids else f"s{i:03d}"
        if isinstance(outcome, str):
            log.append(
                SampleResult.model_validate(
                    {
                        "sample_id": sid,
                        "status": outcome,
                        "lat_true": 0.0,
                        "lon_true": 0.0,
                        "category": category,
                    }
                )
            )
        else:
            log.append(
                SampleResult(
                    sample_id=sid,
                    status="ok",
                    lat_true=0.0,
                    lon_true=0.0,
                    lat=outcome / KM_PER_DEGREE,
                    lon=0.0,
                    error_km=outcome,
                    category=category,
                )
            )
    log.close()
    return path


def console(color: bool = False) -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(
        file=buf, width=220, force_terminal=color, color_system="standard" if color else None
    ), buf


@pytest.fixture
def run_a(tmp_path: Path) -> Path:
    return write_run(tmp_path / "run-a.jsonl", RUN_A)


@pytest.fixture
def run_b(tmp_path: Path) -> Path:
    return write_run(tmp_path / "run-b.jsonl", RUN_B, model="gre-7b")


def _valid_png(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        assert im.format == "PNG"
        im.load()
        return im.size


# --- one run -----------------------------------------------------------------------------------


def test_single_run_tables_markdown_and_plots(run_a: Path, tmp_path: Path) -> None:
    con, buf = console()
    out = tmp_path / "out"
    result = report([run_a], out, console=con, bootstrap=500, seed=1)
    text = buf.getvalue()
    for column in ("Street 1 km", "City 25 km", "Region 200 km", "Country 750 km"):
        assert column in text
    assert "Continent 2500 km" in text and "GeoScore" in text and "Median km" in text
    # 10 samples: within 1 km 1, 25 km 3, 200 km 4, 750 km 6, 2500 km 7
    row = next(line for line in text.splitlines() if line.startswith("│ run-a ") and "10" in line)
    for value in ("10.0", "30.0", "40.0", "60.0", "70.0"):
        assert value in row
    s = result.runs[0].summary
    assert (s.n, s.n_ok, s.n_abstained, s.n_failed) == (10, 8, 1, 1)
    assert s.median_km == pytest.approx(200.0)  # (100 + 300) / 2 over 8 answers
    assert "bootstrap" in text and "By category" in text
    assert "urban" in text and "nature" in text
    assert "haversine, R = 6371 km" in text

    md = (out / "report.md").read_text(encoding="utf-8")
    assert "| run-a | 10.0 | 30.0 | 40.0 | 60.0 | 70.0 | 200 |" in md
    assert "95% bootstrap confidence intervals" in md
    lo, hi = s.ci[25.0]
    assert f"{100 * lo:.1f}–{100 * hi:.1f}" in md
    assert "![Error CDF](error_cdf.png)" in md
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert data["runs"][0]["summary"]["accuracy"]["25.0"] == pytest.approx(0.3)
    for name in ("error_cdf.png", "accuracy.png", "categories.png"):
        width, height = _valid_png(out / name)
        assert width > 300 and height > 200
    assert sorted(Path(f).name for f in result.files) == [
        "accuracy.png",
        "categories.png",
        "error_cdf.png",
        "report.json",
        "report.md",
    ]


def test_default_out_is_next_to_the_log(run_a: Path) -> None:
    assert default_out(run_a) == run_a.parent / "run-a.report"
    report([run_a], bootstrap=0, plots=False)
    assert (run_a.parent / "run-a.report" / "report.md").is_file()
    assert not (run_a.parent / "run-a.report" / "error_cdf.png").exists()


def test_without_matplotlib_the_markdown_is_still_written(
    run_a: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("gre.eval.report.have_matplotlib", lambda: False)
    result = report([run_a], tmp_path / "out", bootstrap=0)
    assert result.warnings == ["no plots: matplotlib is not installed (pip install matplotlib)"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["report.json", "report.md"]
    assert "## Plots" not in (tmp_path / "out" / "report.md").read_text(encoding="utf-8")


def test_without_categories_or_bootstrap(tmp_path: Path) -> None:
    log = write_run(tmp_path / "plain.jsonl", [(1.0, None), (50.0, None), ("abstained", None)])
    con, buf = console()
    result = report([log], tmp_path / "out", console=con, bootstrap=0)
    text = buf.getvalue()
    assert "By category" not in text and "bootstrap" not in text
    assert not (tmp_path / "out" / "categories.png").exists()
    assert result.runs[0].summary.ci == {}
    _valid_png(tmp_path / "out" / "error_cdf.png")


def test_empty_run_warns(tmp_path: Path) -> None:
    log = write_run(tmp_path / "empty.jsonl", [], size=5)
    con, buf = console()
    result = report([log], tmp_path / "out", console=con)
    assert "empty: no results yet" in result.warnings
    assert "warning: empty: no results yet" in buf.getvalue()
    _valid_png(tmp_path / "out" / "error_cdf.png")


def test_unfinished_run_warns(tmp_path: Path) -> None:
    log = write_run(tmp_path / "partial.jsonl", RUN_A[:4], size=10)
    result = report([log], tmp_path / "out", bootstrap=0, plots=False)
    assert result.warnings == ["partial: 4 of 10 samples have results (unfinished run?)"]


# --- comparisons -------------------------------------------------------------------------------


def test_compare_shows_deltas(run_a: Path, run_b: Path, tmp_path: Path) -> None:
    con, buf = console()
    result = report([run_a, run_b], tmp_path / "cmp", console=con, bootstrap=200)
    text = buf.getvalue()
    assert [r.label for r in result.runs] == ["run-a", "run-b"]
    assert result.warnings == []
    # B within 1 / 25 / 200 / 750 / 2500 km: 2, 4, 7, 8, 9 of 10; A: 1, 3, 4, 6, 7
    row_b = next(line for line in text.splitlines() if line.startswith("│ run-b ") and "+1" in line)
    for cell in ("20.0 +10.0", "40.0 +10.0", "70.0 +30.0", "80.0 +20.0", "90.0 +20.0"):
        assert cell in row_b
    assert "difference from run-a" in text
    md = (tmp_path / "cmp" / "report.md").read_text(encoding="utf-8")
    assert "| run-b | 20.0 (+10.0) | 40.0 (+10.0) | 70.0 (+30.0) | 80.0 (+20.0) |" in md
    assert "gre-7b" in md and "qwen2.5-vl-7b" in md
    # per-category deltas: urban within 1 km, A 1/4, B 2/4
    assert "| urban | run-a | 4 | 25.0 |" in md
    assert "|  | run-b | 4 | 50.0 (+25.0) |" in md


def test_compare_colours_better_green_and_worse_red(
    run_a: Path, run_b: Path, tmp_path: Path
) -> None:
    con, buf = console(color=True)
    report([run_a, run_b], tmp_path / "c", console=con, bootstrap=0, plots=False)
    text = buf.getvalue()
    assert "\x1b[32m +20.0" in text  # accuracy up: green
    assert "\x1b[32m -" in text  # median down: green too
    con, buf = console(color=True)
    report([run_b, run_a], tmp_path / "d", console=con, bootstrap=0, plots=False)
    assert "\x1b[31m -20.0" in buf.getvalue()  # accuracy down: red


def test_compare_plots_one_series_per_run(run_a: Path, run_b: Path, tmp_path: Path) -> None:
    report([run_a, run_b], tmp_path / "p", bootstrap=100)
    for name in ("error_cdf.png", "accuracy.png", "categories.png"):
        _valid_png(tmp_path / "p" / name)


def test_different_datasets_are_compared_with_a_warning(run_a: Path, tmp_path: Path) -> None:
    other = write_run(tmp_path / "other.jsonl", RUN_B, content_hash="hash-other")
    con, buf = console()
    result = report([run_a, other], tmp_path / "x", console=con, bootstrap=0, plots=False)
    assert len(result.warnings) == 1 and "different dataset" in result.warnings[0]
    assert "warning:" in buf.getvalue()
    md = (tmp_path / "x" / "report.md").read_text(encoding="utf-8")
    assert "> **Warning:**" in md and "different dataset" in md


def test_different_samples_warn(run_a: Path, tmp_path: Path) -> None:
    fewer = write_run(tmp_path / "fewer.jsonl", RUN_B[:6], size=10)
    result = report([run_a, fewer], tmp_path / "x", bootstrap=0, plots=False)
    assert "fewer and run-a cover different samples (6 vs 10, 6 in common)" in result.warnings


def test_same_names_are_told_apart(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    a = write_run(tmp_path / "one" / "run.jsonl", RUN_A)
    b = write_run(tmp_path / "two" / "run.jsonl", RUN_B)
    result = report([a, b], tmp_path / "x", bootstrap=0, plots=False)
    assert [r.label for r in result.runs] == ["one/run", "two/run"]


# --- merged shards -----------------------------------------------------------------------------


def _shards(tmp_path: Path, hashes: tuple[str, str] = ("h", "h")) -> list[Path]:
    ids = [f"s{i:03d}" for i in range(len(RUN_A))]
    return [
        write_run(
            tmp_path / f"shard{k}.jsonl",
            RUN_A[k - 1 :: 2],
            content_hash=hashes[k - 1],
            size=len(RUN_A),
            shard=(k, 2),
            ids=ids[k - 1 :: 2],
        )
        for k in (1, 2)
    ]


def test_merged_shards_equal_the_whole_run(run_a: Path, tmp_path: Path) -> None:
    whole = report([run_a], tmp_path / "w", bootstrap=100, plots=False).runs[0]
    merged = report([_shards(tmp_path)], tmp_path / "m", bootstrap=100, plots=False)
    entry = merged.runs[0]
    assert merged.warnings == []
    assert entry.label == "shard1+shard2" and entry.shards == [(1, 2), (2, 2)]
    assert entry.run_ids == ["shard1", "shard2"] and entry.expected == 10
    assert entry.summary.model_dump() == whole.summary.model_dump()


def test_merge_warns_about_a_missing_shard(tmp_path: Path) -> None:
    first, _ = _shards(tmp_path)
    result = report([[first]], tmp_path / "m", bootstrap=0, plots=False)
    assert result.warnings == [] and result.runs[0].expected == 5  # a whole shard
    three = write_run(
        tmp_path / "s3.jsonl", [(1.0, None)], shard=(3, 3), ids=["zzz"], content_hash="h"
    )
    one = write_run(
        tmp_path / "s1.jsonl", [(1.0, None)], shard=(1, 3), ids=["aaa"], content_hash="h"
    )
    result = report([[one, three]], tmp_path / "m2", bootstrap=0, plots=False)
    assert "merged run lacks shard(s) 2 of 3" in result.warnings


def test_merge_refuses_other_datasets_and_overlaps(run_a: Path, tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="different datasets"):
        report([_shards(tmp_path, ("h1", "h2"))], tmp_path / "m", plots=False)
    with pytest.raises(ReportError, match="not shards of one run"):
        report([[run_a, run_a]], tmp_path / "m", plots=False)


def test_bad_logs_raise_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(LogError, match="cannot read run log"):
        report([tmp_path / "missing.jsonl"], tmp_path / "o")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "result"}\n', encoding="utf-8")
    with pytest.raises(LogError):
        report([bad], tmp_path / "o")
    with pytest.raises(ReportError):
        report([], tmp_path / "o")


# --- the command line --------------------------------------------------------------------------


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


def test_cli_report(runner: CliRunner, run_a: Path, run_b: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli"
    args = ["report", str(run_a), "--compare", str(run_b), "--out", str(out), "--bootstrap", "50"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "City 25 km" in result.stdout and "40.0 +10.0" in result.stdout
    assert f"wrote {out}/" in result.stdout
    assert (out / "report.md").is_file() and (out / "accuracy.png").is_file()


def test_cli_report_json(runner: CliRunner, run_a: Path, tmp_path: Path) -> None:
    args = ["report", str(run_a), "--json", "--out", str(tmp_path / "j"), "--seed", "5"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    summary = data["runs"][0]["summary"]
    assert summary["n"] == 10 and summary["seed"] == 5 and summary["bootstrap"] == 1000
    assert summary["accuracy"]["750.0"] == pytest.approx(0.6)
    assert len(data["files"]) == 5


def test_cli_report_merge(runner: CliRunner, tmp_path: Path) -> None:
    shards = [str(p) for p in _shards(tmp_path)]
    result = runner.invoke(
        app, ["report", *shards, "--merge", "--json", "--out", str(tmp_path / "m")]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(data["runs"]) == 1 and data["runs"][0]["summary"]["n"] == 10
    result = runner.invoke(app, ["report", *shards, "--json", "--out", str(tmp_path / "n")])
    assert result.exit_code == 0 and len(json.loads(result.stdout)["runs"]) == 2


def test_cli_report_errors(runner: CliRunner, run_a: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", str(tmp_path / "missing.jsonl")])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n{}\n", encoding="utf-8")
    result = runner.invoke(app, ["report", str(bad)])
    assert result.exit_code == 2 and "bad.jsonl: not a gre eval log" in result.stderr
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    result = runner.invoke(app, ["report", str(run_a), "--out", str(blocker)])
    assert result.exit_code == 1 and result.stderr.startswith("error: cannot write the report")
    result = runner.invoke(app, ["report", str(run_a), "--bootstrap", "-1"])
    assert result.exit_code == 2


def test_help_imports_neither_matplotlib_nor_numpy() -> None:
    code = (
        "import sys\n"
        "from gre.cli import app\n"
        "try:\n"
        "    app(['report', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in ('matplotlib', 'numpy') if m in sys.modules))\n"
        "import gre.eval.report\n"
        "print('matplotlib' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip().splitlines()[-2:] == ["[]", "False"]
