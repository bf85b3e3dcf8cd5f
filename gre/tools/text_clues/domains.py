"""Web domains for ``text_clues``: URLs, e-mail addresses, bare domains; ccTLDs name a country."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache

from gre.tools.text_clues.evidence import (
    DOMAIN_COUNTRY,
    DOMAIN_EU,
    DOMAIN_GEO,
    DOMAIN_US_ONLY,
    DOMAIN_VANITY,
    MAX_CLUES,
    MAX_TEXT_CHARS,
    CountryEvidence,
    by_population,
    clip,
    label_codes,
    split_words,
)
from gre.tools.text_clues.models import DomainClue

EU_MEMBERS = split_words(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE"
)
# ccTLDs mostly bought for what the letters spell (.io "input/output", .tv, .fm...).
VANITY_TLDS = frozenset(
    split_words(
        "io co tv me ai fm ly to cc ws la am nu tk ml ga cf gq sh gg gl bz cx ms st vc ag sc so"
        " ac su"
    )
)
# second-level labels that mark a national registry: example.com.co is Colombian
NATIONAL_SECOND_LEVELS = frozenset(
    split_words("com co org net gov gob gouv govt edu ac or ne go nic mil gv nom")
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
    split_words("""com org net info biz name pro int app dev shop store online site website xyz club
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
            where = "EU" if kind == "regional" else label_codes(countries)
            evidence.append(
                CountryEvidence(f"domain {clip(domain)} ({kind}) → {where}", weight, dist)
            )
    return clues, evidence
