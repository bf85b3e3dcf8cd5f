"""``gre report``: a run's metrics as tables (terminal and Markdown) and PNG plots; runs compared.

The main table follows the paper's layout (rows = runs; accuracy at Street
1 km / City 25 km / Region 200 km / Country 750 km / Continent 2500 km, then
median and mean error, GeoScore and counts). Later runs show their difference
from the first. Runs on different datasets are compared only with a warning;
shards of one run can be merged into one.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from rich.console import Console
from rich.table import Table
from rich.text import Text

from gre.errors import GreError
from gre.eval.log import RESULT_CONFIG, RESULT_SETTINGS, RunHeader, SampleResult, scan_log
from gre.eval.metrics import THRESHOLD_NAMES, Summary, sample_error_km, summarize

__all__ = [
    "Report",
    "ReportError",
    "RunData",
    "RunEntry",
    "build_report",
    "load_run",
    "merge_runs",
    "render",
    "report",
    "to_markdown",
    "write_files",
]

METHOD_NOTE = (
    "Error: great-circle distance (haversine, R = 6371 km). Accuracy: % of all samples "
    "within each threshold; abstentions and failures count as misses. Median and mean: "
    "over answered samples only. GeoScore: 5000·exp(−d/1492.7) averaged over all samples, "
    "a miss scoring 0."
)


class ReportError(GreError, ValueError):
    """The report cannot be made (one-line message)."""


@dataclass
class RunData:
    """A run as read from its log (or several shard logs merged)."""

    label: str
    paths: list[Path]
    header: RunHeader
    results: dict[str, SampleResult]
    run_ids: list[str] = field(default_factory=list)
    shards: list[tuple[int, int]] = field(default_factory=list)
    expected: int | None = None
    """How many samples the run was to cover (dataset size, shard, limit); None if unknown."""
    skipped: list[str] = field(default_factory=list)
    """Bad log lines skipped (``skip_bad``), one note per log."""

    def errors(self) -> list[float | None]:
        return [sample_error_km(r) for r in self.results.values()]


class RunEntry(BaseModel):
    """One run of a report."""

    label: str
    paths: list[str]
    run_ids: list[str]
    created_at: str
    dataset: dict[str, Any]
    config: dict[str, Any]
    shards: list[tuple[int, int]]
    expected: int | None
    summary: Summary


class Report(BaseModel):
    """What ``gre report --json`` prints."""

    runs: list[RunEntry]
    warnings: list[str] = Field(default_factory=list)
    skipped: list[str] = Field(
        default_factory=list, description="bad log lines skipped (--skip-bad), one note per log"
    )
    files: list[str] = Field(default_factory=list, description="written Markdown, JSON, PNGs")


# --- loading -----------------------------------------------------------------------------------


def _expected(header: RunHeader) -> int | None:
    size = header.dataset.get("size")
    if not isinstance(size, int) or isinstance(size, bool):
        return None
    k, n = header.shard
    count = len(range(k - 1, size, n)) if n >= 1 else size
    return min(count, header.limit) if header.limit else count


def load_run(path: Path, label: str | None = None, *, skip_bad: bool = False) -> RunData:
    """One run log; raises :class:`gre.eval.log.LogError` (a ValueError) when unusable.

    With ``skip_bad``, lines that are not valid records are skipped and noted.
    """
    contents = scan_log(path, skip_bad=skip_bad)
    header = contents.header
    skipped = []
    if contents.bad_lines:
        n = len(contents.bad_lines)
        skipped.append(
            f"{path}: skipped {n} bad line{'s' if n > 1 else ''} (first: {contents.bad_lines[0]})"
        )
    return RunData(
        label=label or path.stem,
        paths=[path],
        header=header,
        results=contents.results,
        run_ids=[header.run_id],
        shards=[header.shard],
        expected=_expected(header),
        skipped=skipped,
    )


def _dataset_key(header: RunHeader) -> str | None:
    value = header.dataset.get("content_hash") or header.dataset.get("name")
    return str(value) if value else None


_CONFIG_KEYS = (*RESULT_SETTINGS, *RESULT_CONFIG)


def merge_runs(parts: Sequence[RunData]) -> tuple[RunData, list[str]]:
    """Shards of one run as one run, and warnings; raises ReportError if they cannot be merged."""
    if not parts:
        raise ReportError("nothing to merge")
    if len(parts) == 1:
        return parts[0], []
    first = parts[0]
    keys = {_dataset_key(p.header) for p in parts}
    if len(keys) > 1:
        names = ", ".join(f"{p.label} ({str(_dataset_key(p.header))[:12]})" for p in parts)
        raise ReportError(f"cannot merge runs on different datasets: {names}")
    owner: dict[str, str] = {}
    results: dict[str, SampleResult] = {}
    for p in parts:
        for sid, r in p.results.items():
            if sid in owner:
                raise ReportError(
                    f"sample {sid!r} is in both {owner[sid]} and {p.label}: "
                    "not shards of one run (report them with --compare instead)"
                )
            owner[sid] = p.label
            results[sid] = r
    warnings: list[str] = []
    shards = [s for p in parts for s in p.shards]
    totals = {n for _, n in shards}
    if len(totals) > 1:
        warnings.append(f"merged logs come from different shardings: {sorted(shards)}")
    else:
        (total,) = totals
        missing = sorted(set(range(1, total + 1)) - {k for k, _ in shards})
        if missing:
            listed = ", ".join(str(k) for k in missing)
            warnings.append(f"merged run lacks shard(s) {listed} of {total}")
    differ = [k for k in _CONFIG_KEYS if len({repr(p.header.config.get(k)) for p in parts}) > 1]
    if differ:
        warnings.append(f"merged logs differ in config: {', '.join(differ)}")
    expected = [p.expected for p in parts]
    stems = "+".join(p.label for p in parts)
    merged = RunData(
        label=stems if len(stems) <= 40 else f"{first.label}+{len(parts) - 1}",
        paths=[path for p in parts for path in p.paths],
        header=first.header,
        results=results,
        run_ids=[i for p in parts for i in p.run_ids],
        shards=sorted(shards),
        expected=None if None in expected else sum(e for e in expected if e is not None),
        skipped=[note for p in parts for note in p.skipped],
    )
    return merged, warnings


def _unique_labels(runs: Sequence[RunData]) -> None:
    """Runs with the same name are told apart by their folder, else by their position."""
    labels = [run.label for run in runs]
    for run in runs:
        if labels.count(run.label) > 1:
            run.label = f"{run.paths[0].parent.name}/{run.label}"
    seen: set[str] = set()
    for i, run in enumerate(runs, start=1):
        if run.label in seen:
            run.label = f"{run.label}#{i}"
        seen.add(run.label)


# --- the report --------------------------------------------------------------------------------


def _comparison_warnings(runs: Sequence[RunData]) -> list[str]:
    warnings: list[str] = []
    for run in runs:
        retryable = sum(1 for r in run.results.values() if r.retryable)
        if retryable:
            warnings.append(
                f"{run.label}: {retryable} sample(s) failed because the model was unavailable; "
                "run the same gre eval again to retry them"
            )
        if not run.results:
            warnings.append(f"{run.label}: no results yet")
        elif run.expected is not None and len(run.results) < run.expected:
            warnings.append(
                f"{run.label}: {len(run.results)} of {run.expected} samples have results "
                "(unfinished run?)"
            )
    base = runs[0]
    base_key = _dataset_key(base.header)
    for run in runs[1:]:
        key = _dataset_key(run.header)
        if key != base_key:
            warnings.append(
                f"{run.label} is on a different dataset than {base.label} "
                f"({str(key)[:12]} vs {str(base_key)[:12]}): compare with care"
            )
        elif set(run.results) != set(base.results):
            common = len(set(run.results) & set(base.results))
            warnings.append(
                f"{run.label} and {base.label} cover different samples "
                f"({len(run.results)} vs {len(base.results)}, {common} in common)"
            )
    return warnings


def build_report(
    runs: Sequence[RunData], *, bootstrap: int = 1000, seed: int = 0, warnings: Sequence[str] = ()
) -> Report:
    """Summaries of ``runs`` (the first is the baseline) and what to be careful about."""
    if not runs:
        raise ReportError("no runs to report")
    entries = [
        RunEntry(
            label=run.label,
            paths=[str(p) for p in run.paths],
            run_ids=run.run_ids,
            created_at=run.header.created_at,
            dataset=run.header.dataset,
            config=run.header.config,
            shards=run.shards,
            expected=run.expected,
            summary=summarize(run.results.values(), bootstrap=bootstrap, seed=seed),
        )
        for run in runs
    ]
    return Report(
        runs=entries,
        warnings=[*warnings, *_comparison_warnings(runs)],
        skipped=[note for run in runs for note in run.skipped],
    )


# --- tables (one model, rendered to rich and to Markdown) --------------------------------------


@dataclass(frozen=True)
class _Cell:
    text: str
    delta: str = ""
    better: bool | None = None


@dataclass
class _Table:
    title: str
    columns: list[str]
    rows: list[list[_Cell]] = field(default_factory=list)
    section_ends: set[int] = field(default_factory=set)
    caption: str = ""
    text_columns: int = 1
    """How many leading columns hold text (left-aligned); the rest are numbers."""


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _km(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}" if x >= 1 else f"{x:.2f}"


def _delta(
    value: float | None, base: float | None, digits: int, higher_is_better: bool, scale: float = 1
) -> _Cell:
    """The difference from the baseline; ``better`` is None when it rounds to nothing."""
    if value is None or base is None:
        return _Cell("")
    diff = round((value - base) * scale, digits)
    if diff == 0:
        return _Cell("", "±0", None)
    return _Cell("", f"{diff:+,.{digits}f}", (diff > 0) == higher_is_better)


def _km_delta(value: float | None, base: float | None) -> _Cell:
    """A difference in km, with as many decimals as :func:`_km` gives the smaller value."""
    if value is None or base is None:
        return _Cell("")
    smaller = min(value, base)
    return _delta(value, base, 0 if smaller >= 100 else 1 if smaller >= 1 else 2, False)


def _acc_delta(value: float | None, base: float | None) -> _Cell:
    """An accuracy difference in percentage points."""
    return _delta(value, base, 1, True, scale=100)


def _with_delta(text: str, delta: _Cell | None) -> _Cell:
    if delta is None or not delta.delta:
        return _Cell(text)
    return _Cell(text, delta.delta, delta.better)


def _threshold_column(t: float) -> str:
    name = THRESHOLD_NAMES.get(t)
    return f"{name} {t:g} km" if name else f"{t:g} km"


def _main_table(report: Report) -> _Table:
    runs = report.runs
    thresholds = runs[0].summary.thresholds
    table = _Table(
        title="Accuracy (% of samples within)",
        columns=[
            "Run",
            *(_threshold_column(t) for t in thresholds),
            "Median km",
            "Mean km",
            "GeoScore",
            "n",
            "Abstained",
            "Failed",
        ],
    )
    base = runs[0].summary
    for i, run in enumerate(runs):
        s = run.summary
        cmp = i > 0
        cells = [_Cell(run.label)]
        for t in thresholds:
            d = _acc_delta(s.accuracy.get(t), base.accuracy.get(t)) if cmp else None
            cells.append(_with_delta(_pct(s.accuracy.get(t, 0.0)), d))
        for value, base_value in ((s.median_km, base.median_km), (s.mean_km, base.mean_km)):
            d = _km_delta(value, base_value) if cmp else None
            cells.append(_with_delta(_km(value), d))
        d = _delta(s.geoscore_mean, base.geoscore_mean, 0, True) if cmp else None
        cells.append(_with_delta(f"{s.geoscore_mean:,.0f}", d))
        cells += [_Cell(str(s.n)), _Cell(str(s.n_abstained)), _Cell(str(s.n_failed))]
        table.rows.append(cells)
    if len(runs) > 1:
        table.caption = (
            f"+/−: difference from {runs[0].label} (accuracy in percentage points); green is better"
        )
    return table


def _ci_table(report: Report) -> _Table | None:
    runs = [r for r in report.runs if r.summary.ci]
    if not runs:
        return None
    s0 = runs[0].summary
    thresholds = s0.thresholds
    table = _Table(
        title=f"{s0.confidence:.0%} bootstrap confidence intervals (% of samples within)",
        columns=["Run", *(_threshold_column(t) for t in thresholds)],
        caption=f"percentile bootstrap, {s0.bootstrap} resamples of the samples, seed {s0.seed}",
    )
    for run in runs:
        ci = run.summary.ci
        table.rows.append(
            [
                _Cell(run.label),
                *(
                    _Cell(f"{_pct(ci[t][0])}–{_pct(ci[t][1])}" if t in ci else "–")
                    for t in thresholds
                ),
            ]
        )
    return table


def _category_table(report: Report) -> _Table | None:
    names: dict[str, None] = {}
    for run in report.runs:
        for name in run.summary.per_category:
            names.setdefault(name, None)
    if not names:
        return None
    multi = len(report.runs) > 1
    thresholds = report.runs[0].summary.thresholds
    table = _Table(
        title="By category (% of samples within)",
        columns=[
            "Category",
            *(["Run"] if multi else []),
            "n",
            *(_threshold_column(t) for t in thresholds),
            "Median km",
        ],
        text_columns=2 if multi else 1,
    )
    base_cats = report.runs[0].summary.per_category
    for name in names:
        base = base_cats.get(name)
        for i, run in enumerate(report.runs):
            cat = run.summary.per_category.get(name)
            if cat is None:
                continue
            cmp = i > 0 and base is not None
            cells = [_Cell(name if i == 0 or not multi else "")]
            if multi:
                cells.append(_Cell(run.label))
            cells.append(_Cell(str(cat.n)))
            for t in thresholds:
                d = _acc_delta(cat.accuracy.get(t), base.accuracy.get(t)) if base and cmp else None
                cells.append(_with_delta(_pct(cat.accuracy.get(t, 0.0)), d))
            d = _km_delta(cat.median_km, base.median_km) if cmp and base else None
            cells.append(_with_delta(_km(cat.median_km), d))
            table.rows.append(cells)
        if multi:
            table.section_ends.add(len(table.rows) - 1)
    return table


def _runs_table(report: Report) -> _Table:
    table = _Table(
        title="Runs",
        columns=["Run", "Run id", "Dataset", "Model", "Graph", "Shard", "Created"],
        text_columns=7,
    )
    for run in report.runs:
        ds = run.dataset
        dataset = str(ds.get("name") or "?")
        if ds.get("content_hash"):
            dataset += f" ({str(ds['content_hash'])[:12]})"
        shards = ", ".join(f"{k}/{n}" for k, n in run.shards)
        model = run.config.get("model") or run.config.get("backend") or "–"
        table.rows.append(
            [
                _Cell(run.label),
                _Cell(", ".join(run.run_ids)),
                _Cell(dataset),
                _Cell(str(model)),
                _Cell(str(run.config.get("graph") or "–")),
                _Cell(shards),
                _Cell(run.created_at),
            ]
        )
    return table


def _tables(report: Report) -> list[_Table]:
    tables = [_runs_table(report), _main_table(report)]
    tables += [t for t in (_ci_table(report), _category_table(report)) if t is not None]
    return tables


def _rich_table(spec: _Table) -> Table:
    table = Table(title=spec.title, caption=spec.caption or None, title_justify="left")
    for i, name in enumerate(spec.columns):
        table.add_column(name, justify="left" if i < spec.text_columns else "right")
    for i, row in enumerate(spec.rows):
        cells = []
        for cell in row:
            text = Text(cell.text)
            if cell.delta:
                style = {True: "green", False: "red", None: "dim"}[cell.better]
                text.append(f" {cell.delta}", style=style)
            cells.append(text)
        table.add_row(*cells, end_section=i in spec.section_ends)
    return table


def render(console: Console, report: Report) -> None:
    """The report's tables and warnings, printed to ``console``."""
    for warning in report.warnings:
        console.print(Text(f"warning: {warning}", style="yellow"))
    for spec in _tables(report):
        console.print(_rich_table(spec))
    console.print(Text(METHOD_NOTE, style="dim"))


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(spec: _Table) -> str:
    lines = [f"### {spec.title}", ""]
    lines.append("| " + " | ".join(_md_escape(c) for c in spec.columns) + " |")
    align = [":--" if i < spec.text_columns else "--:" for i in range(len(spec.columns))]
    lines.append("|" + "|".join(align) + "|")
    for row in spec.rows:
        cells = [c.text + (f" ({c.delta})" if c.delta else "") for c in row]
        lines.append("| " + " | ".join(_md_escape(c) for c in cells) + " |")
    if spec.caption:
        lines += ["", f"*{spec.caption}*"]
    return "\n".join(lines)


def to_markdown(report: Report, images: Sequence[tuple[str, str]] = ()) -> str:
    """The report as Markdown; ``images`` are (title, relative path) pairs to embed."""
    labels = ", ".join(r.label for r in report.runs)
    parts = [f"# gre evaluation report: {labels}", "", METHOD_NOTE]
    notes = [*report.skipped, *report.warnings]
    if notes:
        parts += ["", *(f"> **Warning:** {_md_escape(w)}" for w in notes)]
    for spec in _tables(report):
        parts += ["", _md_table(spec)]
    if images:
        parts += ["", "## Plots"]
        for title, rel in images:
            parts += ["", f"![{title}]({rel})"]
    return "\n".join(parts) + "\n"


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
) -> Report:
    """Read, summarise, print (to ``console`` if given) and write a report of ``runs``.

    Each entry of ``runs`` is a log, or a group of shard logs merged into one
    run; the first run is the baseline of the comparison. ``out`` defaults to
    :func:`default_out` of the first log; it is made before anything is printed.
    ``skip_bad`` skips bad log lines (listed in ``Report.skipped``). Raises
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
    _unique_labels(data)
    if write and plots and not have_matplotlib():
        plots = False
        warnings.append(f"no plots: matplotlib is not installed ({MATPLOTLIB_HINT})")
    result = build_report(data, bootstrap=bootstrap, seed=seed, warnings=warnings)
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
