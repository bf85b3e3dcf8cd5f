"""Street names in sign text: a street-type word beside a name, in many scripts."""

from __future__ import annotations

import pytest

from gre.tools.support.streets import find_streets


@pytest.mark.parametrize(
    ("text", "street", "kind"),
    [
        ("Rue de la Paix", "Rue de la Paix", "rue"),
        ("221B Baker St", "Baker St", "st"),
        ("Oxford Street", "Oxford Street", "street"),
        ("Bahnhofstraße 12", "Bahnhofstraße", "strasse"),
        ("Drottninggatan", "Drottninggatan", "gatan"),
        ("Via Roma 5", "Via Roma", "via"),
        ("Avenue des Champs-Élysées", "Avenue des Champs-Élysées", "avenue"),
        ("ul. Marszałkowska", "ul. Marszałkowska", "ul"),
        ("Тверская улица", "Тверская улица", "улица"),
        ("Οδός Ερμού", "Οδός Ερμού", "οδοσ"),
        ("中山路", "中山路", "路"),
        ("本町通り", "本町通り", "通り"),
        ("세종대로", "세종대로", "대로"),
    ],
)
def test_street_names_are_found_with_their_type(text: str, street: str, kind: str) -> None:
    (found,) = find_streets(text)
    assert (found.name, found.kind) == (street, kind)
    assert text[found.start : found.end].startswith(found.text)


@pytest.mark.parametrize(
    "text",
    [
        "ONE WAY",  # common words before a type word name no street
        "Please drive carefully",
        "Bus Lane",
        "the rue is closed",  # a type word inside a sentence, lower case
        "Al Pacino",  # an abbreviation counts only with its full stop
        "道路",  # "road": no name before the ending
        "Marseille\\ncentre ville",
        "Pont de Fortville 3,8 km",
        "Weg",  # a compound needs a stem
    ],
)
def test_no_street_without_a_name_beside_a_type_word(text: str) -> None:
    assert find_streets(text.replace("\\n", "\n")) == []


def test_streets_keep_their_offsets_across_lines() -> None:
    text = "Le Palais\nRue de Rivoli 3\nParis"
    (street,) = find_streets(text)
    assert text[street.start : street.end] == "Rue de Rivoli 3"
    assert street.name == "Rue de Rivoli"
