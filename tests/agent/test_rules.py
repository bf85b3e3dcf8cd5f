"""The tools-only backend reports what the tools found, as clues; it proposes no places."""

from gre.agent.vlm.base import StageContext
from gre.agent.vlm.rules import RulesBackend
from gre.records import Evidence, PhotoInfo, PlaceClaim

PHOTO = PhotoInfo(
    path="p.jpg", work_path="w.png", sha256="0" * 64, format="JPEG", width=1, height=1, bytes=1
)


def _clues_evidence() -> list[Evidence]:
    ocr = Evidence(
        id="e1",
        tool="ocr",
        result={
            "lines": [
                {"text": "Bienvenue", "confidence": 90.0, "box": [0, 0, 10, 10], "region": -1}
            ]
        },
    )
    france = PlaceClaim(
        lat=48.85,
        lon=2.35,
        radius_km=417,
        level="country",
        label="France",
        weight=0.3,
        country="FR",
    )
    clues = Evidence(
        id="e2",
        tool="text_clues",
        result={
            "languages": [{"code": "fr", "name": "French", "confidence": 0.97}],
            "scripts": [{"script": "Latin", "share": 1.0}],
            "countries": [{"code": "FR", "name": "France", "weight": 0.3}],
        },
        claims=[france],
    )
    return [ocr, clues]


def test_details_report_the_text_its_language_and_the_countries_claimed() -> None:
    context = StageContext(photo=PHOTO, evidence=_clues_evidence())
    result = RulesBackend().propose("details", [], context)
    kinds = [(c.kind, c.value) for c in result.clues]
    assert ("text", "Bienvenue") in kinds and ("language", "fr (French)") in kinds
    assert not any(k == "script" for k, _ in kinds)  # Latin says nothing about the country
    assert result.hypotheses == [] and result.tool_requests == []  # the tools' claims do it
    assert "FR 0.30" in result.summary


def test_clues_already_in_the_run_are_not_repeated() -> None:
    first = RulesBackend().propose(
        "details", [], StageContext(photo=PHOTO, evidence=_clues_evidence())
    )
    again = RulesBackend().propose(
        "details", [], StageContext(photo=PHOTO, evidence=_clues_evidence(), clues=first.clues)
    )
    assert first.clues and again.clues == [] and again.summary.startswith("no new text")


def test_semantic_names_the_places_found() -> None:
    text = "A4 STRASBOURG"
    place = {
        "geonameid": 1,
        "name": "Strasbourg",
        "kind": "city",
        "lat": 48.58,
        "lon": 7.75,
        "country_code": "FR",
        "country": "France",
        "admin1": None,
        "admin2": None,
        "population": 274845,
        "match": "folded",
        "radius_km": 8.0,
    }
    mention = {"text": "STRASBOURG", "start": 3, "end": 13, "places": [place]}
    claim = PlaceClaim(
        lat=48.58,
        lon=7.75,
        radius_km=8,
        level="city",
        label="Strasbourg",
        weight=0.85,
        country="FR",
    )
    scan = Evidence(
        id="e3",
        tool="gazetteer",
        query={"mode": "scan", "text": text},
        result={"mode": "scan", "text": text, "mentions": [mention]},
        claims=[claim],
    )
    result = RulesBackend().propose("semantic", [], StageContext(photo=PHOTO, evidence=[scan]))
    assert [(c.kind, c.value) for c in result.clues] == [("place_name", "STRASBOURG")]
    assert result.clues[0].confidence > 0.8  # a whole sign line
    assert "Strasbourg (FR) 0.85" in result.summary


def test_scene_without_a_model_says_so() -> None:
    result = RulesBackend().propose("scene", [], StageContext(photo=PHOTO))
    assert result.ok and not result.clues and "no model" in result.summary
