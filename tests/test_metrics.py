import pytest

from gre.eval.metrics import THRESHOLDS_KM, accuracy_at, error_km, geoscore


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
