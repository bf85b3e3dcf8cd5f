"""The text_clues tool: language, script, phones, domains, prices, postcodes -> countries."""

from __future__ import annotations

import random
import string
import time
from collections.abc import Callable, Mapping, Sequence

import pycountry
import pytest

from gre.config import Settings
from gre.records import Candidate
from gre.tools.text_clues import (
    CountryEvidence,
    CountryWeight,
    LanguageGuess,
    TextCluesInput,
    TextCluesOutput,
    TextCluesTool,
    clue_context,
    combine,
    damped,
    language_detector,
    lexicon,
    phones,
    script_of,
)
from gre.tools.text_clues import evidence as text_patterns
from gre.tools.text_clues.currencies import find_currencies
from gre.tools.text_clues.domains import find_domains
from gre.tools.text_clues.evidence import focus
from gre.tools.text_clues.phones import find_phones
from gre.tools.text_clues.postcodes import find_postcodes, fits_postcode
from gre.tools.toolbox import ToolBox


def _run(text: str, settings: Settings) -> TextCluesOutput:
    return TextCluesTool(settings).run(TextCluesInput(text=text))


def _valid_distribution(out: TextCluesOutput) -> None:
    weights = [c.weight for c in out.countries]
    assert weights == sorted(weights, reverse=True)
    assert 0 < sum(weights) <= 1.0 + 1e-9
    assert len(out.countries) <= 15
    for country in out.countries:
        # Kosovo (XK, a euro country) is in GeoNames but not in ISO 3166
        assert pycountry.countries.get(alpha_2=country.code) is not None or country.code == "XK"
        assert country.name and country.name != country.code and country.reasons


def test_french_through_toolbox(settings: Settings) -> None:
    text = "Centre ville\nToutes directions\nRue de la République\nBoulangerie Pâtisserie"
    box = ToolBox(settings)
    try:
        out, call = box.call("text_clues", {"text": text}, stage="details", call_id="c1")
    finally:
        box.close()
    assert call.ok and isinstance(out, TextCluesOutput)
    assert out.languages[0].code == "fr" and out.languages[0].name == "French"
    assert out.languages[0].confidence >= 0.95
    assert out.scripts[0].script == "Latin" and out.scripts[0].share == 1.0
    assert out.countries[0].code == "FR" and out.countries[0].name == "France"
    assert out.countries[0].reasons == [f"language fr ({out.languages[0].confidence:.2f})"]
    _valid_distribution(out)
    assert call.summary.startswith("language fr")
    assert out.streets == ["Rue de la République"]  # a street, for the map, not a town
    assert 'street "Rue de la République"' in out.for_model()


def test_german(settings: Settings) -> None:
    out = _run("Ausfahrt freihalten\nHauptbahnhof\nStadtmitte\nBitte nicht rauchen", settings)
    assert [g.code for g in out.languages] == ["de"]
    assert out.countries[0].code == "DE"
    assert {"AT", "CH"} <= {c.code for c in out.countries}
    _valid_distribution(out)


@pytest.mark.parametrize(
    ("text", "script", "expected"),
    [
        ("Κέντρο πόλης Αθήνα", "Greek", {"GR", "CY"}),
        ("서울역 출구", "Hangul", {"KR"}),
        ("สถานีรถไฟกรุงเทพ", "Thai", {"TH"}),
        ("תחנה מרכזית", "Hebrew", {"IL"}),
        ("Центр города", "Cyrillic", {"RU"}),
        ("ქუთაისი", "Georgian", {"GE"}),
        ("東京駅 のりば", "Hiragana", {"JP"}),
    ],
)
def test_non_latin_scripts(text: str, script: str, expected: set[str], settings: Settings) -> None:
    out = _run(text, settings)
    assert script in {s.script for s in out.scripts}
    assert expected <= {c.code for c in out.countries[:3]}
    _valid_distribution(out)


def test_script_alone_points_to_countries(settings: Settings) -> None:
    """Too short for a language guess; the script still says where."""
    out = _run("Центр", settings)
    assert out.languages == []
    assert out.countries[0].code == "RU"
    assert out.countries[0].reasons == ["script Cyrillic"]


@pytest.mark.parametrize("text", ["", "   \n", "12345 678", "3,8 km", "2092 m"])
def test_no_clue_without_letters(text: str, settings: Settings) -> None:
    out = _run(text, settings)
    assert out.languages == [] and out.countries == []
    assert out.summary() == "no text clue" or out.scripts
    assert not (out.phones or out.domains or out.currencies or out.postcodes)


def test_short_unsure_text_gets_no_language(settings: Settings) -> None:
    """lingua's low-accuracy mode calls "Pharmacy" Polish at 0.91: too sure for so few letters."""
    out = _run("Pharmacy", settings)
    assert out.languages == [] and out.countries == []
    # the hiking guidepost's text is place names (lingua: Norwegian 0.34); the generic
    # words around them (pont, de, lacs) say French, with the modest confidence of three words
    out = _run("Pont de Fortville 3,8 km\nNévache 4,2 km\n1,3 km Lacs de Cristol", settings)
    assert [(g.code, g.method) for g in out.languages] == [("fr", "place words")]
    assert out.languages[0].words == ["pont", "de", "lacs"]
    assert 0.4 <= out.languages[0].confidence <= 0.6 and _top(out) == "FR"


def test_input_limit() -> None:
    with pytest.raises(ValueError, match="at most 20000"):
        TextCluesInput(text="a" * 20_001)


def test_script_of() -> None:
    assert script_of("é") == "Latin"
    assert script_of("Ж") == "Cyrillic"
    assert script_of("한") == "Hangul"
    assert script_of("ｱ") == "Katakana"  # halfwidth
    assert script_of("中") == "Han"
    assert script_of("7") is None


def test_combine_mixes_and_scales() -> None:
    out = combine(
        [
            CountryEvidence("a", 0.5, {"FR": 1.0}),
            CountryEvidence("b", 0.5, {"FR": 0.5, "BE": 0.5}),
        ]
    )
    weights = {c.code: c.weight for c in out}
    assert weights == {"FR": 0.5625, "BE": 0.1875}  # noisy-or mass 0.75, mixture 3/4 : 1/4
    assert out[0].reasons == ["a", "b"] and out[1].reasons == ["b"]
    assert combine([]) == []


def test_detector_is_a_singleton() -> None:
    assert language_detector() is language_detector()


def _top(out: TextCluesOutput) -> str:
    assert out.countries, out.summary()
    return out.countries[0].code


def _weights(out: TextCluesOutput) -> dict[str, float]:
    return {c.code: c.weight for c in out.countries}


# --- phone numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "e164", "country"),
    [
        ("Tél. +33 1 42 60 39 26", "+33142603926", "FR"),
        ("Tel. +49 30 12345678", "+493012345678", "DE"),
        ("+44 20 7946 0958", "+442079460958", "GB"),
        ("Call +1 202 456 1111", "+12024561111", "US"),
        ("TEL +81 3-1234-5678", "+81312345678", "JP"),
        ("tel. +39 06 1234 5678", "+390612345678", "IT"),
        ("+34 912 345 678", "+34912345678", "ES"),
        ("WhatsApp +55 11 91234-5678", "+5511912345678", "BR"),
        ("+91 98765 43210", "+919876543210", "IN"),
        ("Ph: +61 2 9374 4000", "+61293744000", "AU"),
        ("+7 495 123-45-67", "+74951234567", "RU"),
        ("+82 2-312-3456", "+8223123456", "KR"),
        ("+86 10 6552 9988", "+861065529988", "CN"),
        ("+31 20 555 1234", "+31205551234", "NL"),
        ("+48 22 123 45 67", "+48221234567", "PL"),
    ],
)
def test_international_phones(text: str, e164: str, country: str, settings: Settings) -> None:
    out = _run(text, settings)
    assert [(p.e164, p.country_code, p.international) for p in out.phones] == [
        (e164, country, True)
    ]
    assert _top(out) == country
    assert out.countries[0].weight >= 0.85
    assert out.countries[0].reasons[-1].startswith("phone +")
    _valid_distribution(out)


@pytest.mark.parametrize(
    ("text", "country"),
    [
        ("+1 416 555 0199", "CA"),  # +1: Toronto, not the US
        ("+1 876 555 1234", "JM"),
        ("+1 212 555 0123", "US"),
        ("+7 727 258 1234", "KZ"),  # +7: Almaty, not Russia
        ("+44 1534 123456", "JE"),  # +44: Jersey
    ],
)
def test_shared_calling_codes_resolve_by_area_code(
    text: str, country: str, settings: Settings
) -> None:
    out = _run(text, settings)
    assert out.phones[0].country_code == country
    assert _top(out) == country


def test_international_prefix_00(settings: Settings) -> None:
    out = _run("Tel 0039 06 1234 5678", settings)
    assert out.phones[0].text == "0039 06 1234 5678"
    assert out.phones[0].international and out.phones[0].country_code == "IT"


@pytest.mark.parametrize(
    ("text", "number", "country"),
    [
        ("Appelez-nous au 01 42 60 39 26, nous sommes ouverts tous les jours",
         "+33142603926", "FR"),
        ("Rufen Sie uns an: 030 12345678. Wir sind montags bis freitags für Sie da",
         "+493012345678", "DE"),
        ("Chiamateci al numero 06 1234 5678 per prenotazioni, siamo aperti tutti i giorni",
         "+390612345678", "IT"),
        ("Llámenos al 912 345 678 para reservas, estamos abiertos todos los días",
         "+34912345678", "ES"),
        ("Ligue para (11) 91234-5678 para fazer seu pedido, entregamos em toda a cidade",
         "+5511912345678", "BR"),
        ("Звоните нам по телефону 8 (495) 123-45-67, мы работаем каждый день",
         "+74951234567", "RU"),
        ("お問い合わせは 03-1234-5678 までお電話ください", "+81312345678", "JP"),
        ("예약 문의 02-312-3456 으로 전화 주세요", "+8223123456", "KR"),
        ("Call us at (202) 456-1111 for reservations and opening hours of the restaurant",
         "+12024561111", "US"),
        ("Call 098765 43210 for home delivery, open every day from morning till night",
         "+919876543210", "IN"),
        # grouped as in Australia: not the Pakistani number with the same digits
        ("Call us on (02) 9374 4000 for bookings and enquiries, open seven days a week",
         "+61293744000", "AU"),
    ],
)  # fmt: skip
def test_national_phones_in_the_language_countries(
    text: str, number: str, country: str, settings: Settings
) -> None:
    # weighed by population: with the photo prior, English's Germany (where 098765 43210
    # is a valid Bavarian number too) outweighs India
    out = _run(text, settings.model_copy(update={"photo_prior": False}))
    assert [(p.e164, p.country_code, p.international) for p in out.phones] == [
        (number, country, False)
    ]
    assert _top(out) == country
    reasons = out.countries[0].reasons
    assert any(r.startswith("phone ") and "(national format)" in r for r in reasons)
    _valid_distribution(out)


def test_national_phone_needs_a_context(settings: Settings) -> None:
    assert _run("01 42 60 39 26", settings).phones == []
    out = _run("01 42 60 39 26 - www.dupont.fr", settings)
    assert out.phones[0].country_code == "FR" and not out.phones[0].international


def test_national_phone_weight_is_medium() -> None:
    clues, evidence = find_phones("Tél. 01 42 60 39 26", {"FR": 1.0, "BE": 0.1})
    assert [c.country_code for c in clues] == ["FR"]
    assert [e.weight for e in evidence] == [text_patterns.PHONE_NATIONAL]
    clues, evidence = find_phones("Tél. +33 1 42 60 39 26", {})
    assert [e.weight for e in evidence] == [text_patterns.PHONE_INTERNATIONAL]


def test_a_national_number_grouped_as_nowhere_tried_says_less() -> None:
    # a London number that lost its trunk 0 is a valid US number, but not grouped 3-3-4
    clues, evidence = find_phones("20 7525 2000", {"US": 0.3, "GB": 0.2})
    assert [c.country_code for c in clues] == ["US"]
    assert [e.weight for e in evidence] == [
        pytest.approx(text_patterns.PHONE_NATIONAL * phones.UNGROUPED_FACTOR)
    ]
    assert "grouped as none" in evidence[0].reason
    clues, evidence = find_phones("207 525 2000", {"US": 0.3, "GB": 0.2})
    assert [e.weight for e in evidence] == [text_patterns.PHONE_NATIONAL]


# --- domains ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "domain", "tld", "country"),
    [
        ("www.dupont.fr", "www.dupont.fr", ".fr", "FR"),
        ("shop.example.co.uk", "shop.example.co.uk", ".uk", "GB"),
        ("info@hotel-roma.it", "hotel-roma.it", ".it", "IT"),
        ("https://www.bahn.de/reisen", "www.bahn.de", ".de", "DE"),
        ("WWW.RAKUTEN.CO.JP", "www.rakuten.co.jp", ".jp", "JP"),
        ("http://sklep.pl", "sklep.pl", ".pl", "PL"),
        ("www.tienda.com.mx", "www.tienda.com.mx", ".mx", "MX"),
        ("www.exemplo.com.br", "www.exemplo.com.br", ".br", "BR"),
        ("mail: kontakt@firma.cz", "firma.cz", ".cz", "CZ"),
        ("www.restaurant.ch", "www.restaurant.ch", ".ch", "CH"),
        ("www.yandex.ru", "www.yandex.ru", ".ru", "RU"),
        ("www.naver.kr", "www.naver.kr", ".kr", "KR"),
        ("shop.com.au", "shop.com.au", ".au", "AU"),
        ("https://example.es:8080/path?q=1", "example.es", ".es", "ES"),
        ("www.example.com.co", "www.example.com.co", ".co", "CO"),  # national second level
        ("пример.рф", "пример.рф", ".рф", "RU"),
        ("www.berlin.berlin", "www.berlin.berlin", ".berlin", "DE"),
    ],
)
def test_country_domains(
    text: str, domain: str, tld: str, country: str, settings: Settings
) -> None:
    out = _run(text, settings)
    assert [(d.domain, d.tld, d.kind, d.country_code) for d in out.domains] == [
        (domain, tld, "country", country)
    ]
    assert _top(out) == country
    assert out.countries[0].weight >= 0.5
    _valid_distribution(out)


def test_generic_and_vanity_domains(settings: Settings) -> None:
    for text in ("www.example.com", "www.example.org", "info@example.net"):
        out = _run(text, settings)
        assert out.domains[0].kind == "generic" and out.domains[0].country_code is None
        assert out.countries == []
    for text, code in (("visit example.io", "IO"), ("www.example.tv", "TV"), ("example.co", "CO")):
        out = _run(text, settings)
        assert out.domains[0].kind == "vanity" and out.domains[0].country_code == code
        assert _weights(out)[code] == pytest.approx(text_patterns.DOMAIN_VANITY)
    out = _run("www.example.eu", settings)
    assert out.domains[0].kind == "regional"
    weights = _weights(out)
    assert {"DE", "FR", "IT"} <= set(weights) and "GB" not in weights
    assert max(weights.values()) < 0.05
    out = _run("www.example.gov", settings)
    assert _weights(out) == {"US": pytest.approx(text_patterns.DOMAIN_US_ONLY)}


@pytest.mark.parametrize(
    "text",
    [
        "image.jpg",
        "IMG_1234.JPG",
        "main.py",
        "report.pdf",
        "readme.md",
        "setup.sh",
        "Rue.De la Paix",
        "e.g. this",
        "3.14 km",
        "v1.2.3",
        "z.B. heute",
        "St.Louis",
        "foo@bar",
        "-abc-.de",
        "http://1.2.3.4/",
        "a.de",
    ],
)
def test_not_domains(text: str) -> None:
    assert find_domains(text, {}) == ([], [])


# --- currencies ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "symbol", "country"),
    [
        ("₹ 250", "₹", "IN"),
        ("₩15,000", "₩", "KR"),
        ("2 500 ₽", "₽", "RU"),
        ("₺45", "₺", "TR"),
        ("฿100", "฿", "TH"),
        ("25 zł", "zł", "PL"),
        ("120 Kč", "Kč", "CZ"),
        ("R$ 19,90", "R$", "BR"),
        ("CHF 12.50", "CHF", "CH"),
        ("£3.50", "£", "GB"),
        ("A$25", "A$", "AU"),
        ("HK$50", "HK$", "HK"),
        ("1200円", "円", "JP"),
        ("¥1,200", "¥", "JP"),  # no decimals: yen
        ("¥12.50", "¥", "CN"),  # decimals: yuan
        ("1 500 Ft", "Ft", "HU"),
        ("PLN 30", "PLN", "PL"),
    ],
)
def test_currencies(text: str, symbol: str, country: str, settings: Settings) -> None:
    out = _run(text, settings)
    assert [c.symbol for c in out.currencies] == [symbol]
    assert _top(out) == country
    assert out.countries[0].reasons[-1].startswith(f"currency {symbol} ")
    _valid_distribution(out)


def test_euro_and_dollar_are_weak(settings: Settings) -> None:
    out = _run("12,50 €", settings)
    weights = _weights(out)
    assert {"DE", "FR", "IT", "ES", "NL"} <= set(weights) and "GB" not in weights
    assert max(weights.values()) < 0.1
    out = _run("$12.99", settings)
    assert _top(out) == "US" and out.countries[0].weight < 0.1
    assert {"CA", "MX", "AU"} <= set(_weights(out))


def test_language_picks_the_euro_country(settings: Settings) -> None:
    out = _run("Menu du jour 12,50 €, café crème 2,80 €, boissons non comprises", settings)
    assert out.languages[0].code == "fr"
    assert _top(out) == "FR"
    assert out.countries[0].reasons == ["language fr (1.00)", "currency € (12,50) → eurozone"]
    assert len(out.currencies) == 2


def test_decimal_marks() -> None:
    clues, _ = find_currencies("12,50 € / €12.50 / 2 500 ₽ / ¥1,200 / 1.200 kr / 45 ₺", {})
    assert [(c.amount, c.decimal) for c in clues] == [
        ("12,50", ","),
        ("12.50", "."),
        ("2 500", ","),
        ("1,200", "."),
        ("1.200", ","),
        ("45", None),
    ]
    # the decimal comma favours the peso countries over the US for "$"
    _, [comma] = find_currencies("$12,50", {})
    _, [point] = find_currencies("$12.50", {})
    assert comma.countries["AR"] > point.countries["AR"]
    assert comma.countries["US"] < point.countries["US"]


@pytest.mark.parametrize(
    "text", ["Hotel 12", "12 krone", "3 km", "$", "€", "12", "Total 45.00", "RM 204", "FIRM 12"]
)
def test_not_prices(text: str) -> None:
    assert find_currencies(text, {}) == ([], [])


def test_exchange_board_is_damped(settings: Settings) -> None:
    out = _run("USD 1.08  GBP 0.86  JPY 160  CHF 0.95  SEK 11.20  PLN 4.30  CZK 25.10", settings)
    assert len(out.currencies) == 7
    assert out.countries[0].weight < 0.25  # seven currencies count as four, none wins
    evidence = [CountryEvidence(str(i), 0.45, {"PL": 1.0}) for i in range(8)]
    assert [e.weight for e in damped(evidence)] == [0.225] * 8
    assert damped(evidence[:4]) == evidence[:4]


# --- postcodes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "postcode", "country"),
    [
        ("Ottawa ON K1A 0B1", "K1A 0B1", "CA"),
        ("London SW1A 1AA", "SW1A 1AA", "GB"),
        ("Manchester M1 1AE", "M1 1AE", "GB"),
        ("St Peter Port GY1 1AA", "GY1 1AA", "GG"),
        ("Damrak 1, 1012 AB Amsterdam", "1012 AB", "NL"),
        ("Dublin D02 X285", "D02 X285", "IE"),
        ("00-950 Warszawa", "00-950", "PL"),
        ("Rua Augusta 1, 1100-148 Lisboa", "1100-148", "PT"),
        ("CEP 01310-100", "01310-100", "BR"),
        ("〒100-0005", "〒100-0005", "JP"),
        ("Springfield, IL 62701", "IL 62701", "US"),
        ("D-80331 München", "D-80331", "DE"),
        ("A-1010 Wien", "A-1010", "AT"),
    ],
)
def test_distinctive_postcodes(text: str, postcode: str, country: str, settings: Settings) -> None:
    out = _run(text, settings)
    assert [(p.text, p.countries) for p in out.postcodes] == [(postcode, [country])]
    assert _top(out) == country
    assert out.countries[0].weight >= 0.45
    _valid_distribution(out)


@pytest.mark.parametrize(
    ("text", "country"),
    [
        ("80331 München", "DE"),
        ("28013 Madrid", "ES"),
        ("00184 Roma", "IT"),
        ("75001 Paris", "FR"),
        ("1010 Wien", "AT"),
        ("8001 Zürich", "CH"),
        ("1000 Bruxelles", "BE"),
        ("0150 Oslo", "NO"),
        ("114 55 Stockholm", "SE"),
        ("110 00 Praha 1", "CZ"),
        ("811 01 Bratislava", "SK"),
        ("Mumbai - 400001", "IN"),
    ],
)
def test_digit_postcodes_with_a_city(text: str, country: str, settings: Settings) -> None:
    out = _run(text, settings)
    assert out.postcodes[0].countries[0] == country
    assert out.postcodes[0].format.endswith("+ city")
    assert _top(out) == country
    assert out.countries[0].weight <= text_patterns.POSTCODE_CITY + 1e-9


@pytest.mark.parametrize(
    "text",
    ["75001", "12345", "80331", "400001", "1998 Paris", "Avenue Rivoli 75001", "2092 m",
     "Hauteur 2092 m", "100-0005", "Typ A-1234", "Call 555-1234 now", "2000 GB storage"],
)  # fmt: skip
def test_ambiguous_postcodes_alone_say_nothing(text: str, settings: Settings) -> None:
    out = _run(text, settings)
    assert out.postcodes == [] and out.countries == []


@pytest.mark.parametrize(
    ("digits", "context", "countries"),
    [
        ("75001", {"FR": 1.0}, ["FR"]),
        ("80331", {"DE": 0.99, "AT": 0.1}, ["DE"]),  # Austria's codes have four digits
        ("04524", {"KR": 1.0, "KP": 0.4}, ["KR"]),  # North Korea has no postcodes
        ("101000", {"RU": 1.0, "UA": 0.2, "KZ": 0.1}, ["RU", "KZ"]),  # Ukraine: five digits
        ("400001", {"US": 1.0, "IN": 0.8}, ["IN"]),
        ("100-0005", {"JP": 1.0}, ["JP"]),
    ],
)
def test_digit_postcodes_weak_with_context(
    digits: str, context: dict[str, float], countries: list[str]
) -> None:
    clues, evidence = find_postcodes(f"Adresse: {digits}", context)
    assert clues[0].countries == countries
    assert evidence[0].weight <= text_patterns.POSTCODE_CONTEXT
    assert find_postcodes(f"Adresse: {digits}", {}) == ([], [])


def test_postcode_supported_by_language(settings: Settings) -> None:
    out = _run("Die Adresse lautet Hauptstraße 5 in 80331, bitte klingeln Sie dort", settings)
    assert out.postcodes[0].countries == ["DE"]
    assert "postcode 80331 (digits + context) → DE" in out.countries[0].reasons
    out = _run("서울특별시 중구 세종대로 110 (04524)", settings)
    assert out.postcodes[0].countries[0] == "KR" and _top(out) == "KR"


def test_fits_postcode() -> None:
    assert fits_postcode("FR", "75001") and not fits_postcode("FR", "7500")
    assert fits_postcode("AT", "1010") and not fits_postcode("AT", "10100")
    assert not fits_postcode("XK", "10000")  # no format known


# --- combination -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "country", "kinds"),
    [
        ("Boulangerie Dupont — 01 42 60 39 26 — www.dupont.fr", "FR", {"phone", "domain"}),
        ("Pizzeria Roma, Via Roma 12, 00184 Roma, tel. +39 06 1234 5678", "IT",
         {"phone", "postcode"}),
        ("東京都千代田区丸の内1-9-1 〒100-0005 03-1234-5678", "JP",
         {"language", "phone", "postcode"}),
        ("Café Central\\nHerrengasse 14, A-1010 Wien\\nTel. +43 1 5333 764\\nwww.cafecentral.wien",
         "AT", {"phone", "postcode"}),
        ("The Ivy, 1-5 West Street, London WC2H 9NQ · 020 7836 4751 · reservations@the-ivy.co.uk",
         "GB", {"phone", "postcode", "domain"}),
        ("Taquería El Paisa · Av. Insurgentes Sur 1234 · Tel. +52 55 1234 5678 · "
         "tacos $25 · www.elpaisa.com.mx", "MX", {"phone", "domain", "currency"}),
    ],
)  # fmt: skip
def test_realistic_signs(text: str, country: str, kinds: set[str], settings: Settings) -> None:
    out = _run(text, settings)
    assert _top(out) == country
    # English (by its place words "the", "west", "street") is true but diffuse: in the
    # mixture it dilutes the London sign's concentrated clues, which still dominate.
    assert out.countries[0].weight >= (0.55 if country == "GB" else 0.8)
    found = {r.split(" ")[0] for r in out.countries[0].reasons}
    assert kinds <= found
    _valid_distribution(out)


def test_japanese_phone_outweighs_english_text(settings: Settings) -> None:
    out = _run("Welcome to our shop! Call us +81 3-1234-5678 for reservations and hours", settings)
    assert out.languages[0].code == "en"
    weights = _weights(out)
    assert _top(out) == "JP"
    assert weights["JP"] > 2 * weights["US"]


def test_strong_clues_beat_a_weak_language(settings: Settings) -> None:
    english = CountryEvidence("language en (0.60)", 0.6, {"US": 0.4, "IN": 0.3, "GB": 0.3})
    phone = CountryEvidence("phone +33 1 42 60 39 26 → FR", 0.9, {"FR": 1.0})
    domain = CountryEvidence("domain www.dupont.fr (country) → FR", 0.7, {"FR": 1.0})
    out = combine([english, phone, domain])
    assert [c.code for c in out] == ["FR", "US", "GB", "IN"]  # ties: by code
    assert out[0].weight > 0.7 and sum(c.weight for c in out) <= 1.0
    assert out[0].reasons == [phone.reason, domain.reason]
    # the same clues end to end, with English text around them
    out_text = _run(
        "Welcome! Call +33 1 42 60 39 26 or see www.dupont.fr for opening hours", settings
    )
    assert out_text.languages[0].code == "en"
    assert _top(out_text) == "FR" and out_text.countries[0].weight > 0.5


def test_clue_context() -> None:
    out = TextCluesOutput(languages=[LanguageGuess(code="fr", name="French", confidence=0.9)])
    context = clue_context(out)
    assert context["FR"] == pytest.approx(0.9)
    assert 0 < context["BE"] < 0.3 and "JP" not in context
    assert focus({"FR": 0.5, "DE": 0.5}, context)["FR"] > 0.8
    assert focus({"JP": 0.5, "CN": 0.5}, context) == {"JP": 0.5, "CN": 0.5}


# --- robustness ------------------------------------------------------------------------------

OCR_GARBAGE = [
    "| ‘ — _ ~ ; : , . ! ¦ l I",
    "~~ |/ ,.-- :: ;; '' ` ^^ __ == lI1l",
    "ee a Wi = ~ |",
    "....... ------- ______ ||||||",
    "1 | l 11 |1",
]


@pytest.mark.parametrize("text", OCR_GARBAGE)
def test_ocr_garbage_says_nothing(text: str, settings: Settings) -> None:
    out = _run(text, settings)
    assert out.countries == []
    assert not (out.phones or out.domains or out.currencies or out.postcodes)


Finder = Callable[[str, Mapping[str, float]], tuple[Sequence[object], Sequence[CountryEvidence]]]
_rng = random.Random(7)
PATHOLOGICAL = {
    "random": "".join(_rng.choice(string.printable + "€£¥₽〒") for _ in range(20_000)),
    "digits": "".join(_rng.choice("0123456789 -+().,") for _ in range(20_000)),
    "dots": "a." * 10_000,
    "digit dots": "1." * 10_000,
    "www": "www." * 5_000,
    "at": "a@" * 10_000,
    "hyphens": "1-" * 10_000,
    "prices": "€1 " * 6_666,
    "postcodes": "1234 AB " * 2_500,
    "cities": "75001 Paris " * 1_666,
    "one token": "x" * 20_000,
}


@pytest.mark.parametrize("name", sorted(PATHOLOGICAL))
def test_long_garbage_runs_fast(name: str, settings: Settings) -> None:
    text = PATHOLOGICAL[name]
    assert len(text) <= 20_000
    finders: list[Finder] = [find_phones, find_domains, find_currencies, find_postcodes]
    context = {"FR": 1.0, "DE": 0.5, "US": 0.5}
    for finder in finders:
        start = time.perf_counter()
        clues, _ = finder(text, context)
        assert time.perf_counter() - start < 2.0, finder.__name__
        assert len(clues) <= text_patterns.MAX_CLUES
    start = time.perf_counter()
    out = _run(text, settings)
    assert time.perf_counter() - start < 3.0
    if out.countries:
        _valid_distribution(out)


def test_finders_read_at_most_max_text_chars() -> None:
    padding = " " * text_patterns.MAX_TEXT_CHARS
    assert find_phones(padding + "+33 1 42 60 39 26", {}) == ([], [])
    assert find_domains(padding + "www.dupont.fr", {}) == ([], [])
    assert find_currencies(padding + "12,50 €", {}) == ([], [])
    assert find_postcodes(padding + "SW1A 1AA", {}) == ([], [])


def test_pattern_clues_through_toolbox(settings: Settings) -> None:
    text = "Pizzeria Roma, Via Roma 12, 00184 Roma, tel. +39 06 1234 5678, www.pizzeriaroma.it"
    box = ToolBox(settings)
    try:
        out, call = box.call("text_clues", {"text": text}, stage="details", call_id="c2")
    finally:
        box.close()
    assert call.ok and isinstance(out, TextCluesOutput)
    assert out.phones[0].e164 == "+390612345678" and out.phones[0].international
    assert out.domains[0].country_code == "IT" and out.postcodes[0].text == "00184"
    assert out.countries[0].code == "IT" and out.countries[0].weight > 0.9
    assert "phone +390612345678 IT" in call.summary and "domain www.pizzeriaroma.it" in call.summary


def _candidate(cc: str | None, level: str = "city") -> Candidate:
    return Candidate.model_validate(
        {
            "id": "c1",
            "lat": 0,
            "lon": 0,
            "radius_km": 5,
            "level": level,
            "label": "x",
            "country_code": cc,
            "weight": 0.5,
        }
    )


def test_the_countries_the_text_names_are_claimed_where_they_are(settings: Settings) -> None:
    out = TextCluesTool(settings).run(TextCluesInput(text="Bienvenue au centre ville"))
    claims = out.claims()
    assert claims and claims[0].country == "FR" and claims[0].level == "country"
    assert claims[0].radius_km > 100 and 40 < claims[0].lat < 52  # France's disc
    assert all(c.weight >= 0.03 for c in claims) and len(claims) <= 8
    assert "FR" in out.homes and "CD" in out.homes  # French is at home in both


def test_a_place_where_the_language_is_foreign_is_contradicted() -> None:
    """French place words on the sign: Fortville, Indiana is an unlikely reading."""

    def out(confidence: float) -> TextCluesOutput:
        return TextCluesOutput(
            languages=[LanguageGuess(code="fr", name="French", confidence=confidence)],
            countries=[CountryWeight(code="FR", name="France", weight=0.3)],
            homes=["FR", "IT", "CD"],
        )

    sure, unsure = out(0.9), out(0.5)
    us = _candidate("US")
    assert sure.contradicts(us) == pytest.approx(1 - (1 - 0.9 * 0.75) * 0.7)
    assert 0 < unsure.contradicts(us) < sure.contradicts(us)  # less sure, less penalty
    assert unsure.contradicts(us) == pytest.approx(0.5 * 0.75)  # under 0.6: homes only
    italy = _candidate("IT")  # French is official in the Aosta Valley
    assert sure.contradicts(italy) == pytest.approx(0.3) and not sure.supports(italy)
    assert sure.contradicts(_candidate("FR")) == 0.0 and sure.supports(_candidate("FR"))
    assert sure.contradicts(_candidate("US", level="continent")) == 0.0
    assert sure.contradicts(_candidate(None)) == 0.0
    assert TextCluesOutput().contradicts(us) == 0.0  # no language, no judgement


def test_the_photo_prior_puts_french_text_in_france_before_the_congo(settings: Settings) -> None:
    text = "Bienvenue au centre ville, bonne journée à tous"
    with_prior = _run(text, settings)
    by_people = _run(text, settings.model_copy(update={"photo_prior": False}))
    weight = {c.code: c.weight for c in with_prior.countries}
    people = {c.code: c.weight for c in by_people.countries}
    assert weight["FR"] > 3 * weight.get("CD", 0.0)  # photos: France far ahead
    assert people["CD"] > 0.5 * people["FR"]  # speakers: the Congo close behind
    assert with_prior.countries[0].code == "FR"


def test_place_names_and_distances_are_no_language(settings: Settings) -> None:
    """Read perfectly, "Seoul / Pyeongyang / 56Km / 205Km" was Tsonga (0.99)."""
    out = _run("Seoul\nPyeongyang\n56Km\n205Km", settings)
    assert out.languages == [] and out.countries == []  # the places will say where
    korean = _run("서울 Seoul\n평양 Pyeongyang\n56Km", settings)
    assert korean.countries[0].code == "KR"  # the script, not a language guess
    french = _run("A4 STRASBOURG\nCentre ville\nToutes directions", settings)
    assert [g.code for g in french.languages] == ["fr"]  # the words still speak


# --- signs in two languages ------------------------------------------------------------------

ITALIAN_ENGLISH = (
    "Tenere i bambini per mano o in braccio\nHold your children by the hand or in your arms\n"
    "Vietato sedersi sui gradini\nIt is forbidden to sit on the steps\n"
    "Vietato il trasporto di oggetti pesanti\nIt is forbidden to carry heavy objects\n"
    "Premere solo in caso di emergenza\nPush only in case of emergency"
)


def test_a_sign_with_its_english_translation_is_in_the_local_language(
    settings: Settings,
) -> None:
    out = _run(ITALIAN_ENGLISH, settings)
    langs = {g.code: g for g in out.languages}
    assert set(langs) == {"it", "en"}
    assert out.languages[0].code == "it"
    assert langs["en"].confidence < langs["it"].confidence
    assert _top(out) == "IT"
    _valid_distribution(out)


def test_a_few_foreign_words_make_no_second_language(settings: Settings) -> None:
    out = _run(
        "Welcome to the Café de Paris restaurant, open every day of the week for lunch, "
        "dinner and drinks with friends. Bon appétit!",
        settings,
    )
    assert [g.code for g in out.languages] == ["en"]


def test_word_languages_count_only_distinct_common_words() -> None:
    counts = lexicon.word_languages("vietato il trasporto in the station", ["it", "en"])
    # "in" is as common in both: it belongs to neither
    assert counts == {"it": 3, "en": 2}


@pytest.mark.parametrize(
    ("text", "language", "country"),
    [
        # as OCR read three real signs: lingua alone is unsure (da 0.89, de 0.93) or wrong
        # (Bokmål 0.88 for Swedish)
        ("Hunde SKAL\nfores i snor\nHundens'affald\nskal fjernes", "da", "DK"),
        ("Hunde anleinen!", "de", "DE"),
        ("KOPPLA HUNDEN\nHilt din hund kopplad Sr att inde", "sv", "SE"),
    ],
)
def test_a_short_signs_words_name_its_language(
    settings: Settings, text: str, language: str, country: str
) -> None:
    out = _run(text, settings)
    assert out.languages[0].code == language
    assert out.languages[0].method in ("lingua + words", "words")
    assert _top(out) == country


def test_english_words_alone_name_no_language(settings: Settings) -> None:
    """English is on signs everywhere: two common English words are no English country."""
    assert _run("NO LITTER\nCROSS HERE", settings).languages == []
    assert lexicon.vote("no litter cross here", ["nl", "de", "en"]) is None
