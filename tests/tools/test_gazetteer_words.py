"""Text to place with precision: common words are not towns, country aliases not homonyms."""

from __future__ import annotations

from pathlib import Path

import pytest

from gre.tools.gazetteer.query import Gazetteer
from gre.tools.gazetteer.words import is_common, word_zipf


@pytest.fixture(scope="module")
def gaz(session_cache: Path) -> Gazetteer:
    return Gazetteer.open(session_cache)


def _named(gaz: Gazetteer, text: str, languages: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    return [(m.text, m.places[0].name) for m in gaz.scan(text, languages=languages)]


@pytest.mark.parametrize(
    ("text", "languages"),
    [
        ("NO LITTER", ("en",)),  # not Ittre, Belgium, by a fuzzy match
        ("CROSS", ("en",)),  # not Cross County, Arkansas (its name with "County" stripped)
        ("FETE", ("fr",)),  # not Fété, Côte d'Ivoire (671 people)
        ("Hunde anleinen!", ()),  # not Houndé, Burkina Faso (an alternate name)
        ("Hunde SKAL føres i snor", ("da",)),
        ("PASSEREL", ("fr",)),  # a fragment of PASSERELLE: a lower-case or common word
    ],
)
def test_common_words_are_not_towns(gaz: Gazetteer, text: str, languages: tuple[str, ...]) -> None:
    assert _named(gaz, text, languages) == []


def test_famous_names_and_big_places_stay(gaz: Gazetteer) -> None:
    assert _named(gaz, "PALAIS DU LOUVRE") == [("LOUVRE", "Paris 01 Louvre")]
    assert _named(gaz, "A4 STRASBOURG", ("fr",)) == [("STRASBOURG", "Strasbourg")]
    assert ("Arezzo", "Arezzo") in _named(gaz, "Via Roma 1, Arezzo", ("it",))
    assert _named(gaz, "Casino de Monte-Carlo", ("fr",)) == [("Monte-Carlo", "Monte-Carlo")]
    assert _named(gaz, "ANNECY 12 km", ("fr",)) == [("ANNECY", "Annecy")]  # no common word


def test_a_country_alias_gives_way_to_a_town_of_that_name(gaz: Gazetteer) -> None:
    """ "Poole" is an alternate name of Poland and the name of an English town."""
    (poole,) = gaz.scan("Poole 12")
    assert {p.kind for p in poole.places} <= {"city", "admin2"}
    assert poole.places[0].country_code == "GB"
    assert gaz.lookup("Poole")[0].country_code == "GB"
    assert gaz.lookup("Polska")[0].country_code == "PL"  # its own names still name it


def test_fuzzy_matches_need_a_name_like_token(gaz: Gazetteer) -> None:
    assert [m.places[0].name for m in gaz.scan("MARSEILE 12")] == ["Marseille"]
    assert gaz.scan("marseile 12") == []  # lower case: running text, not a name
    assert gaz.scan("Marseile 12")[0].places[0].name == "Marseille"


def test_word_frequencies() -> None:
    assert is_common("hunde", ["de"]) and is_common("Hunde")  # German is asked anyway
    assert is_common("litter") and not is_common("Névache")
    assert word_zipf("Palais du Louvre") == 0.0  # phrases are not words
    assert not is_common("井の頭", ["ja"])  # no tokenizer for Japanese: never common
