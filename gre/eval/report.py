"""``gre report``: a run's metrics as tables (terminal and Markdown) and PNG plots; runs compared.

The main table follows the paper's layout (rows = runs; accuracy at Street
1 km / City 25 km / Region 200 km / Country 750 km / Continent 2500 km, then
median and mean error, GeoScore and counts). Later runs show their difference
from the first, and the settings they differ in (from their log headers). Runs on
different datasets are compared only with a warning; shards of one run can be merged
into one. A per-sample table is optional. In the terminal every table fits the
console's width: headers abbreviated, then split by columns, then one block per row.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from gre.eval.report_data import (
    ConfigDifference,
    Report,
    ReportError,
    RunData,
    RunEntry,
    SampleRow,
    build_report,
    config_differences,
    load_run,
    merge_runs,
    sample_rows,
    unique_labels,
)
from gre.eval.report_fit import fitted, render
from gre.eval.report_tables import REASON_CHARS, to_markdown

__all__ = [
    "REASON_CHARS",
    "ConfigDifference",
    "Report",
    "ReportError",
    "RunData",
    "RunEntry",
    "SampleRow",
    "build_report",
    "config_differences",
    "fitted",
    "load_run",
    "merge_runs",
    "render",
    "report",
    "sample_rows",
    "to_markdown",
    "write_files",
]


# --- files -------------------------------------------------------------------------------------


def write_files(
    report: Report, runs: Sequence[RunData], out: Path, *, plots: bool = True
) -> list[Path]:
    """``report.md``, ``report.json`` and the PNG plots in ``out``; the paths written.

    matplotlib is imported here, and only when plots are wanted.
    """
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    images: list[tuple[str, str]] = []
    if plots:
        from gre.eval import plots as p

        series = [
            p.Series(label=entry.label, errors=run.errors(), summary=entry.summary)
            for entry, run in zip(report.runs, runs, strict=True)
        ]
        drawn = [
            ("Error CDF", p.error_cdf(series, out / "error_cdf.png")),
            ("Accuracy by threshold", p.accuracy_bars(series, out / "accuracy.png")),
            ("Accuracy by category", p.category_bars(series, out / "categories.png")),
        ]
        for title, path in drawn:
            if path is not None:
                written.append(path)
                images.append((title, path.name))
    md = out / "report.md"
    md.write_text(to_markdown(report, images), encoding="utf-8")
    js = out / "report.json"
    files = [str(f) for f in (md, js, *written)]
    data = report.model_copy(update={"files": files}).model_dump(mode="json")
    js.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return [md, js, *written]


MATPLOTLIB_HINT = "pip install matplotlib"


def have_matplotlib() -> bool:
    """Whether the plots can be drawn (matplotlib is an optional dependency)."""
    return importlib.util.find_spec("matplotlib") is not None


def default_out(run: Path) -> Path:
    """``<run>.report/`` next to the run log (``runs/a.jsonl`` → ``runs/a.report/``)."""
    return run.with_name(f"{run.stem}.report")


def report(
    runs: Sequence[Path | Sequence[Path]],
    out: Path | None = None,
    *,
    console: Console | None = None,
    bootstrap: int = 1000,
    seed: int = 0,
    plots: bool = True,
    write: bool = True,
    skip_bad: bool = False,
    samples: bool = False,
) -> Report:
    """Read, summarise, print (to ``console`` if given) and write a report of ``runs``.

    Each entry of ``runs`` is a log, or a group of shard logs merged into one
    run; the first run is the baseline of the comparison. ``out`` defaults to
    :func:`default_out` of the first log; it is made before anything is printed.
    ``skip_bad`` skips bad log lines (listed in ``Report.skipped``); ``samples``
    adds a table of each run's samples (and their rows in report.json). Raises
    ReportError or LogError (both ValueErrors, one-line messages); OSError when
    ``out`` cannot be written.
    """
    if not runs:
        raise ReportError("no runs to report")
    data: list[RunData] = []
    warnings: list[str] = []
    for entry in runs:
        group = [entry] if isinstance(entry, Path) else list(entry)
        merged, notes = merge_runs([load_run(path, skip_bad=skip_bad) for path in group])
        data.append(merged)
        warnings += notes
    unique_labels(data)
    if write and plots and not have_matplotlib():
        plots = False
        warnings.append(f"no plots: matplotlib is not installed ({MATPLOTLIB_HINT})")
    result = build_report(data, bootstrap=bootstrap, seed=seed, warnings=warnings, samples=samples)
    first = runs[0] if isinstance(runs[0], Path) else runs[0][0]
    folder = out or default_out(first)
    if write:
        folder.mkdir(parents=True, exist_ok=True)
    if console is not None:
        render(console, result)
    if write:
        written = write_files(result, data, folder, plots=plots)
        result.files = [str(f) for f in written]
    return result
