"""The ``text_clues`` tool: language, script, phones, domains, postcodes, prices -> countries."""

from gre.tools.text_clues.countries import clue_context, combine, country_name, damped
from gre.tools.text_clues.evidence import MAX_TEXT_CHARS, CountryEvidence
from gre.tools.text_clues.languages import language_detector, language_homes, language_name
from gre.tools.text_clues.models import (
    CountryWeight,
    CurrencyClue,
    DomainClue,
    LanguageGuess,
    PhoneClue,
    PostcodeClue,
    ScriptShare,
    TextCluesInput,
    TextCluesOutput,
)
from gre.tools.text_clues.scripts import script_of
from gre.tools.text_clues.tool import ANALYSERS, TextCluesTool

__all__ = [
    "ANALYSERS",
    "MAX_TEXT_CHARS",
    "CountryEvidence",
    "CountryWeight",
    "CurrencyClue",
    "DomainClue",
    "LanguageGuess",
    "PhoneClue",
    "PostcodeClue",
    "ScriptShare",
    "TextCluesInput",
    "TextCluesOutput",
    "TextCluesTool",
    "clue_context",
    "combine",
    "country_name",
    "damped",
    "language_detector",
    "language_homes",
    "language_name",
    "script_of",
]
