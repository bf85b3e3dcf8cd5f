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

import datetime as dt
import importlib.util
import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from gre.errors import GreError
from gre.eval.log import RESULT_CONFIG, RESULT_SETTINGS, RunHeader, SampleResult, scan_log
from gre.eval.metrics import THRESHOLD_NAMES, Summary, sample_error_km, summarize
from gre.textnorm import printable

__all__ = [
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


class SampleRow(BaseModel):
    """One sample of a run, as ``--samples`` lists it."""

    sample_id: str
    status: str
    error_km: float | None = None
    level: str | None = None
    confidence: float | None = None
    category: str | None = None
    reason: str = Field(default="", description="why it failed or abstained, or the answer's why")


class RunEntry(BaseModel):
    """One run of a report."""

    label: str
    paths: list[str]
    run_ids: list[str]
    created_at: str
    gre_version: str = ""
    dataset: dict[str, Any]
    config: dict[str, Any]
    shards: list[tuple[int, int]]
    expected: int | None
    summary: Summary
    samples: list[SampleRow] = Field(
        default_factory=list, description="per-sample rows, by sample id (with --samples)"
    )


class ConfigDifference(BaseModel):
    """A setting on which compared runs differ, from their log headers."""

    key: str
    values: list[Any] = Field(description="one per run, in order; null where not recorded")


class Report(BaseModel):
    """What ``gre report --json`` prints."""

    runs: list[RunEntry]
    config_differences: list[ConfigDifference] = Field(
        default_factory=list, description="settings that differ between the compared runs"
    )
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


_HEADER_KEYS = ("gre_version", "git_revision")
"""Header fields compared besides the config (the code that made each run)."""


def config_differences(runs: Sequence[RunData]) -> list[ConfigDifference]:
    """The settings that differ between ``runs``: result-changing ones first, then the rest."""
    if len(runs) < 2:
        return []
    configs = [run.header.config for run in runs]
    others = sorted({k for c in configs for k in c} - set(_CONFIG_KEYS))
    found: list[ConfigDifference] = []
    for key in (*_CONFIG_KEYS, *others):
        values = [c.get(key) for c in configs]
        if len({json.dumps(v, sort_keys=True, default=str) for v in values}) > 1:
            found.append(ConfigDifference(key=key, values=values))
    for key in _HEADER_KEYS:
        values = [getattr(run.header, key) for run in runs]
        if len(set(values)) > 1:
            found.append(ConfigDifference(key=key, values=values))
    return found


def _one_line(text: str) -> str:
    return printable(" ".join(text.split()))


def _reason(result: SampleResult) -> str:
    """Why a sample failed or abstained; for an answer, its why when the trace was kept."""
    if result.error:
        return _one_line(result.error)
    prediction = (result.trace or {}).get("prediction")
    why = prediction.get("reason") if isinstance(prediction, dict) else None
    return _one_line(why) if isinstance(why, str) else ""


def sample_rows(run: RunData) -> list[SampleRow]:
    """One row per sample of ``run``, by sample id."""
    return [
        SampleRow(
            sample_id=r.sample_id,
            status=r.status,
            error_km=sample_error_km(r),
            level=r.level,
            confidence=r.confidence,
            category=r.category,
            reason=_reason(r),
        )
        for _, r in sorted(run.results.items())
    ]


def build_report(
    runs: Sequence[RunData],
    *,
    bootstrap: int = 1000,
    seed: int = 0,
    warnings: Sequence[str] = (),
    samples: bool = False,
) -> Report:
    """Summaries of ``runs`` (the first is the baseline) and what to be careful about.

    ``samples`` adds each run's per-sample rows.
    """
    if not runs:
        raise ReportError("no runs to report")
    entries = [
        RunEntry(
            label=run.label,
            paths=[str(p) for p in run.paths],
            run_ids=run.run_ids,
            created_at=run.header.created_at,
            gre_version=run.header.gre_version,
            dataset=run.header.dataset,
            config=run.header.config,
            shards=run.shards,
            expected=run.expected,
            summary=summarize(run.results.values(), bootstrap=bootstrap, seed=seed),
            samples=sample_rows(run) if samples else [],
        )
        for run in runs
    ]
    return Report(
        runs=entries,
        config_differences=config_differences(runs),
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
    """How many leading columns name the row (left-aligned, repeated when a table is split)."""
    short: list[str] | None = None
    """Narrow headers for the terminal (a line break allowed); default: ``columns``."""
    left: frozenset[int] = frozenset()
    """Other text columns (left-aligned); the rest hold numbers."""
    wrap: frozenset[int] = frozenset()
    """Columns of free text that may wrap in the terminal."""
    breaks: tuple[int, ...] = ()
    """Columns where a table too wide for the terminal is best split."""


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


_SHORT_NAMES = {"Continent": "Cont."}


def _threshold_column(t: float) -> str:
    name = THRESHOLD_NAMES.get(t)
    return f"{name} {t:g} km" if name else f"{t:g} km"


def _threshold_short(t: float) -> str:
    name = THRESHOLD_NAMES.get(t)
    return f"{_SHORT_NAMES.get(name, name)}\n{t:g} km" if name else f"{t:g} km"


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
        short=[
            "Run",
            *(_threshold_short(t) for t in thresholds),
            "Median\nkm",
            "Mean\nkm",
            "Geo-\nScore",
            "n",
            "Abst.",
            "Fail.",
        ],
        breaks=(1 + len(thresholds),),
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
        short=["Run", *(_threshold_short(t) for t in thresholds)],
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
        short=[
            "Category",
            *(["Run"] if multi else []),
            "n",
            *(_threshold_short(t) for t in thresholds),
            "Median\nkm",
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


def _created(text: str) -> str:
    """A header's ISO time as ``YYYY-MM-DD HH:MM`` (UTC when it says so); else as given."""
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return text
    if when.utcoffset() == dt.timedelta(0):
        return when.strftime("%Y-%m-%d %H:%M UTC")
    return when.strftime("%Y-%m-%d %H:%M%z") if when.tzinfo else when.strftime("%Y-%m-%d %H:%M")


def _runs_table(report: Report) -> _Table:
    sharded = any(run.shards != [(1, 1)] for run in report.runs)
    columns = ["Run", "Run id", "Dataset", "Model", "Graph", *(["Shard"] if sharded else [])]
    table = _Table(
        title="Runs",
        columns=[*columns, "Created"],
        left=frozenset(range(len(columns) + 1)),
        wrap=frozenset({1, 2, 3}),
    )
    for run in report.runs:
        ds = run.dataset
        dataset = str(ds.get("name") or "?")
        if ds.get("content_hash"):
            dataset += f" ({str(ds['content_hash'])[:12]})"
        model = run.config.get("model") or run.config.get("backend") or "–"
        shards = ", ".join(f"{k}/{n}" for k, n in run.shards)
        table.rows.append(
            [
                _Cell(run.label),
                _Cell(", ".join(run.run_ids)),
                _Cell(dataset),
                _Cell(str(model)),
                _Cell(str(run.config.get("graph") or "–")),
                *([_Cell(shards)] if sharded else []),
                _Cell(_created(run.created_at)),
            ]
        )
    return table


_VALUE_NOTES = {
    ("ignore_metadata", True): "EXIF not read",
    ("ignore_metadata", False): "EXIF read",
    ("offline", True): "no network tools",
    ("offline", False): "network tools",
}


def _setting(key: str, value: Any) -> str:
    if value is None:
        return "–"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    note = _VALUE_NOTES.get((key, value)) if isinstance(value, bool) else None
    return _one_line(f"{text} ({note})" if note else text)


def _config_table(report: Report) -> _Table | None:
    if not report.config_differences:
        return None
    runs = report.runs
    table = _Table(
        title="Configuration differences",
        columns=["Setting", *(run.label for run in runs)],
        left=frozenset(range(len(runs) + 1)),
        wrap=frozenset(range(1, len(runs) + 1)),
        caption="from the runs' log headers; – where a run did not record it",
    )
    for diff in report.config_differences:
        table.rows.append([_Cell(diff.key), *(_Cell(_setting(diff.key, v)) for v in diff.values)])
    return table


REASON_CHARS = 60
"""How much of a sample's reason the tables show (report.json keeps all of it)."""


def _short(text: str, limit: int = REASON_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _samples_table(run: RunEntry) -> _Table:
    table = _Table(
        title=f"Samples of {run.label}",
        columns=["Sample", "Status", "Error km", "Level", "Confidence", "Category", "Reason"],
        short=["Sample", "Status", "Error\nkm", "Level", "Conf.", "Category", "Reason"],
        left=frozenset({1, 3, 5, 6}),
        wrap=frozenset({6}),
    )
    for row in run.samples:
        conf = "–" if row.confidence is None else f"{row.confidence:.2f}"
        table.rows.append(
            [
                _Cell(_one_line(row.sample_id)),
                _Cell(row.status),
                _Cell(_km(row.error_km)),
                _Cell(row.level or "–"),
                _Cell(conf),
                _Cell(_one_line(row.category) if row.category else "–"),
                _Cell(_short(row.reason)),
            ]
        )
    return table


def _tables(report: Report) -> list[_Table]:
    tables = [_runs_table(report)]
    tables += [t for t in (_config_table(report),) if t is not None]
    tables.append(_main_table(report))
    tables += [t for t in (_ci_table(report), _category_table(report)) if t is not None]
    tables += [_samples_table(run) for run in report.runs if run.samples]
    return tables


# --- the terminal: each table fitted to the console's width ------------------------------------

WRAP_MIN = 12
"""The narrowest a free-text column is made in the terminal before a table is split."""


def _rich_table(
    spec: _Table,
    *,
    compact: bool = False,
    cols: Sequence[int] | None = None,
    title: str = "",
    caption: bool = True,
) -> Table:
    """``spec`` (or its columns ``cols``) as a rich table.

    Compact: narrow headers, no borders, each difference on its own line. Free-text
    columns fold their words rather than cut them.
    """
    chosen = list(cols) if cols is not None else list(range(len(spec.columns)))
    names = spec.short if compact and spec.short else spec.columns
    style: dict[str, Any] = (
        {"box": box.SIMPLE_HEAD, "show_edge": False, "pad_edge": False, "collapse_padding": True}
        if compact
        else {}
    )
    table = Table(
        title=title or spec.title,
        caption=spec.caption if caption and spec.caption else None,
        title_justify="left",
        caption_justify="left",
        **style,
    )
    for i in chosen:
        left = i < spec.text_columns or i in spec.left
        wraps = i in spec.wrap
        table.add_column(
            names[i],
            justify="left" if left else "right",
            no_wrap=not wraps,
            overflow="fold" if wraps else "ellipsis",
        )
    for n, row in enumerate(spec.rows):
        cells = []
        for i in chosen:
            cell = row[i]
            text = Text(cell.text)
            if cell.delta:
                style_ = {True: "green", False: "red", None: "dim"}[cell.better]
                text.append(f"\n{cell.delta}" if compact else f" {cell.delta}", style=style_)
            cells.append(text)
        table.add_row(*cells, end_section=n in spec.section_ends)
    return table


def _width(console: Console, table: Table, *, cap: bool = True) -> int:
    """How wide ``table`` prints unwrapped; with ``cap``, its free text at :data:`WRAP_MIN`."""
    wrapping = [c for c in table.columns if not c.no_wrap] if cap else []
    for column in wrapping:
        column.max_width = WRAP_MIN
    try:
        return Measurement.get(console, console.options.update_width(1 << 16), table).maximum
    finally:
        for column in wrapping:
            column.max_width = None


def _groups(spec: _Table, fits: Callable[[list[int]], bool]) -> list[list[int]] | None:
    """The non-naming columns in consecutive groups that fit beside the naming ones."""
    keys = list(range(spec.text_columns))
    rest = list(range(spec.text_columns, len(spec.columns)))
    if not rest:
        return None
    cuts = sorted(i for i in spec.breaks if rest[0] < i <= rest[-1])
    bounds = [rest[0], *cuts, len(spec.columns)]
    segments = [list(range(lo, hi)) for lo, hi in itertools.pairwise(bounds)]
    groups: list[list[int]] = []
    for segment in segments:
        if groups and fits(keys + groups[-1] + segment):
            groups[-1] += segment
        elif fits(keys + segment):
            groups.append(segment)
        else:
            for i in segment:
                if groups and fits([*keys, *groups[-1], i]):
                    groups[-1].append(i)
                elif fits([*keys, i]):
                    groups.append([i])
                else:
                    return None
    return [keys + g for g in groups] or None


def _stacked(spec: _Table, width: int) -> Text:
    """The table as one block per row: its name, then ``header value`` pairs packed in lines."""
    out = Text()
    out.append(spec.title + "\n", style="italic")
    for row in spec.rows:
        name = "  ".join(c.text for c in row[: spec.text_columns] if c.text)
        out.append(name + "\n", style="bold")
        line = ""
        named = zip(spec.columns, row, strict=True)
        for header, cell in list(named)[spec.text_columns :]:
            item = f"{header} {cell.text}" + (f" ({cell.delta})" if cell.delta else "")
            if line and len(line) + 2 + len(item) > width:
                out.append(line + "\n")
                line = ""
            line = f"{line}  {item}" if line else f"  {item}"
        if line:
            out.append(line + "\n")
    if spec.caption:
        out.append(spec.caption + "\n", style="dim")
    return out


def fitted(console: Console, spec: _Table) -> list[Table | Text]:
    """``spec`` as it fits the console: whole, compact, its free text wrapped, split by
    columns, else stacked."""
    width = console.width
    for cap in (False, True):
        for compact in (False, True):
            table = _rich_table(spec, compact=compact)
            if _width(console, table, cap=cap) <= width:
                return [table]

    def fits(cols: list[int]) -> bool:
        return _width(console, _rich_table(spec, compact=True, cols=cols)) <= width

    groups = _groups(spec, fits)
    if groups is None or len(groups) == 1:
        return [_stacked(spec, width)]
    parts: list[Table | Text] = []
    for n, cols in enumerate(groups, start=1):
        title = f"{spec.title} ({n}/{len(groups)})"
        last = n == len(groups)
        parts.append(_rich_table(spec, compact=True, cols=cols, title=title, caption=last))
    return parts


def render(console: Console, report: Report) -> None:
    """The report's tables and warnings, printed to ``console`` within its width."""
    for warning in report.warnings:
        console.print(Text(f"warning: {warning}", style="yellow"))
    for spec in _tables(report):
        for part in fitted(console, spec):
            console.print(part)
    console.print(Text(METHOD_NOTE, style="dim"))


# --- Markdown ----------------------------------------------------------------------------------


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(spec: _Table) -> str:
    lines = [f"### {spec.title}", ""]
    lines.append("| " + " | ".join(_md_escape(c) for c in spec.columns) + " |")
    align = [
        ":--" if i < spec.text_columns or i in spec.left else "--:"
        for i in range(len(spec.columns))
    ]
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
    _unique_labels(data)
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
