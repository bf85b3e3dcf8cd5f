"""The ``text_clues`` tool's input and output: the clues found and the countries they name."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from gre.tools.base import ToolOutput
from gre.tools.text_clues.evidence import MAX_TEXT_CHARS


class TextCluesInput(BaseModel):
    """Text read from the photo (OCR lines, a transcription)."""

    text: str = Field(max_length=MAX_TEXT_CHARS, description="the text, lines joined by newlines")


LanguageMethod = Literal["lingua", "place words"]


class LanguageGuess(BaseModel):
    """A language the text is written in."""

    code: str = Field(description="ISO 639-1, lower case, e.g. 'fr'")
    name: str
    confidence: float = Field(ge=0, le=1)
    method: LanguageMethod = Field(
        "lingua", description="statistical detection, or the generic words of place names"
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
