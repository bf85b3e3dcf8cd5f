"""What a gazetteer result claims: weighed place names from a scan, a look-up's place, a country."""

from typing import Any

import pytest

from gre.records import Candidate
from gre.tools.gazetteer import GazetteerOutput
from gre.tools.gazetteer.claims import mention_strength
from gre.tools.gazetteer.places import CountryInfo, Place


def _place(name: str, cc: str, lat: float, lon: float, pop: int, **kw: Any) -> Place:
    return Place(
        geonameid=abs(hash((name, cc))) % 10**7,
        name=name,
        kind=kw.get("kind", "city"),
        lat=lat,
        lon=lon,
        country_code=cc,
        country=None,
        admin1=kw.get("admin1"),
        admin2=None,
        population=pop,
        match=kw.get("match", "exact"),
        score=kw.get("score", 100.0),
        radius_km=5.0,
        distance_km=kw.get("distance_km"),
    )


def _scan(text: str, mentions: list[tuple[str, list[Place]]]) -> GazetteerOutput:
    out = []
    for span, places in mentions:
        start = text.index(span)
        out.append({"text": span, "start": start, "end": start + len(span), "places": places})
    return GazetteerOutput.model_validate({"mode": "scan", "text": text, "mentions": out})


def _weights(out: GazetteerOutput) -> dict[str, float]:
    best: dict[str, float] = {}
    for c in out.claims():
        best[c.label] = max(best.get(c.label, 0.0), c.weight)
    return best


def test_whole_line_beats_a_name_inside_a_phrase() -> None:
    assert mention_strength("STRASBOURG", "A4 STRASBOURG") > 0.8
    # scene OCR often reads a route number as two words
    assert mention_strength("STRASBOURG", "A 4 STRASBOURG") == mention_strength(
        "STRASBOURG", "A4 STRASBOURG"
    )
    assert mention_strength("Lyon", "rue de Lyon") < 0.5
    assert mention_strength("Névache", "Névache 4,2 km") > mention_strength(
        "Fortville", "Pont de Fortville 3,8 km"
    )
    assert mention_strength("Col", "Col") < mention_strength("Lyon", "Lyon")


def test_homonyms_share_by_population_and_fuzzy_counts_less() -> None:
    out = _scan(
        "STRASBOURG\nSTRASBURGG",
        [
            (
                "STRASBOURG",
                [
                    _place("Strasbourg", "FR", 48.58, 7.75, 274845),
                    _place("Strasbourg", "CA", 51.07, -104.95, 700),
                ],
            ),
            ("STRASBURGG", [_place("Strasburg", "US", 40.0, -76.2, 3000, match="fuzzy", score=90)]),
        ],
    )
    conf = _weights(out)
    assert conf["Strasbourg"] > 0.6
    assert conf["Strasburg"] < 0.3 * conf["Strasbourg"]  # fuzzy: a quarter of an exact match
    by_cc = {c.country: c.weight for c in out.claims()}
    assert by_cc["FR"] > 20 * by_cc["CA"]
    strasbourg = next(c for c in out.claims() if c.country == "FR")
    assert strasbourg.level == "city" and strasbourg.ref and strasbourg.ref.startswith("geonames:")
    assert "STRASBOURG" in strasbourg.why


def test_places_named_together_support_each_other() -> None:
    annecy = _place("Annecy", "FR", 45.90, 6.12, 50000)
    alone = _weights(_scan("Annecy", [("Annecy", [annecy])]))
    text = "Annecy 12 km\nThônes 20 km"
    both = _weights(
        _scan(text, [("Annecy", [annecy]), ("Thônes", [_place("Thônes", "FR", 45.88, 6.32, 6000)])])
    )
    assert both["Annecy"] > alone["Annecy"]
    far = _weights(
        _scan(text, [("Annecy", [annecy]), ("Thônes", [_place("Thônes", "XX", -30, 120, 6000)])])
    )
    assert far["Annecy"] == pytest.approx(alone["Annecy"])


def test_regions_count_less_than_towns() -> None:
    town = _weights(_scan("Lacs", [("Lacs", [_place("Lacs", "FR", 47.0, 2.0, 20000)])]))
    region = _weights(
        _scan("Lacs", [("Lacs", [_place("Lacs", "CI", 6.7, -4.8, 20000, kind="admin1")])])
    )
    assert region["Lacs"] == pytest.approx(town["Lacs"] * 0.6, rel=1e-3)


def test_a_lookup_claims_its_best_place_and_a_fuzzy_one_less() -> None:
    exact = GazetteerOutput(mode="lookup", places=[_place("Arezzo", "IT", 43.46, 11.88, 99000)])
    (claim,) = exact.claims()
    assert claim.weight == 1.0 and claim.label == "Arezzo, IT" and claim.level == "city"
    fuzzy = GazetteerOutput(
        mode="lookup", places=[_place("Arezzo", "IT", 43.46, 11.88, 99000, match="fuzzy", score=90)]
    )
    assert fuzzy.claims()[0].weight == pytest.approx(0.9 * 0.7)
    assert GazetteerOutput(mode="lookup").claims() == []


def test_a_country_claims_its_disc() -> None:
    info = CountryInfo(
        code="FR",
        name="France",
        lat=48.85,
        lon=2.35,
        radius_km=417,
        population=67_000_000,
        continent="EU",
        capital="Paris",
        languages=["fr"],
    )
    (claim,) = GazetteerOutput(mode="country", country=info).claims()
    assert (claim.level, claim.country, claim.radius_km) == ("country", "FR", 417)


def _candidate(cc: str | None, level: str = "city") -> Candidate:
    return Candidate.model_validate(
        {
            "id": "c1",
            "lat": 0.1,
            "lon": 0.1,
            "radius_km": 8,
            "level": level,
            "label": "x",
            "country_code": cc,
            "weight": 0.9,
        }
    )


def test_a_reverse_look_up_checks_the_point_it_was_asked_about() -> None:
    near = GazetteerOutput(
        mode="reverse", places=[_place("Arezzo", "IT", 43.46, 11.88, 99000, distance_km=2.0)]
    )
    assert near.claims() == []  # it checks, it does not propose
    assert near.contradicts(_candidate("IT")) == 0.0 and near.supports(_candidate("IT"))
    assert near.contradicts(_candidate("FR")) == 0.5 and not near.supports(_candidate("FR"))
    far = GazetteerOutput(
        mode="reverse", places=[_place("Takoradi", "GH", 4.9, -1.7, 99000, distance_km=600.0)]
    )
    assert far.contradicts(_candidate(None)) == 0.7  # a "city" 600 km from any town
    assert far.contradicts(_candidate(None, level="country")) == 0.0
    # a look-up (not reverse) never checks
    assert GazetteerOutput(mode="lookup", places=near.places).contradicts(_candidate("FR")) == 0.0


def test_borders_say_what_lies_in_a_country() -> None:
    from gre.tools.gazetteer.borders import inside

    assert inside("NO", 78.2, 15.6) and inside("NO", 59.9, 10.7)  # Svalbard and Oslo
    assert inside("FR", 45.0, 6.6) and inside("FR", 48.58, 7.75)  # Névache, Strasbourg
    assert inside("FR", 51.5, -0.1) is False and inside("GB", 51.5, -0.1)
    assert inside("MC", 43.73, 7.42) is None  # too small for 1:110m: no shape, no answer
