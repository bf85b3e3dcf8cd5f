"""Metrics against hand-computed cases: city pairs, antipodes, poles, the date line, summaries."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from gre.eval.log import SampleResult
from gre.eval.metrics import (
    EARTH_RADIUS_KM,
    THRESHOLDS_KM,
    accuracy_at,
    bootstrap_ci,
    error_km,
    geoscore,
    sample_error_km,
    summarize,
)

KM_PER_DEGREE = 2 * math.pi * 6371.0 / 360  # 111.19492664455873 on the R = 6371 km sphere


# --- great-circle distance ---------------------------------------------------------------------


def test_radius_is_6371() -> None:
    assert EARTH_RADIUS_KM == 6371.0


@pytest.mark.parametrize(
    ("a", "b", "km"),
    [
        # city pairs; values from the chord formula 2R·asin(|p − q| / 2) on unit vectors
        ((48.8566, 2.3522), (51.5074, -0.1278), 343.556),  # Paris – London
        ((40.7128, -74.0060), (34.0522, -118.2437), 3935.746),  # New York – Los Angeles
        ((-33.8688, 151.2093), (-33.4489, -70.6693), 11346.715),  # Sydney – Santiago
        # one degree of the equator: 2πR/360
        ((0.0, 0.0), (0.0, 1.0), KM_PER_DEGREE),
        ((0.0, 0.0), (1.0, 0.0), KM_PER_DEGREE),
    ],
)
def test_known_distances(a: tuple[float, float], b: tuple[float, float], km: float) -> None:
    assert error_km(a, b) == pytest.approx(km, abs=1e-3)
    assert error_km(b, a) == pytest.approx(km, abs=1e-3)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ((0.0, 0.0), (0.0, 180.0)),
        ((0.0, 90.0), (0.0, -90.0)),
        ((40.7128, -74.0060), (-40.7128, 105.9940)),  # New York and its antipode
        ((90.0, 0.0), (-90.0, 0.0)),  # pole to pole
        ((89.9, 45.0), (-89.9, -135.0)),
    ],
)
def test_antipodes_are_half_the_circumference(
    a: tuple[float, float], b: tuple[float, float]
) -> None:
    assert error_km(a, b) == pytest.approx(math.pi * 6371.0, abs=1e-6)  # 20015.087 km


def test_poles() -> None:
    # every longitude is the same point at a pole
    assert error_km((90.0, 0.0), (90.0, 123.0)) == pytest.approx(0.0, abs=1e-9)
    assert error_km((-90.0, -180.0), (-90.0, 180.0)) == pytest.approx(0.0, abs=1e-9)
    # pole to the equator: a quarter circumference, whatever the longitude
    for lon in (-180.0, -77.0, 0.0, 77.0, 180.0):
        assert error_km((90.0, 0.0), (0.0, lon)) == pytest.approx(10007.543398, abs=1e-6)
    # one degree from the pole, across it
    assert error_km((89.5, 0.0), (89.5, 180.0)) == pytest.approx(KM_PER_DEGREE, abs=1e-6)


def test_date_line() -> None:
    # across the antimeridian the short way: 1°, not 359°
    assert error_km((0.0, 179.5), (0.0, -179.5)) == pytest.approx(KM_PER_DEGREE, abs=1e-6)
    # at 60° N: 2R·asin(cos 60° · sin 0.5°) = 55.597 km
    assert error_km((60.0, 179.5), (60.0, -179.5)) == pytest.approx(55.596934, abs=1e-5)
    # ±180° are the same meridian
    assert error_km((12.0, 180.0), (12.0, -180.0)) == pytest.approx(0.0, abs=1e-9)


# --- accuracy and GeoScore (the original tests) ------------------------------------------------


def test_accuracy_counts_abstentions_as_misses() -> None:
    errors = [0.5, 20.0, 300.0, None]
    acc = accuracy_at(errors)
    assert acc == {1.0: 0.25, 25.0: 0.5, 200.0: 0.5, 750.0: 0.75, 2500.0: 0.75}
    assert accuracy_at([]) == {t: 0.0 for t in THRESHOLDS_KM}


def test_error_km_and_geoscore() -> None:
    assert error_km(None, (0.0, 0.0)) is None
    assert error_km((0.0, 0.0), (0.0, 1.0)) == pytest.approx(111.195, abs=0.01)
    assert geoscore(0.0) == 5000.0
    assert geoscore(1492.7) == pytest.approx(5000.0 / 2.718281828, rel=1e-6)


# --- summaries ---------------------------------------------------------------------------------


def _ok(sid: str, km: float, category: str | None = None) -> SampleResult:
    """An answered sample ``km`` north of (0, 0) along the meridian."""
    return SampleResult(
        sample_id=sid,
        status="ok",
        lat_true=0.0,
        lon_true=0.0,
        lat=km / KM_PER_DEGREE,
        lon=0.0,
        error_km=km,
        category=category,
    )


def _miss(sid: str, status: str, category: str | None = None) -> SampleResult:
    return SampleResult.model_validate(
        {"sample_id": sid, "status": status, "lat_true": 0.0, "lon_true": 0.0, "category": category}
    )


HAND = [0.5, 10.0, 100.0, 500.0, 2000.0, 5000.0]


def _hand_run() -> list[SampleResult]:
    return [
        *(_ok(str(i), km) for i, km in enumerate(HAND)),
        _miss("a", "abstained"),
        _miss("f", "failed"),
    ]


def test_summary_by_hand() -> None:
    s = summarize(_hand_run(), bootstrap=0)
    assert (s.n, s.n_ok, s.n_abstained, s.n_failed) == (8, 6, 1, 1)
    # misses count against every threshold: k answered within, over all 8
    assert s.accuracy == {1.0: 1 / 8, 25.0: 2 / 8, 200.0: 3 / 8, 750.0: 4 / 8, 2500.0: 5 / 8}
    assert s.median_km == pytest.approx((100.0 + 500.0) / 2)  # answered only
    assert s.mean_km == pytest.approx(7610.5 / 6)
    expected_score = sum(5000 * math.exp(-d / 1492.7) for d in HAND) / 8  # a miss scores 0
    assert s.geoscore_mean == pytest.approx(expected_score)
    assert s.geoscore_mean == pytest.approx(2462.83, abs=0.01)  # 19702.7 / 8
    assert s.ci == {} and s.bootstrap == 0
    assert s.per_category == {}


def test_threshold_is_inclusive_and_logged_error_is_the_fallback() -> None:
    on_the_line = SampleResult(
        sample_id="x", status="ok", lat_true=0.0, lon_true=0.0, error_km=25.0
    )
    assert sample_error_km(on_the_line) == 25.0
    s = summarize([on_the_line], bootstrap=0)
    assert s.accuracy[25.0] == 1.0 and s.accuracy[1.0] == 0.0


def test_distance_is_recomputed_from_the_point() -> None:
    stale = _ok("x", 100.0).model_copy(update={"error_km": 1.0})
    assert sample_error_km(stale) == pytest.approx(100.0)


def test_status_decides_what_is_a_miss() -> None:
    abstained_with_point = _ok("a", 0.5).model_copy(update={"status": "abstained"})
    ok_without_point = SampleResult(sample_id="b", status="ok", lat_true=0.0, lon_true=0.0)
    assert sample_error_km(abstained_with_point) is None
    assert sample_error_km(ok_without_point) is None
    s = summarize([abstained_with_point, ok_without_point, _ok("c", 0.5)], bootstrap=0)
    assert (s.n_ok, s.n_abstained, s.n_failed) == (1, 1, 1)  # an ok record without a point failed
    assert s.accuracy[1.0] == pytest.approx(1 / 3)


def test_empty_run() -> None:
    s = summarize([], bootstrap=1000)
    assert s.n == 0 and s.accuracy == {t: 0.0 for t in THRESHOLDS_KM}
    assert s.median_km is None and s.mean_km is None and s.geoscore_mean == 0.0
    assert s.ci == {}


def test_all_missed() -> None:
    s = summarize([_miss("a", "abstained"), _miss("b", "failed")], bootstrap=100)
    assert s.median_km is None and s.geoscore_mean == 0.0
    assert all(v == 0.0 for v in s.accuracy.values())
    assert all(ci == (0.0, 0.0) for ci in s.ci.values())


def test_per_category() -> None:
    results = [
        _ok("1", 0.5, "urban"),
        _ok("2", 30.0, "urban"),
        _miss("3", "abstained", "urban"),
        _ok("4", 1000.0, "nature"),
        _ok("5", 10.0, None),
    ]
    s = summarize(results, bootstrap=0)
    assert list(s.per_category) == ["urban", "(none)", "nature"]  # by size, then name
    urban = s.per_category["urban"]
    assert (urban.n, urban.n_ok) == (3, 2)
    assert urban.accuracy[1.0] == pytest.approx(1 / 3)
    assert urban.accuracy[200.0] == pytest.approx(2 / 3)
    assert urban.median_km == pytest.approx(15.25)
    assert s.per_category["nature"].accuracy[750.0] == 0.0
    assert s.per_category["nature"].accuracy[2500.0] == 1.0


# --- bootstrap intervals -----------------------------------------------------------------------


def _errors(n: int, seed: int = 0) -> list[float | None]:
    rng = np.random.default_rng(seed)
    values = rng.lognormal(mean=4.0, sigma=2.5, size=n)
    return [None if i % 10 == 0 else float(v) for i, v in enumerate(values)]


def test_ci_contains_the_estimate_and_is_ordered() -> None:
    errors = _errors(500)
    acc = accuracy_at(errors)
    ci = bootstrap_ci(errors, resamples=1000, seed=0)
    assert list(ci) == list(THRESHOLDS_KM)
    for t in THRESHOLDS_KM:
        lo, hi = ci[t]
        assert 0.0 <= lo <= acc[t] <= hi <= 1.0
        assert hi - lo > 0
    lows = [ci[t][0] for t in THRESHOLDS_KM]
    highs = [ci[t][1] for t in THRESHOLDS_KM]
    assert lows == sorted(lows) and highs == sorted(highs)


def test_ci_narrows_with_n() -> None:
    small = bootstrap_ci(_errors(100), resamples=1000, seed=1)
    large = bootstrap_ci(_errors(10_000), resamples=1000, seed=1)
    for t in (25.0, 200.0, 750.0):
        width_small = small[t][1] - small[t][0]
        width_large = large[t][1] - large[t][0]
        assert width_large < width_small / 5  # ~1/sqrt(100) as wide


def test_ci_is_deterministic_with_a_seed() -> None:
    errors = _errors(300)
    assert bootstrap_ci(errors, seed=7) == bootstrap_ci(errors, seed=7)
    assert bootstrap_ci(errors, seed=7) != bootstrap_ci(errors, seed=8)
    a = summarize([_ok(str(i), e or 1.0) for i, e in enumerate(errors)], seed=3)
    b = summarize([_ok(str(i), e or 1.0) for i, e in enumerate(errors)], seed=3)
    assert a.ci == b.ci and a.seed == 3 and a.bootstrap == 1000


def test_ci_matches_resampling_the_samples() -> None:
    """The multinomial shortcut gives the same intervals as resampling indices."""
    errors = _errors(400, seed=3)
    arr = np.array([np.inf if e is None else e for e in errors])
    rng = np.random.default_rng(11)
    idx = rng.integers(0, len(arr), size=(4000, len(arr)))
    ours = bootstrap_ci(errors, resamples=4000, seed=11)
    for t in THRESHOLDS_KM:
        naive = np.percentile((arr[idx] <= t).mean(axis=1), [2.5, 97.5])
        assert ours[t][0] == pytest.approx(naive[0], abs=0.012)
        assert ours[t][1] == pytest.approx(naive[1], abs=0.012)


def test_ci_of_a_known_proportion() -> None:
    """Half within: the interval is about p ± 1.96·sqrt(p(1−p)/n)."""
    errors: list[float | None] = [0.5] * 200 + [None] * 200
    lo, hi = bootstrap_ci(errors, [1.0], resamples=4000, seed=0)[1.0]
    half_width = 1.96 * math.sqrt(0.25 / 400)  # 0.049
    assert lo == pytest.approx(0.5 - half_width, abs=0.01)
    assert hi == pytest.approx(0.5 + half_width, abs=0.01)


def test_bootstrap_is_fast() -> None:
    errors = _errors(10_000)
    start = time.perf_counter()
    bootstrap_ci(errors, resamples=1000, seed=0)
    assert time.perf_counter() - start < 0.5


def test_bootstrap_rejects_a_bad_confidence() -> None:
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci([1.0], confidence=1.5)
