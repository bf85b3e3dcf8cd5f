import math

import pytest

from gre.geo import EARTH_RADIUS_KM, haversine_km, valid_latlon, weighted_centroid
from gre.textnorm import fold


def test_haversine_known_pairs() -> None:
    # Paris (Notre-Dame) to London (Charing Cross): 343.5 km on a 6371 km sphere
    assert haversine_km(48.8530, 2.3499, 51.5074, -0.1278) == pytest.approx(343.5, abs=1.0)
    assert haversine_km(10.0, 20.0, 10.0, 20.0) == 0.0


def test_haversine_antipodes_poles_and_date_line() -> None:
    half = math.pi * EARTH_RADIUS_KM
    assert haversine_km(0, 0, 0, 180) == pytest.approx(half)
    assert haversine_km(90, 0, -90, 0) == pytest.approx(half)
    assert haversine_km(90, 0, 90, 123) == pytest.approx(0.0, abs=1e-9)
    # across the date line is short, not around the world
    assert haversine_km(0, 179.5, 0, -179.5) == pytest.approx(111.19, abs=0.05)


def test_weighted_centroid_across_date_line_and_weights() -> None:
    lat, lon = weighted_centroid([(0.0, 179.0), (0.0, -179.0)])
    assert lat == pytest.approx(0.0, abs=1e-9)
    assert abs(lon) == pytest.approx(180.0, abs=1e-6)
    lat, lon = weighted_centroid([(0.0, 0.0), (0.0, 10.0)], [3.0, 1.0])
    assert 0.0 < lon < 5.0
    # antipodal points have no mean: the heavier one wins
    assert weighted_centroid([(0.0, 0.0), (0.0, 180.0)], [1.0, 2.0]) == (0.0, 180.0)
    with pytest.raises(ValueError):
        weighted_centroid([])


def test_valid_latlon() -> None:
    assert valid_latlon(-90, 180)
    assert not valid_latlon(90.1, 0)
    assert not valid_latlon(0, float("nan"))


def test_fold() -> None:
    assert fold("Névache") == "nevache"
    assert fold("  SAINT-ÉTIENNE ") == "saint etienne"
    assert fold("Straße") == "strasse"
    assert fold("Москва") == "москва"
