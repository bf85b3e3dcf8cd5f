"""Prices for ``text_clues``: a currency sign or code next to an amount ("12,50 €", "¥1,200")."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Literal

from gre.tools.text_clues.evidence import (
    CURRENCY_DOLLAR,
    CURRENCY_EURO,
    CURRENCY_NATIONAL,
    CURRENCY_SHARED,
    CURRENCY_USD,
    DECIMAL_MISMATCH,
    MAX_CLUES,
    MAX_TEXT_CHARS,
    CountryEvidence,
    by_population,
    clip,
    focus,
    geonames_countries,
    label_codes,
    normalise,
    ranked_codes,
    split_words,
)
from gre.tools.text_clues.models import CurrencyClue

# Sign or code -> ISO 4217 currencies. "$" alone is every dollar and peso.
_DOLLARS = split_words(
    "USD CAD AUD NZD SGD HKD TWD MXN ARS CLP COP UYU DOP CUP JMD TTD BSD BBD BZD BND FJD"
    " GYD LRD NAD SBD SRD XCD KYD BMD"
)
CURRENCY_SIGNS: dict[str, tuple[str, ...]] = {
    "€": ("EUR",), "£": ("GBP",), "¥": ("JPY", "CNY"), "￥": ("JPY", "CNY"), "円": ("JPY",),
    "元": ("CNY", "TWD"), "₹": ("INR",), "₨": ("PKR", "LKR", "NPR", "MUR"),
    "Rs.": ("INR", "PKR", "LKR", "NPR"), "Rs": ("INR", "PKR", "LKR", "NPR"),
    "₽": ("RUB",), "руб.": ("RUB",), "руб": ("RUB",), "₩": ("KRW",), "원": ("KRW",),
    "₺": ("TRY",), "TL": ("TRY",), "₪": ("ILS",), "NIS": ("ILS",), "฿": ("THB",),
    "บาท": ("THB",), "₫": ("VND",), "đ": ("VND",), "₱": ("PHP",), "₴": ("UAH",),
    "грн": ("UAH",), "₦": ("NGN",), "₸": ("KZT",), "₾": ("GEL",), "₼": ("AZN",),
    "৳": ("BDT",), "₭": ("LAK",), "₮": ("MNT",), "₡": ("CRC",), "₲": ("PYG",),
    "₵": ("GHS",), "zł": ("PLN",), "zl": ("PLN",), "Kč": ("CZK",), "Ft": ("HUF",),
    "lei": ("RON",), "лв": ("BGN",), "kn": ("HRK",), "Rp": ("IDR",), "RM": ("MYR",),
    "kr": ("SEK", "NOK", "DKK", "ISK"), "kr.": ("SEK", "NOK", "DKK", "ISK"),
    "Kr": ("SEK", "NOK", "DKK", "ISK"), "CHF": ("CHF",), "Fr.": ("CHF",),
    "R$": ("BRL",), "A$": ("AUD",), "AU$": ("AUD",), "C$": ("CAD",), "CA$": ("CAD",),
    "NZ$": ("NZD",), "HK$": ("HKD",), "S$": ("SGD",), "NT$": ("TWD",), "MX$": ("MXN",),
    "US$": ("USD",), "E£": ("EGP",), "$": _DOLLARS,
}  # fmt: skip
_ISO_CODES = split_words(
    "EUR USD GBP JPY CNY INR RUB KRW TRY ILS THB PLN CZK HUF SEK NOK DKK ISK BRL AUD CAD NZD"
    " HKD SGD TWD MXN ARS CLP COP ZAR AED SAR QAR EGP VND IDR MYR PHP UAH RON BGN RSD KZT NGN"
    " KES PKR BDT LKR"
)
for _code in _ISO_CODES:
    CURRENCY_SIGNS.setdefault(_code, (_code,))
CURRENCY_SIGNS["RMB"] = ("CNY",)
_EXTRA_CURRENCY_COUNTRIES = {"HRK": ["HR"], "USD": ["PA", "ZW"]}  # Croatia's kuna until 2023

_SIGN = "|".join(re.escape(s) for s in sorted(CURRENCY_SIGNS, key=len, reverse=True))
_SPACE = "[ \u00a0\u202f]?"
_AMOUNT = r"\d{1,3}(?:[ .,'’\u00a0\u202f]\d{3}){1,4}(?:[.,]\d{1,2})?|\d{1,9}(?:[.,]\d{1,2})?"
_MONEY = re.compile(
    rf"(?P<pre>{_SIGN}){_SPACE}(?P<a1>{_AMOUNT})(?!\d)"
    rf"|(?<![\d.,])(?P<a2>{_AMOUNT}){_SPACE}(?P<post>{_SIGN})"
)
_DECIMAL = re.compile(r"\d([.,])\d{1,2}$")
_GROUP = re.compile(r"\d([ .,'’\u00a0\u202f])\d{3}(?:$|[.,])")


def _is_word_char(ch: str) -> bool:
    """A letter of an alphabet written with spaces between words (not CJK, which run on)."""
    return ch.isalpha() and ord(ch) < 0x2E80


@cache
def _currency_countries() -> dict[str, list[str]]:
    users: dict[str, list[str]] = {}
    for code, info in geonames_countries().items():
        if info.get("currencycode"):
            users.setdefault(str(info["currencycode"]), []).append(code)
    for currency, codes in _EXTRA_CURRENCY_COUNTRIES.items():
        users.setdefault(currency, []).extend(codes)
    return users


@cache
def decimal_mark(code: str) -> str | None:
    """The decimal mark of a country's main locale (CLDR), e.g. FR ',' and US '.'."""
    from babel import Locale, UnknownLocaleError
    from babel.numbers import get_decimal_symbol

    try:
        return str(get_decimal_symbol(Locale.parse(f"und_{code}")))
    except (ValueError, UnknownLocaleError):
        return None


def _decimal_of(amount: str) -> Literal[",", "."] | None:
    """The decimal mark an amount implies: '12,50' ',', '1,200' '.', '2 500' ','."""
    if m := _DECIMAL.search(amount):
        return "," if m.group(1) == "," else "."
    if m := _GROUP.search(amount):
        return "." if m.group(1) in ",'’" else ","
    return None


def _currency_dist(
    sign: str, currencies: tuple[str, ...], amounts: list[str], context: Mapping[str, float]
) -> dict[str, float]:
    users = _currency_countries()
    if sign in ("¥", "￥"):  # yuan prices have decimals, yen prices rarely; not population
        jp = 3.0 if all(_DECIMAL.search(a) is None for a in amounts) else 1 / 3
        return focus(normalise({"JP": jp, "CN": 1.0}), context)
    dist = by_population(c for cur in currencies for c in users.get(cur, []))
    marks = [m for a in amounts if (m := _decimal_of(a))]
    if len(dist) > 1 and marks:
        mark = max(set(marks), key=marks.count)
        dist = normalise(
            {c: p * (1.0 if decimal_mark(c) in (None, mark) else DECIMAL_MISMATCH)
             for c, p in dist.items()}
        )  # fmt: skip
    return focus(dist, context)


def _currency_weight(sign: str, currencies: tuple[str, ...]) -> float:
    if sign == "$":
        return CURRENCY_DOLLAR
    if currencies == ("USD",):
        return CURRENCY_USD
    if currencies == ("EUR",):
        return CURRENCY_EURO
    return CURRENCY_SHARED if len(currencies) > 1 else CURRENCY_NATIONAL


def find_currencies(
    text: str, context: Mapping[str, float]
) -> tuple[list[CurrencyClue], list[CountryEvidence]]:
    """Prices: a currency sign or code next to an amount ("12,50 €", "¥1,200", "2 500 ₽")."""
    text = text[:MAX_TEXT_CHARS]
    clues: list[CurrencyClue] = []
    amounts: dict[str, list[str]] = {}
    for m in _MONEY.finditer(text):
        sign, amount = (m["pre"], m["a1"]) if m["pre"] else (m["post"], m["a2"])
        before = text[m.start() - 1] if m.start() > 0 else " "
        after = text[m.end()] if m.end() < len(text) else " "
        if (m["pre"] and _is_word_char(sign[0]) and _is_word_char(before)) or (
            m["post"] and _is_word_char(sign[-1]) and _is_word_char(after)
        ):
            continue  # "FIRM 12" is no ringgit; "12 krone" is no "kr"
        spaced = m.group() not in (sign + amount, amount + sign)
        if sign == "RM" and spaced and "." not in amount:
            continue  # "RM 204" is a room; "RM 12.90" and "RM12" are ringgit
        if len(clues) < MAX_CLUES:
            currencies = CURRENCY_SIGNS[sign]
            clues.append(
                CurrencyClue(
                    text=m.group(),
                    symbol=sign,
                    currencies=list(currencies),
                    amount=amount,
                    decimal=_decimal_of(amount),
                )
            )
        amounts.setdefault(sign, []).append(amount)
    evidence: list[CountryEvidence] = []
    for sign, found in amounts.items():
        currencies = CURRENCY_SIGNS[sign]
        dist = _currency_dist(sign, currencies, found, context)
        if dist:
            where = "eurozone" if currencies == ("EUR",) else label_codes(ranked_codes(dist))
            reason = f"currency {sign} ({clip(found[0], 16)}) → {where}"
            evidence.append(CountryEvidence(reason, _currency_weight(sign, currencies), dist))
    return clues, evidence
