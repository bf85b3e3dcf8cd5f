import pytest

from gre.agent.converge import ACCEPT, fuse, noisy_or
from gre.geo import haversine_km
from gre.records import Candidate

PARIS = (48.8566, 2.3522)
FRANCE = (46.8, 2.4)


def cand(
    cid: str, lat: float, lon: float, r: float, level: str, w: float, **kw: object
) -> Candidate:
    return Candidate(id=cid, lat=lat, lon=lon, radius_km=r, level=level, label=cid, weight=w, **kw)  # type: ignore[arg-type]


def test_empty_gives_no_answer() -> None:
    f = fuse([])
    assert f.answer is None and f.lat is None and f.confidence == 0.0


def test_noisy_or() -> None:
    assert noisy_or([]) == 0.0
    assert noisy_or([0.5, 0.5]) == pytest.approx(0.75)
    assert noisy_or([1.5]) == 1.0


def test_single_precise_candidate() -> None:
    f = fuse([cand("gps", 43.4674, 11.8851, 0.03, "street", 0.95)])
    assert f.answer is not None and f.answer.id == "gps"
    assert (f.lat, f.lon) == pytest.approx((43.4674, 11.8851))
    assert f.radius_km == pytest.approx(0.03 * (1 + 0.5 * 0.05))
    assert f.rival is None


def test_weak_city_inside_country_stays_country_level() -> None:
    f = fuse(
        [
            cand("FR", *FRANCE, 420, "country", 0.4),
            cand("Louvres", 49.04, 2.50, 5, "city", ACCEPT / 2),
        ]
    )
    assert f.answer is not None and f.answer.id == "FR"
    assert f.answer.level == "country"
    # the weak city lies in the answer: folded into it, not offered as an alternative
    assert f.alternatives == []


def test_specific_city_refines_the_country() -> None:
    f = fuse(
        [
            cand("FR", *FRANCE, 420, "country", 0.35),
            cand("Paris", *PARIS, 12, "city", 0.8),
            cand("CA", 56.0, -96.0, 2000, "country", 0.1),
        ]
    )
    assert f.answer is not None and f.answer.id == "Paris"
    assert haversine_km(f.lat, f.lon, *PARIS) < 1  # type: ignore[arg-type]
    # the containing country is not an alternative; the far one is
    assert [a.id for a in f.alternatives] == ["CA"]
    assert f.confidence == pytest.approx(0.8)


def test_precise_evidence_dominates_the_point() -> None:
    gps = (48.8606, 2.3376)
    f = fuse([cand("gps", *gps, 0.03, "street", 0.95), cand("Paris", *PARIS, 12, "city", 0.8)])
    assert f.answer is not None and f.answer.id == "gps"
    assert haversine_km(f.lat, f.lon, *gps) < 0.05  # type: ignore[arg-type]


def test_agreeing_readings_raise_support() -> None:
    f = fuse([cand("a", *PARIS, 10, "city", 0.5), cand("b", 48.86, 2.36, 10, "city", 0.5)])
    assert f.confidence == pytest.approx(0.75)
    assert f.alternatives == []  # b is a duplicate reading of a


def test_disagreement_is_reported_as_rival() -> None:
    f = fuse(
        [cand("Paris", *PARIS, 10, "city", 0.5), cand("Tokyo", 35.68, 139.69, 10, "city", 0.45)]
    )
    assert f.answer is not None and f.answer.id == "Paris"
    assert f.rival is not None and f.rival.id == "Tokyo"
    f = fuse(
        [cand("Paris", *PARIS, 10, "city", 0.9), cand("Tokyo", 35.68, 139.69, 10, "city", 0.2)]
    )
    assert f.rival is None


def test_radius_grows_with_spread_and_weak_evidence() -> None:
    strong = fuse([cand("a", *PARIS, 10, "city", 0.9)])
    weak = fuse([cand("a", *PARIS, 10, "city", 0.35)])
    spread = fuse([cand("a", *PARIS, 10, "city", 0.9), cand("b", 48.9, 2.45, 10, "city", 0.9)])
    assert (
        strong.radius_km is not None and weak.radius_km is not None and spread.radius_km is not None
    )
    assert weak.radius_km > strong.radius_km
    assert spread.radius_km > 10


def test_top_k_and_scores_sorted() -> None:
    cands = [cand(f"c{i}", 0.0, i * 10.0, 5, "city", 0.1 + i / 100) for i in range(10)]
    f = fuse(cands, top_k=3)
    assert len(f.alternatives) == 3
    scores = [c.score for c in f.ranked]
    assert scores == sorted(scores, reverse=True)


def test_country_codes_overrule_country_discs() -> None:
    canada = cand("CA", 43.7, -79.4, 1783, "country", 0.1, country_code="CA")
    fortville = cand("Fortville", 39.93, -85.85, 3.5, "city", 0.25, country_code="US")
    france = cand("FR", 48.85, 2.35, 417, "country", 0.22, country_code="FR")
    f = fuse([canada, fortville, france])
    # inside Canada's disc, but in the US: no shared support, so Fortville stands alone
    assert {c.id: c.score for c in f.ranked} == {"Fortville": 0.25, "FR": 0.22, "CA": 0.1}
    # a city far outside its country's disc still lies in its country
    russia = cand("RU", 55.75, 37.62, 1500, "country", 0.4, country_code="RU")
    vladivostok = cand("Vladivostok", 43.12, 131.9, 8, "city", 0.5, country_code="RU")
    g = fuse([russia, vladivostok])
    assert g.answer is not None and g.answer.id == "Vladivostok"
    scores = {c.id: c.score for c in g.ranked}
    assert scores["RU"] == pytest.approx(noisy_or([0.4, 0.5]))
    assert scores["Vladivostok"] == pytest.approx(g.confidence) == pytest.approx(0.5)
    # a region of another country does not hold a city just across the border
    savoie = cand("Savoie", 45.5, 6.4, 120, "region", 0.3, country_code="FR")
    aosta = cand("Aosta", 45.74, 7.32, 5, "city", 0.3, country_code="IT")
    h = fuse([savoie, aosta])
    assert {c.id: c.score for c in h.ranked} == {"Savoie": 0.3, "Aosta": 0.3}


def test_a_country_contains_uncoded_points_by_its_border() -> None:
    """A disc around France (550 km from the Centre) would also take in London."""
    from gre.records import Candidate as C

    france = C(
        id="c1", lat=46.9, lon=2.1, radius_km=550, level="country", label="France",
        country_code="FR", weight=0.6,
    )  # fmt: skip
    alps = C(id="c2", lat=45.0, lon=6.6, radius_km=0.3, level="street", label="col", weight=0.2)
    london = C(id="c3", lat=51.5, lon=-0.1, radius_km=0.3, level="street", label="pub", weight=0.2)
    fusion = fuse([france, alps, london])
    assert fusion.answer is not None and fusion.answer.label == "France"
    assert inside_france(fusion.lat, fusion.lon)  # drawn towards the Alps, not to London
    assert fusion.alternatives and fusion.alternatives[0].label == "pub"
    scores = {c.label: c.score for c in fusion.ranked}
    assert scores["France"] == pytest.approx(1 - 0.4 * 0.8)  # the Alps agree, London does not


def inside_france(lat: float | None, lon: float | None) -> bool:
    from gre.tools.gazetteer.borders import inside

    return lat is not None and lon is not None and bool(inside("FR", lat, lon))


def test_scores_read_like_the_answers_confidence() -> None:
    """A score is the confidence that place would have as the answer: alternatives compare."""
    france = cand("FR", *FRANCE, 420, "country", 0.5, country_code="FR")
    paris = cand("Paris", *PARIS, 8, "city", 0.5, country_code="FR")
    lyon = cand("Lyon", 45.76, 4.84, 8, "city", 0.35, country_code="FR")
    rome = cand("Rome", 41.9, 12.5, 8, "city", 0.3, country_code="IT")
    f = fuse([france, paris, lyon, rome])
    assert f.answer is not None and f.answer.id == "Paris"
    assert f.answer.score == pytest.approx(f.confidence) == pytest.approx(0.5)
    alts = {c.id: c.score for c in f.alternatives}
    # Lyon's own evidence, not France's, which it shares with the answer
    assert alts == {"Lyon": pytest.approx(0.35), "Rome": pytest.approx(0.3)}
    assert [c.id for c in f.alternatives] == ["Lyon", "Rome"]


def test_a_contradicted_candidate_is_never_the_answer() -> None:
    """Checks took most of a city's weight: it may be an alternative, never the answer."""
    fortville = cand("Fortville", 39.93, -85.85, 8, "city", 0.21, prior=0.85, country_code="US")
    france = cand("France", *FRANCE, 500, "country", 0.3, prior=0.3, country_code="FR")
    f = fuse([fortville, france])
    assert f.answer is not None and f.answer.id == "France"
    assert [a.id for a in f.alternatives] == ["Fortville"]
    alone = fuse([fortville])
    assert alone.answer is None and alone.lat is None
    assert [c.id for c in alone.ranked] == ["Fortville"]
    # a mild check (less than half the weight) still leaves a candidate answerable
    checked = cand("Paris", *PARIS, 8, "city", 0.6, prior=0.8, country_code="FR")
    f = fuse([checked])
    assert f.answer is not None and f.answer.id == "Paris"
