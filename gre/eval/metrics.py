"""Standard geolocation metrics: great-circle error (R = 6371 km) and accuracy at thresholds."""

from __future__ import annotations

import math
from collections.abc import Sequence

from gre.geo import haversine_km

THRESHOLDS_KM: tuple[float, ...] = (1.0, 25.0, 200.0, 750.0, 2500.0)
"""Street, city, region, country, continent: the thresholds of Im2GPS and GREval-Bench."""


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
    return 5000.0 * math.exp(-distance_km / 1492.7)
