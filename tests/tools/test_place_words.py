"""Language from the generic words of place names, where statistical detection cannot tell."""

from __future__ import annotations

import pytest

from gre.tools.text_clues.place_words import guess_language


@pytest.mark.parametrize(
    ("text", "code", "words"),
    [
        ("6,5 km Col du Granon\n1,3 km Lacs de Cristol", "fr", ("col", "du", "lacs", "de")),
        ("Rue de la Paix", "fr", ("rue", "de", "la")),
        ("Hauptstraße 5 / Marktplatz", "de", ("strasse", "platz")),
        ("Calle Mayor / Plaza del Sol", "es", ("calle", "plaza", "del")),
        ("Via Roma / Piazza del Duomo", "it", ("via", "piazza", "del", "duomo")),
        ("Rua Augusta / Praça do Comércio", "pt", ("rua", "praca")),
        ("Drottninggatan / Sergels torg", "sv", ("gatan", "torg")),
        ("Ulica Marszałkowska / Plac Defilad", "pl", ("ulica", "plac")),
        ("Kossuth Lajos utca / Deák Ferenc tér", "hu", ("utca", "ter")),
        ("İstiklal Caddesi / Taksim Meydanı", "tr", ("caddesi", "meydani")),
        ("Strada Lipscani / Piața Unirii", "ro", ("strada", "piata")),
        ("Jalan Sudirman / Stasiun Gambir", "id", ("jalan", "stasiun")),
        ("Carrer de Mallorca / Plaça de Catalunya", "ca", ("carrer", "de", "placa")),
        ("Main Street / Station Road", "en", ("street", "station", "road")),
    ],
)  # fmt: skip
def test_place_words_name_the_language(text: str, code: str, words: tuple[str, ...]) -> None:
    guess = guess_language(text)
    assert guess is not None and guess.code == code and guess.words == words
    assert 0.5 <= guess.confidence <= 0.9


@pytest.mark.parametrize(
    "text",
    ["Pharmacy", "Bahnhofstrasse", "Open 9 am - 5 pm", "Gate 12", "Do not enter", "", "12 34",
     "de la", "Centro"],
)  # fmt: skip
def test_one_word_or_shared_words_decide_nothing(text: str) -> None:
    assert guess_language(text) is None


def test_confidence_grows_with_the_lead_and_repeats_count_twice_at_most() -> None:
    two = guess_language("Rue Haute / Toutes directions")
    many = guess_language("Rue Haute / Col du Lac / Mairie / Gare / Toutes directions")
    assert two is not None and many is not None and two.confidence < many.confidence == 0.9
    # "de" on every line of a signpost does not outvote the lines' own words
    spam = guess_language("Puente de A\nCalle de B\nde C\nde D\nde E\nde F")
    assert spam is not None and spam.code == "es"
