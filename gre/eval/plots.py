"""The report's PNG plots, drawn with matplotlib's Agg canvas (no pyplot, no GUI, no global state).

Each ``draw_*`` function returns its figure (to inspect); the others save it as a PNG.
Every bar carries its value, and a bar of height 0 is drawn as a thin line with a "0".
This module imports matplotlib at the top; import it lazily (``gre.eval.report`` does).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.container import BarContainer
from matplotlib.figure import Figure

from gre.eval.metrics import THRESHOLD_NAMES, Summary
from gre.geo import EARTH_RADIUS_KM

MIN_KM = 0.1
"""Left edge of the log-km axis; smaller errors are drawn there."""
MAX_KM = math.pi * EARTH_RADIUS_KM
"""Half the circumference (≈ 20 015 km): no error is larger."""
DPI = 120
ZERO_MARKER = "zero-bar"
"""The gid of the line drawn on a bar of height 0, so that an empty bar is still seen."""
CROWDED = 12
"""Above this many bars in a panel their labels are turned upright."""


@dataclass(frozen=True)
class Series:
    """One run as the plots see it."""

    label: str
    errors: Sequence[float | None]
    """One per sample; None for a miss (abstained or failed)."""
    summary: Summary


def _threshold_label(t: float) -> str:
    name = THRESHOLD_NAMES.get(t)
    km = f"{t:g} km"
    return f"{name}\n{km}" if name else km


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, format="png")
    return path


def _colors(n: int) -> list[str]:
    return [f"C{i % 10}" for i in range(n)]


def error_cdf(runs: Sequence[Series], path: Path) -> Path:
    """Share of all samples within d km against d (log axis); misses keep a curve below 1."""
    return _save(draw_error_cdf(runs), path)


def draw_error_cdf(runs: Sequence[Series]) -> Figure:
    """The figure of :func:`error_cdf`."""
    fig = Figure(figsize=(8, 4.8), layout="constrained")
    ax: Axes = fig.add_subplot()
    for s, color in zip(runs, _colors(len(runs)), strict=True):
        n = len(s.errors)
        if n == 0:
            continue
        answered = np.sort(np.array([e for e in s.errors if e is not None], dtype=np.float64))
        x = np.concatenate(([MIN_KM], np.clip(answered, MIN_KM, MAX_KM), [MAX_KM]))
        y = np.concatenate(([0.0], np.arange(1, answered.size + 1) / n, [answered.size / n]))
        ax.step(x, y * 100, where="post", color=color, label=f"{s.label} (n={n})")
    for t in _thresholds(runs):
        ax.axvline(t, color="0.6", linestyle=":", linewidth=1)
        ax.annotate(
            THRESHOLD_NAMES.get(t, f"{t:g} km"),
            (t, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(2, -2),
            textcoords="offset points",
            fontsize=8,
            color="0.4",
            va="top",
        )
    ax.set_xscale("log")
    ax.set_xlim(MIN_KM, MAX_KM)
    ax.set_ylim(0, 100)
    ax.set_xlabel("great-circle error (km, log scale)")
    ax.set_ylabel("% of samples within")
    ax.set_title("Error CDF (abstentions and failures are misses: curves stay below 100%)")
    ax.grid(True, which="major", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right", fontsize=8)
    return fig


def _thresholds(runs: Sequence[Series]) -> list[float]:
    """The thresholds of the runs' summaries, in order, each once."""
    seen: dict[float, None] = {}
    for s in runs:
        for t in s.summary.thresholds:
            seen.setdefault(t, None)
    return sorted(seen)


def _label_bars(
    ax: Axes, bars: BarContainer, heights: Sequence[float | None], crowded: bool
) -> None:
    """A value label on every bar, and a marker line on each bar of height 0.

    A zero reads "0"; None (a run without that category) reads "–" and gets no marker.
    """
    labels = ["–" if h is None else "0" if h == 0 else f"{h:.1f}" for h in heights]
    ax.bar_label(
        bars, labels=labels, fontsize=6 if crowded else 7, padding=2, rotation=90 if crowded else 0
    )
    for bar, h in zip(bars.patches, heights, strict=True):
        if h == 0:
            x = bar.get_x()
            ax.hlines(
                0,
                x,
                x + bar.get_width(),
                colors=[bar.get_facecolor()],
                linewidth=2.5,
                clip_on=False,
                gid=ZERO_MARKER,
            )


def accuracy_bars(runs: Sequence[Series], path: Path) -> Path:
    """Accuracy at each threshold, one bar per run, with the bootstrap interval as error bars."""
    return _save(draw_accuracy_bars(runs), path)


def draw_accuracy_bars(runs: Sequence[Series]) -> Figure:
    """The figure of :func:`accuracy_bars`."""
    thresholds = _thresholds(runs)
    fig = Figure(figsize=(max(6.0, 1.4 * len(thresholds) + 0.5 * len(runs)), 4.8))
    fig.set_layout_engine("constrained")
    ax: Axes = fig.add_subplot()
    x = np.arange(len(thresholds), dtype=np.float64)
    width = 0.8 / max(1, len(runs))
    crowded = len(thresholds) * len(runs) > CROWDED
    for i, (s, color) in enumerate(zip(runs, _colors(len(runs)), strict=True)):
        acc = [s.summary.accuracy.get(t, 0.0) for t in thresholds]
        ci = [s.summary.ci.get(t, (a, a)) for t, a in zip(thresholds, acc, strict=True)]
        heights = np.array(acc) * 100
        lo, hi = (np.array([bound[j] for bound in ci]) * 100 for j in (0, 1))
        offset = (i - (len(runs) - 1) / 2) * width
        bars = ax.bar(
            x + offset,
            heights,
            width,
            color=color,
            label=s.label,
            yerr=np.vstack((np.maximum(heights - lo, 0), np.maximum(hi - heights, 0))),
            capsize=2,
            error_kw={"elinewidth": 0.8, "ecolor": "0.25"},
        )
        _label_bars(ax, bars, [float(h) for h in heights], crowded)
    ax.set_xticks(x, [_threshold_label(t) for t in thresholds])
    ax.set_ylim(0, 112)
    ax.set_yticks(range(0, 101, 20))
    ax.set_ylabel("% of samples within")
    ax.set_title("Accuracy by threshold (95% bootstrap intervals)")
    ax.grid(True, axis="y", alpha=0.3)
    if runs:
        ax.legend(fontsize=8, loc="upper left")
    return fig


def _category_n(runs: Sequence[Series], name: str) -> str:
    """The category's sample count, or each run's when they differ."""
    counts = [s.summary.per_category[name].n if name in s.summary.per_category else 0 for s in runs]
    return str(counts[0]) if len(set(counts)) == 1 else "/".join(map(str, counts))


def category_bars(
    runs: Sequence[Series], path: Path, thresholds: Sequence[float] = (25.0, 750.0)
) -> Path | None:
    """Per-category accuracy at each of ``thresholds`` (one panel each); None without categories."""
    fig = draw_category_bars(runs, thresholds)
    return None if fig is None else _save(fig, path)


def draw_category_bars(
    runs: Sequence[Series], thresholds: Sequence[float] = (25.0, 750.0)
) -> Figure | None:
    """The figure of :func:`category_bars`; None without categories."""
    categories: dict[str, None] = {}
    for s in runs:
        for name in s.summary.per_category:
            categories.setdefault(name, None)
    if not categories:
        return None
    names = list(categories)
    width_in = max(6.0, 0.6 * len(names) * max(1, len(runs)) + 2)
    fig = Figure(figsize=(width_in, 3.2 * len(thresholds)))
    fig.set_layout_engine("constrained")
    axes = fig.subplots(len(thresholds), 1, squeeze=False)[:, 0]
    x = np.arange(len(names), dtype=np.float64)
    width = 0.8 / max(1, len(runs))
    crowded = len(names) * len(runs) > CROWDED
    for ax, t in zip(axes, thresholds, strict=True):
        for i, (s, color) in enumerate(zip(runs, _colors(len(runs)), strict=True)):
            heights = [
                s.summary.per_category[c].accuracy.get(t, 0.0) * 100
                if c in s.summary.per_category
                else None
                for c in names
            ]
            offset = (i - (len(runs) - 1) / 2) * width
            drawn = [h or 0.0 for h in heights]
            bars = ax.bar(x + offset, drawn, width, color=color, label=s.label)
            _label_bars(ax, bars, heights, crowded)
        ax.set_xticks(x, [f"{c}\n(n={_category_n(runs, c)})" for c in names], fontsize=8)
        ax.set_ylim(0, 118)
        ax.set_yticks(range(0, 101, 25))
        ax.set_ylabel("% within")
        ax.set_title(f"{THRESHOLD_NAMES.get(t, '')} {t:g} km by category".strip(), fontsize=10)
        ax.grid(True, axis="y", alpha=0.3)
    if len(runs) > 1:
        axes[0].legend(fontsize=8)
    return fig
