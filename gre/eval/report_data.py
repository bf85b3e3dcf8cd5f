"""The data of ``gre report``: runs read from their logs (shards merged), compared and summarised.

:func:`build_report` turns runs into a :class:`Report` (what ``--json`` prints);
:mod:`gre.eval.report_tables` lays it out as tables and :mod:`gre.eval.report` writes it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from gre.errors import GreError
from gre.eval.log import RESULT_CONFIG, RESULT_SETTINGS, RunHeader, SampleResult, scan_log
from gre.eval.metrics import Summary, sample_error_km, summarize
from gre.textnorm import printable


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


def unique_labels(runs: Sequence[RunData]) -> None:
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


def one_line(text: str) -> str:
    return printable(" ".join(text.split()))


def _reason(result: SampleResult) -> str:
    """Why a sample failed or abstained; for an answer, its why when the trace was kept."""
    if result.error:
        return one_line(result.error)
    prediction = (result.trace or {}).get("prediction")
    why = prediction.get("reason") if isinstance(prediction, dict) else None
    return one_line(why) if isinstance(why, str) else ""


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
