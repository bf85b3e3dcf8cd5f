"""Standard geolocation metrics over a run's results.

Error is the great-circle distance on a sphere of radius R = 6371 km
(haversine, :func:`gre.geo.haversine_km`). Accuracy at 1 / 25 / 200 / 750 /
2500 km (street, city, region, country, continent) is the share of *all*
samples within the threshold: abstentions and failures are misses. Median and
mean error are over answered samples only; GeoScore (5000·exp(−d/1492.7)) is
averaged over all samples, a miss scoring 0. Each accuracy gets a percentile
bootstrap 95% confidence interval.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, Field

from gre.eval.log import SampleResult
from gre.geo import EARTH_RADIUS_KM, haversine_km, valid_latlon

__all__ = [
    "EARTH_RADIUS_KM",
    "GEOSCORE_SCALE_KM",
    "THRESHOLDS_KM",
    "THRESHOLD_NAMES",
    "CategorySummary",
    "Summary",
    "accuracy_at",
    "bootstrap_ci",
    "error_km",
    "geoscore",
    "sample_error_km",
    "summarize",
]

THRESHOLDS_KM: tuple[float, ...] = (1.0, 25.0, 200.0, 750.0, 2500.0)
"""Street, city, region, country, continent: the thresholds of Im2GPS and GREval-Bench."""

THRESHOLD_NAMES: dict[float, str] = {
    1.0: "Street",
    25.0: "City",
    200.0: "Region",
    750.0: "Country",
    2500.0: "Continent",
}

GEOSCORE_SCALE_KM = 1492.7
"""GeoGuessr's decay distance: 5000 points at 0 km, 5000/e at 1492.7 km."""

UNCATEGORISED = "(none)"
"""The per-category key of samples without a category (used only when others have one)."""


def error_km(pred: tuple[float, float] | None, truth: tuple[float, float]) -> float | None:
    """Great-circle distance from prediction to truth; None for an abstention."""
    return None if pred is None else haversine_km(*pred, *truth)


def accuracy_at(
    errors: Sequence[float | None], thresholds: Sequence[float] = THRESHOLDS_KM
) -> dict[float, float]:
    """Share of samples within each threshold; abstentions (None) count as misses."""
    if not errors:
        return {t: 0.0 for t in thresholds}
    return {t: sum(1 for e in errors if e is not None and e <= t) / len(errors) for t in thresholds}


def geoscore(distance_km: float) -> float:
    """GeoGuessr-style score, 5000·exp(−d/1492.7)."""
    return 5000.0 * math.exp(-distance_km / GEOSCORE_SCALE_KM)


def sample_error_km(result: SampleResult) -> float | None:
    """The error of an answered sample, None for a miss.

    Only ``ok`` records are answers. The distance is recomputed from the
    record's point (so it always means haversine, R = 6371 km), falling back to
    the logged ``error_km``; an ``ok`` record with neither is a miss.
    """
    if result.status != "ok":
        return None
    if result.lat is not None and result.lon is not None:
        if valid_latlon(result.lat, result.lon) and valid_latlon(result.lat_true, result.lon_true):
            return haversine_km(result.lat, result.lon, result.lat_true, result.lon_true)
        return None
    if result.error_km is not None and math.isfinite(result.error_km) and result.error_km >= 0:
        return result.error_km
    return None


class CategorySummary(BaseModel):
    """The metrics of one category of samples."""

    n: int
    n_ok: int
    accuracy: dict[float, float]
    median_km: float | None = Field(description="over answered samples; None if none")
    geoscore_mean: float


class Summary(BaseModel):
    """A run's metrics; see the module docstring for what each one counts."""

    n: int = Field(description="samples with a result")
    n_ok: int = Field(description="answered samples (status ok, with a point)")
    n_abstained: int
    n_failed: int = Field(description="failed, or ok without a usable point")
    thresholds: list[float]
    accuracy: dict[float, float] = Field(description="share of all n; misses count against")
    ci: dict[float, tuple[float, float]] = Field(
        default_factory=dict, description="percentile bootstrap interval per threshold"
    )
    confidence: float = 0.95
    bootstrap: int = Field(description="bootstrap resamples (0: no intervals)")
    seed: int
    median_km: float | None = Field(description="over answered samples; None if none")
    mean_km: float | None = Field(description="over answered samples; None if none")
    geoscore_mean: float = Field(description="over all n; a miss scores 0")
    per_category: dict[str, CategorySummary] = Field(default_factory=dict)


def _errors_array(errors: Sequence[float | None]) -> npt.NDArray[np.float64]:
    """Errors as floats, a miss as +inf."""
    return np.array([math.inf if e is None else e for e in errors], dtype=np.float64)


def bootstrap_ci(
    errors: Sequence[float | None],
    thresholds: Sequence[float] = THRESHOLDS_KM,
    *,
    resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[float, tuple[float, float]]:
    """Percentile bootstrap interval of the accuracy at each threshold (misses are None).

    Resampling n samples with replacement only matters through how many land
    in each band between thresholds, and those counts are multinomial with the
    observed shares; drawing them directly is the same bootstrap in O(resamples)
    instead of O(resamples·n), and keeps the bounds ordered across thresholds.
    Empty input or ``resamples <= 0`` gives ``{}``.
    """
    n = len(errors)
    if n == 0 or resamples <= 0:
        return {}
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    order = sorted(set(thresholds))
    bands = np.searchsorted(np.asarray(order), _errors_array(errors), side="left")
    counts = np.bincount(bands, minlength=len(order) + 1)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, counts / n, size=resamples)
    acc = np.cumsum(draws[:, :-1], axis=1) / n
    alpha = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(acc, [alpha, 100 - alpha], axis=0)
    by_threshold = {t: (float(lo[i]), float(hi[i])) for i, t in enumerate(order)}
    return {t: by_threshold[t] for t in thresholds}


def _core(
    errors: Sequence[float | None], thresholds: Sequence[float]
) -> tuple[dict[float, float], float | None, float | None, float]:
    """Accuracy, median, mean and mean GeoScore of a list of errors (None = miss)."""
    arr = _errors_array(errors)
    answered = arr[np.isfinite(arr)]
    n = len(arr)
    acc = {t: float(np.count_nonzero(arr <= t)) / n if n else 0.0 for t in thresholds}
    median = float(np.median(answered)) if answered.size else None
    mean = float(np.mean(answered)) if answered.size else None
    score = float(np.sum(5000.0 * np.exp(-answered / GEOSCORE_SCALE_KM))) / n if n else 0.0
    return acc, median, mean, score


def summarize(
    results: Iterable[SampleResult],
    *,
    thresholds: Sequence[float] = THRESHOLDS_KM,
    bootstrap: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Summary:
    """The metrics of a run's results; abstained and failed samples are misses everywhere."""
    records = list(results)
    errors = [sample_error_km(r) for r in records]
    n_abstained = sum(1 for r in records if r.status == "abstained")
    n_ok = sum(1 for e in errors if e is not None)
    acc, median, mean, score = _core(errors, thresholds)

    per_category: dict[str, CategorySummary] = {}
    if any(r.category for r in records):
        groups: dict[str, list[float | None]] = {}
        for r, e in zip(records, errors, strict=True):
            groups.setdefault(r.category or UNCATEGORISED, []).append(e)
        for name in sorted(groups, key=lambda k: (-len(groups[k]), k)):
            g_errors = groups[name]
            g_acc, g_median, _, g_score = _core(g_errors, thresholds)
            per_category[name] = CategorySummary(
                n=len(g_errors),
                n_ok=sum(1 for e in g_errors if e is not None),
                accuracy=g_acc,
                median_km=g_median,
                geoscore_mean=g_score,
            )

    return Summary(
        n=len(records),
        n_ok=n_ok,
        n_abstained=n_abstained,
        n_failed=len(records) - n_ok - n_abstained,
        thresholds=list(thresholds),
        accuracy=acc,
        ci=bootstrap_ci(errors, thresholds, resamples=bootstrap, seed=seed, confidence=confidence),
        confidence=confidence,
        bootstrap=max(0, bootstrap),
        seed=seed,
        median_km=median,
        mean_km=mean,
        geoscore_mean=score,
        per_category=per_category,
    )
