"""The text_clues tool: languages, scripts and the countries they point to."""

from __future__ import annotations

import pycountry
import pytest

from gre.config import Settings
from gre.tools.text_clues import (
    CountryEvidence,
    TextCluesInput,
    TextCluesOutput,
    TextCluesTool,
    combine,
    language_detector,
    script_of,
)
from gre.tools.toolbox import ToolBox


def _run(text: str, settings: Settings) -> TextCluesOutput:
    return TextCluesTool(settings).run(TextCluesInput(text=text))


def _valid_distribution(out: TextCluesOutput) -> None:
    weights = [c.weight for c in out.countries]
    assert weights == sorted(weights, reverse=True)
    assert 0 < sum(weights) <= 1.0 + 1e-9
    assert len(out.countries) <= 15
    for country in out.countries:
        assert pycountry.countries.get(alpha_2=country.code) is not None
        assert country.name and country.reasons


def test_french_through_toolbox(settings: Settings) -> None:
    text = "Centre ville\nToutes directions\nRue de la République\nBoulangerie Pâtisserie"
    box = ToolBox(settings)
    try:
        out, call = box.call("text_clues", {"text": text}, stage="details", call_id="c1")
    finally:
        box.close()
    assert call.ok and isinstance(out, TextCluesOutput)
    assert out.languages[0].code == "fr" and out.languages[0].name == "French"
    assert out.languages[0].confidence >= 0.95
    assert out.scripts[0].script == "Latin" and out.scripts[0].share == 1.0
    assert out.countries[0].code == "FR" and out.countries[0].name == "France"
    assert out.countries[0].reasons == [f"language fr ({out.languages[0].confidence:.2f})"]
    _valid_distribution(out)
    assert call.summary.startswith("language fr")


def test_german(settings: Settings) -> None:
    out = _run("Ausfahrt freihalten\nHauptbahnhof\nStadtmitte\nBitte nicht rauchen", settings)
    assert [g.code for g in out.languages] == ["de"]
    assert out.countries[0].code == "DE"
    assert {"AT", "CH"} <= {c.code for c in out.countries}
    _valid_distribution(out)


@pytest.mark.parametrize(
    ("text", "script", "expected"),
    [
        ("Κέντρο πόλης Αθήνα", "Greek", {"GR", "CY"}),
        ("서울역 출구", "Hangul", {"KR"}),
        ("สถานีรถไฟกรุงเทพ", "Thai", {"TH"}),
        ("תחנה מרכזית", "Hebrew", {"IL"}),
        ("Центр города", "Cyrillic", {"RU"}),
        ("ქუთაისი", "Georgian", {"GE"}),
        ("東京駅 のりば", "Hiragana", {"JP"}),
    ],
)
def test_non_latin_scripts(text: str, script: str, expected: set[str], settings: Settings) -> None:
    out = _run(text, settings)
    assert script in {s.script for s in out.scripts}
    assert expected <= {c.code for c in out.countries[:3]}
    _valid_distribution(out)


def test_script_alone_points_to_countries(settings: Settings) -> None:
    """Too short for a language guess; the script still says where."""
    out = _run("Центр", settings)
    assert out.languages == []
    assert out.countries[0].code == "RU"
    assert out.countries[0].reasons == ["script Cyrillic"]


@pytest.mark.parametrize("text", ["", "   \n", "12345 678", "3,8 km", "2092 m"])
def test_no_clue_without_letters(text: str, settings: Settings) -> None:
    out = _run(text, settings)
    assert out.languages == [] and out.countries == []
    assert out.summary() == "no language or script clue" or out.scripts


def test_short_unsure_text_gets_no_language(settings: Settings) -> None:
    """lingua's low-accuracy mode calls "Pharmacy" Polish at 0.91: too sure for so few letters."""
    out = _run("Pharmacy", settings)
    assert out.languages == [] and out.countries == []
    # the hiking guidepost's OCR text is all place names: no language, no Norway
    out = _run("Pont de Fortville 3,8 km\nNévache 4,2 km\n1,3 km Lacs de Cristol", settings)
    assert out.languages == []


def test_input_limit() -> None:
    with pytest.raises(ValueError, match="at most 20000"):
        TextCluesInput(text="a" * 20_001)


def test_script_of() -> None:
    assert script_of("é") == "Latin"
    assert script_of("Ж") == "Cyrillic"
    assert script_of("한") == "Hangul"
    assert script_of("ｱ") == "Katakana"  # halfwidth
    assert script_of("中") == "Han"
    assert script_of("7") is None


def test_combine_mixes_and_scales() -> None:
    out = combine(
        [
            CountryEvidence("a", 0.5, {"FR": 1.0}),
            CountryEvidence("b", 0.5, {"FR": 0.5, "BE": 0.5}),
        ]
    )
    weights = {c.code: c.weight for c in out}
    assert weights == {"FR": 0.5625, "BE": 0.1875}  # noisy-or mass 0.75, mixture 3/4 : 1/4
    assert out[0].reasons == ["a", "b"] and out[1].reasons == ["b"]
    assert combine([]) == []


def test_detector_is_a_singleton() -> None:
    assert language_detector() is language_detector()
