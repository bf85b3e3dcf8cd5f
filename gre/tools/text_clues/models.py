"""The ``text_clues`` tool's input and output: the clues found and the countries they name."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from gre.records import Candidate, PlaceClaim
from gre.tools.base import ToolOutput, quote
from gre.tools.gazetteer.claims import country_disc
from gre.tools.gazetteer.places import CountryInfo
from gre.tools.text_clues.evidence import MAX_TEXT_CHARS

MIN_COUNTRY_WEIGHT = 0.03
MAX_COUNTRY_CLAIMS = 8
MAX_COUNTRY_WEIGHT = 0.9
FOREIGN_SHARE = 0.25
"""Weight kept by a place where none of the text's (certain) languages is at home."""
STRONG_LANGUAGE = 0.6
"""Language confidence above which a country outside the distribution is contradicted."""
OUTSIDE_SHARE = 0.7
"""Weight kept by a place whose country no clue points to, under a confident language."""


class TextCluesInput(BaseModel):
    """Text read from the photo (OCR lines, a transcription)."""

    text: str = Field(max_length=MAX_TEXT_CHARS, description="the text, lines joined by newlines")


LanguageMethod = Literal["lingua", "lingua + words", "place words", "words"]


class LanguageGuess(BaseModel):
    """A language the text is written in."""

    code: str = Field(description="ISO 639-1, lower case, e.g. 'fr'")
    name: str
    confidence: float = Field(ge=0, le=1)
    method: LanguageMethod = Field(
        "lingua",
        description="statistical detection (confirmed by the words on a short text), the"
        " generic words of place names, or the words alone",
    )
    words: list[str] = Field(default_factory=list, description="the place words that decided")


class ScriptShare(BaseModel):
    """A writing system and its share of the letters."""

    script: str = Field(description="Unicode script name, e.g. 'Latin', 'Hangul'")
    share: float = Field(ge=0, le=1)


class CountryWeight(BaseModel):
    """One country of the distribution and the clues behind it."""

    code: str = Field(description="ISO 3166-1 alpha-2")
    name: str
    weight: float = Field(ge=0, le=1)
    reasons: list[str] = Field(default_factory=list)
    place: CountryInfo | None = Field(
        default=None, description="where the country is (the gazetteer's centre and extent)"
    )


class PhoneClue(BaseModel):
    """A phone number and the country it belongs to."""

    text: str = Field(description="as written")
    e164: str = Field(description="normalised, e.g. '+33142603926'")
    country_code: str | None = Field(description="ISO 3166-1 alpha-2 (the likeliest region)")
    international: bool = Field(description="written with its calling code (+33, 0033)")


class DomainClue(BaseModel):
    """A web or e-mail domain and what its top-level domain says."""

    text: str
    domain: str = Field(description="host name, lower case")
    tld: str = Field(description="e.g. '.fr', '.co.uk' is '.uk'")
    kind: Literal["country", "vanity", "regional", "generic"]
    country_code: str | None = None


class CurrencyClue(BaseModel):
    """A price: currency sign or code with an amount."""

    text: str
    symbol: str
    currencies: list[str] = Field(description="ISO 4217 codes the symbol may mean")
    amount: str
    decimal: Literal[",", "."] | None = Field(
        default=None, description="the decimal mark the amount's format implies"
    )


class PostcodeClue(BaseModel):
    """A postcode and the countries whose format it fits."""

    text: str
    format: str = Field(description="the format matched, e.g. 'GB', 'digits + city'")
    countries: list[str]


class TextCluesOutput(ToolOutput):
    """Languages, scripts, phones, domains, prices, postcodes and a country distribution.

    The country weights sum to at most 1; the rest is "could be anywhere".
    """

    languages: list[LanguageGuess] = Field(default_factory=list)
    scripts: list[ScriptShare] = Field(default_factory=list)
    phones: list[PhoneClue] = Field(default_factory=list)
    domains: list[DomainClue] = Field(default_factory=list)
    currencies: list[CurrencyClue] = Field(default_factory=list)
    postcodes: list[PostcodeClue] = Field(default_factory=list)
    countries: list[CountryWeight] = Field(default_factory=list)
    homes: list[str] = Field(
        default_factory=list,
        description="countries where a language of the text is official or widely spoken",
    )
    streets: list[str] = Field(
        default_factory=list,
        description="street names read (a street-type word beside a name): look them up "
        "as streets on a map or geocoder, not as towns",
    )

    def for_model(self) -> str:
        langs = ", ".join(f"{g.code} {g.confidence:.2f}" for g in self.languages)
        scripts = ", ".join(s.script for s in self.scripts)
        countries = ", ".join(f"{c.code} {c.weight:.2f}" for c in self.countries[:6])
        lines = [f"languages [{langs}], scripts [{scripts}], countries [{countries}]"]
        for kind, items in (
            ("phone", [p.text for p in self.phones]),
            ("domain", [d.text for d in self.domains]),
            ("price", [c.text for c in self.currencies]),
            ("postcode", [p.text for p in self.postcodes]),
            ("street", self.streets),
        ):
            lines.extend(f"{kind} {quote(text)}" for text in items[:3])
        return "\n".join(lines)

    def claims(self) -> list[PlaceClaim]:
        """The countries the text points to (the likeliest few), each its whole disc."""
        out: list[PlaceClaim] = []
        for c in self.countries:
            if len(out) >= MAX_COUNTRY_CLAIMS or c.weight < MIN_COUNTRY_WEIGHT:
                break
            if c.place is None:
                continue
            weight = round(min(MAX_COUNTRY_WEIGHT, c.weight), 4)
            out.append(country_disc(c.place, weight=weight, why="; ".join(c.reasons)))
        return out

    def supports(self, candidate: Candidate) -> bool:
        return candidate.country_code in {c.code for c in self.countries}

    def contradicts(self, candidate: Candidate) -> float:
        """A place where the text's language is foreign, or that no clue points to.

        Where none of the text's languages is at home ("Pont de Fortville" read on a
        French sign, Fortville being in Indiana) a candidate keeps ``FOREIGN_SHARE`` of
        its weight when the language is certain, proportionally more when it is not; one
        whose country is outside the distribution of a confidently read language also
        loses ``1 - OUTSIDE_SHARE``. Continents are not judged.
        """
        code = candidate.country_code
        if code is None or candidate.level == "continent":
            return 0.0
        confidence = max((g.confidence for g in self.languages), default=0.0)
        keep = 1.0
        if self.languages and code not in self.homes:
            keep *= 1.0 - confidence * (1.0 - FOREIGN_SHARE)
        known = {c.code for c in self.countries}
        if known and code not in known and confidence >= STRONG_LANGUAGE:
            keep *= OUTSIDE_SHARE
        return round(1.0 - keep, 6)

    def summary(self) -> str:
        parts: list[str] = []
        if self.languages:
            parts.append(
                "language " + ", ".join(f"{g.code} {g.confidence:.2f}" for g in self.languages)
            )
        if self.scripts:
            parts.append("script " + ", ".join(s.script for s in self.scripts))
        if self.phones:
            parts.append(
                "phone " + ", ".join(f"{p.e164} {p.country_code or '?'}" for p in self.phones[:3])
            )
        if self.domains:
            parts.append("domain " + ", ".join(d.domain for d in self.domains[:3]))
        if self.currencies:
            parts.append("currency " + ", ".join(dict.fromkeys(c.symbol for c in self.currencies)))
        if self.postcodes:
            parts.append("postcode " + ", ".join(p.text for p in self.postcodes[:3]))
        if self.countries:
            parts.append(
                "countries " + ", ".join(f"{c.code} {c.weight:.2f}" for c in self.countries[:4])
            )
        return "; ".join(parts) if parts else "no text clue"
