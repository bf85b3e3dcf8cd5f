"""The tools-only backend's rules, on hand-made tool evidence."""

from typing import Any

import pytest

from gre.agent.vlm.base import StageContext
from gre.agent.vlm.rules import RulesBackend, _mention_strength
from gre.records import Evidence, PhotoInfo

PHOTO = PhotoInfo(
    path="p.jpg", work_path="w.png", sha256="0" * 64, format="JPEG", width=1, height=1, bytes=1
)


def _place(name: str, cc: str, lat: float, lon: float, pop: int, **kw: Any) -> dict[str, Any]:
    return {
        "geonameid": abs(hash((name, cc))) % 10**7,
        "name": name,
        "kind": kw.get("kind", "city"),
        "lat": lat,
        "lon": lon,
        "country_code": cc,
        "population": pop,
        "match": kw.get("match", "exact"),
        "score": kw.get("score", 100.0),
        "radius_km": 5.0,
    }


def _scan(text: str, mentions: list[tuple[str, list[dict[str, Any]]]]) -> Evidence:
    out = []
    for span, places in mentions:
        start = text.index(span)
        out.append({"text": span, "start": start, "end": start + len(span), "places": places})
    return Evidence(
        id="e1", tool="gazetteer", query={"mode": "scan", "text": text}, result={"mentions": out}
    )


def _semantic(ev: Evidence) -> dict[str, float]:
    result = RulesBackend().propose("semantic", [], StageContext(photo=PHOTO, evidence=[ev]))
    best: dict[str, float] = {}
    for h in result.hypotheses:
        best[h.name or ""] = max(best.get(h.name or "", 0.0), h.confidence)
    return best


def test_whole_line_beats_a_name_inside_a_phrase() -> None:
    assert _mention_strength("STRASBOURG", "A4 STRASBOURG") > 0.8
    assert _mention_strength("Névache", "Névache 4,2 km") > _mention_strength(
        "Fortville", "Pont de Fortville 3,8 km"
    )
    assert _mention_strength("Col", "Col") < _mention_strength("Lyon", "Lyon")


def test_homonyms_share_by_population_and_fuzzy_counts_less() -> None:
    ev = _scan(
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
    conf = _semantic(ev)
    assert conf["Strasbourg"] > 0.6
    assert conf["Strasburg"] < 0.3 * conf["Strasbourg"]  # fuzzy: a quarter of an exact match
    hyps = RulesBackend().propose("semantic", [], StageContext(photo=PHOTO, evidence=[ev]))
    by_cc = {h.country_code: h.confidence for h in hyps.hypotheses}
    assert by_cc["FR"] > 20 * by_cc["CA"]


def test_places_named_together_support_each_other() -> None:
    alone = _semantic(_scan("Annecy", [("Annecy", [_place("Annecy", "FR", 45.90, 6.12, 50000)])]))
    text = "Annecy 12 km\nThônes 20 km"
    both = _semantic(
        _scan(
            text,
            [
                ("Annecy", [_place("Annecy", "FR", 45.90, 6.12, 50000)]),
                ("Thônes", [_place("Thônes", "FR", 45.88, 6.32, 6000)]),
            ],
        )
    )
    assert both["Annecy"] > alone["Annecy"]
    far = _semantic(
        _scan(
            text,
            [
                ("Annecy", [_place("Annecy", "FR", 45.90, 6.12, 50000)]),
                ("Thônes", [_place("Thônes", "XX", -30.0, 120.0, 6000)]),
            ],
        )
    )
    assert far["Annecy"] == pytest.approx(alone["Annecy"])


def test_regions_count_less_than_towns() -> None:
    town = _semantic(_scan("Lacs", [("Lacs", [_place("Lacs", "FR", 47.0, 2.0, 20000)])]))
    region = _semantic(
        _scan("Lacs", [("Lacs", [_place("Lacs", "CI", 6.7, -4.8, 20000, kind="admin1")])])
    )
    assert region["Lacs"] == pytest.approx(town["Lacs"] * 0.6, rel=1e-3)


def test_details_turn_text_clues_into_country_hypotheses() -> None:
    ocr = Evidence(
        id="e1",
        tool="ocr",
        result={
            "lines": [
                {"text": "Bienvenue", "confidence": 90.0, "box": [0, 0, 10, 10], "region": -1}
            ]
        },
    )
    clues = Evidence(
        id="e2",
        tool="text_clues",
        result={
            "languages": [{"code": "fr", "name": "French", "confidence": 0.97}],
            "scripts": [{"script": "Latin", "share": 1.0}],
            "countries": [
                {"code": "FR", "name": "France", "weight": 0.3, "reasons": ["language fr"]},
                {"code": "BE", "name": "Belgium", "weight": 0.04, "reasons": ["language fr"]},
                {"code": "LU", "name": "Luxembourg", "weight": 0.01, "reasons": ["language fr"]},
            ],
        },
    )
    result = RulesBackend().propose("details", [], StageContext(photo=PHOTO, evidence=[ocr, clues]))
    assert [h.country_code for h in result.hypotheses] == ["FR", "BE"]  # LU is below the floor
    kinds = [(c.kind, c.value) for c in result.clues]
    assert ("text", "Bienvenue") in kinds and ("language", "fr (French)") in kinds
    assert not any(k == "script" for k, _ in kinds)  # Latin says nothing about the country


def test_scene_without_a_model_says_so() -> None:
    result = RulesBackend().propose("scene", [], StageContext(photo=PHOTO))
    assert result.ok and not result.clues and "no model" in result.summary


def _language(code: str, confidence: float) -> Evidence:
    result = {"languages": [{"code": code, "name": code, "confidence": confidence}]}
    return Evidence(id="e0", tool="text_clues", result=result)


def test_places_where_the_text_language_is_foreign_count_less() -> None:
    """French place words on the sign: Fortville, Indiana is an unlikely reading."""
    text = "Pont de Fortville 3,8 km\nAosta 20 km"
    ev = _scan(
        text,
        [
            ("Fortville", [_place("Fortville", "US", 39.93, -85.85, 3957)]),
            ("Aosta", [_place("Aosta", "IT", 45.74, 7.32, 34000)]),  # French is official there
        ],
    )

    def run(*evidence: Evidence) -> dict[str, float]:
        context = StageContext(photo=PHOTO, evidence=[*evidence, ev])
        hyps = RulesBackend().propose("semantic", [], context).hypotheses
        return {h.name or "": h.confidence for h in hyps}

    plain, sure, unsure = run(), run(_language("fr", 0.9)), run(_language("fr", 0.5))
    assert sure["Fortville"] == pytest.approx(plain["Fortville"] * (1 - 0.9 * 0.75), abs=1e-4)
    assert plain["Fortville"] > unsure["Fortville"] > sure["Fortville"]
    assert sure["Aosta"] == plain["Aosta"]
