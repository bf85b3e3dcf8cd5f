"""The tables of ``gre report``, one model (:class:`TableSpec`) for the terminal and Markdown.

The main table follows the paper's layout (rows = runs; accuracy at Street
1 km / City 25 km / Region 200 km / Country 750 km / Continent 2500 km, then
median and mean error, GeoScore and counts); later runs show their difference
from the first.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gre.eval.metrics import THRESHOLD_NAMES
from gre.eval.report_data import Report, RunEntry, one_line

METHOD_NOTE = (
    "Error: great-circle distance (haversine, R = 6371 km). Accuracy: % of all samples "
    "within each threshold; abstentions and failures count as misses. Median and mean: "
    "over answered samples only. GeoScore: 5000·exp(−d/1492.7) averaged over all samples, "
    "a miss scoring 0."
)


# --- tables (one model, rendered to rich and to Markdown) --------------------------------------


@dataclass(frozen=True)
class Cell:
    text: str
    delta: str = ""
    better: bool | None = None


@dataclass
class TableSpec:
    title: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
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
) -> Cell:
    """The difference from the baseline; ``better`` is None when it rounds to nothing."""
    if value is None or base is None:
        return Cell("")
    diff = round((value - base) * scale, digits)
    if diff == 0:
        return Cell("", "±0", None)
    return Cell("", f"{diff:+,.{digits}f}", (diff > 0) == higher_is_better)


def _km_delta(value: float | None, base: float | None) -> Cell:
    """A difference in km, with as many decimals as :func:`_km` gives the smaller value."""
    if value is None or base is None:
        return Cell("")
    smaller = min(value, base)
    return _delta(value, base, 0 if smaller >= 100 else 1 if smaller >= 1 else 2, False)


def _acc_delta(value: float | None, base: float | None) -> Cell:
    """An accuracy difference in percentage points."""
    return _delta(value, base, 1, True, scale=100)


def _with_delta(text: str, delta: Cell | None) -> Cell:
    if delta is None or not delta.delta:
        return Cell(text)
    return Cell(text, delta.delta, delta.better)


_SHORT_NAMES = {"Continent": "Cont."}


def _threshold_column(t: float) -> str:
    name = THRESHOLD_NAMES.get(t)
    return f"{name} {t:g} km" if name else f"{t:g} km"


def _threshold_short(t: float) -> str:
    name = THRESHOLD_NAMES.get(t)
    return f"{_SHORT_NAMES.get(name, name)}\n{t:g} km" if name else f"{t:g} km"


def _main_table(report: Report) -> TableSpec:
    runs = report.runs
    thresholds = runs[0].summary.thresholds
    table = TableSpec(
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
        cells = [Cell(run.label)]
        for t in thresholds:
            d = _acc_delta(s.accuracy.get(t), base.accuracy.get(t)) if cmp else None
            cells.append(_with_delta(_pct(s.accuracy.get(t, 0.0)), d))
        for value, base_value in ((s.median_km, base.median_km), (s.mean_km, base.mean_km)):
            d = _km_delta(value, base_value) if cmp else None
            cells.append(_with_delta(_km(value), d))
        d = _delta(s.geoscore_mean, base.geoscore_mean, 0, True) if cmp else None
        cells.append(_with_delta(f"{s.geoscore_mean:,.0f}", d))
        cells += [Cell(str(s.n)), Cell(str(s.n_abstained)), Cell(str(s.n_failed))]
        table.rows.append(cells)
    if len(runs) > 1:
        table.caption = (
            f"+/−: difference from {runs[0].label} (accuracy in percentage points); green is better"
        )
    return table


def _ci_table(report: Report) -> TableSpec | None:
    runs = [r for r in report.runs if r.summary.ci]
    if not runs:
        return None
    s0 = runs[0].summary
    thresholds = s0.thresholds
    table = TableSpec(
        title=f"{s0.confidence:.0%} bootstrap confidence intervals (% of samples within)",
        columns=["Run", *(_threshold_column(t) for t in thresholds)],
        short=["Run", *(_threshold_short(t) for t in thresholds)],
        caption=f"percentile bootstrap, {s0.bootstrap} resamples of the samples, seed {s0.seed}",
    )
    for run in runs:
        ci = run.summary.ci
        table.rows.append(
            [
                Cell(run.label),
                *(
                    Cell(f"{_pct(ci[t][0])}–{_pct(ci[t][1])}" if t in ci else "–")
                    for t in thresholds
                ),
            ]
        )
    return table


def _category_table(report: Report) -> TableSpec | None:
    names: dict[str, None] = {}
    for run in report.runs:
        for name in run.summary.per_category:
            names.setdefault(name, None)
    if not names:
        return None
    multi = len(report.runs) > 1
    thresholds = report.runs[0].summary.thresholds
    table = TableSpec(
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
            cells = [Cell(name if i == 0 or not multi else "")]
            if multi:
                cells.append(Cell(run.label))
            cells.append(Cell(str(cat.n)))
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


def _runs_table(report: Report) -> TableSpec:
    sharded = any(run.shards != [(1, 1)] for run in report.runs)
    columns = ["Run", "Run id", "Dataset", "Model", "Graph", *(["Shard"] if sharded else [])]
    table = TableSpec(
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
                Cell(run.label),
                Cell(", ".join(run.run_ids)),
                Cell(dataset),
                Cell(str(model)),
                Cell(str(run.config.get("graph") or "–")),
                *([Cell(shards)] if sharded else []),
                Cell(_created(run.created_at)),
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
    return one_line(f"{text} ({note})" if note else text)


def _config_table(report: Report) -> TableSpec | None:
    if not report.config_differences:
        return None
    runs = report.runs
    table = TableSpec(
        title="Configuration differences",
        columns=["Setting", *(run.label for run in runs)],
        left=frozenset(range(len(runs) + 1)),
        wrap=frozenset(range(1, len(runs) + 1)),
        caption="from the runs' log headers; – where a run did not record it",
    )
    for diff in report.config_differences:
        table.rows.append([Cell(diff.key), *(Cell(_setting(diff.key, v)) for v in diff.values)])
    return table


REASON_CHARS = 60
"""How much of a sample's reason the tables show (report.json keeps all of it)."""


def _short(text: str, limit: int = REASON_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _samples_table(run: RunEntry) -> TableSpec:
    table = TableSpec(
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
                Cell(one_line(row.sample_id)),
                Cell(row.status),
                Cell(_km(row.error_km)),
                Cell(row.level or "–"),
                Cell(conf),
                Cell(one_line(row.category) if row.category else "–"),
                Cell(_short(row.reason)),
            ]
        )
    return table


def table_specs(report: Report) -> list[TableSpec]:
    tables = [_runs_table(report)]
    tables += [t for t in (_config_table(report),) if t is not None]
    tables.append(_main_table(report))
    tables += [t for t in (_ci_table(report), _category_table(report)) if t is not None]
    tables += [_samples_table(run) for run in report.runs if run.samples]
    return tables


# --- Markdown ----------------------------------------------------------------------------------


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(spec: TableSpec) -> str:
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
    for spec in table_specs(report):
        parts += ["", _md_table(spec)]
    if images:
        parts += ["", "## Plots"]
        for title, rel in images:
            parts += ["", f"![{title}]({rel})"]
    return "\n".join(parts) + "\n"
