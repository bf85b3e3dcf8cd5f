"""The language of sign text from its place words: "Col du Granon", "Rue de la Paix".

Signs are mostly proper nouns, on which statistical language detection guesses
poorly ("Lacs de Cristol / Col du Granon" reads as Hungarian to lingua's fast
mode). Analysts read the generic words around the names instead: *rue*, *col*,
*lacs*, *du* say French; *strasse*, *platz*, *am* say German. This module scores
each language by the generic toponym words (street, square, station, bridge, lake,
pass, town hall, exit...) and the articles and prepositions of place names found
in the text. A word shared by several languages counts for each in equal parts.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from gre.textnorm import fold

MIN_MARGIN = 1.0
"""The best language must lead the runner-up by this many words to be named."""

MIN_WORDS = 2
"""...and be voted for by this many different words: one word ("Pharmacy") is too thin."""

MAX_CONFIDENCE = 0.9
MAX_REPEATS = 2  # one word counts at most this often ("de" on every line of a signpost)

# Folded words (lower case, no accents) per ISO 639-1 language.
_WORDS: dict[str, str] = {
    "fr": "rue avenue boulevard place chemin impasse allee quai pont porte col lac lacs mont "
    "gare mairie eglise centre ville toutes directions sortie autres du des aux les sur sous "
    "saint sainte pharmacie boulangerie tabac route vallee refuge pointe plage arret "
    "hotel parking cedex aiguille chateau de la le",
    "de": "strasse str platz weg gasse allee bahnhof hauptbahnhof kirche rathaus brucke berg "
    "see tal dorf markt ausfahrt einfahrt zentrum apotheke backerei der das und im "
    "zum zur ufer hutte joch spitze parkplatz",
    "es": "calle avenida plaza paseo carretera camino estacion iglesia ayuntamiento puente rio "
    "sierra playa salida centro del los las farmacia panaderia barrio puerto cerro la de "
    "parque",
    "it": "via viale piazza corso vicolo stazione chiesa municipio ponte lago monte passo valle "
    "uscita della delle dei degli del di centro farmacia tabacchi duomo castello comune "
    "fiume spiaggia rifugio porte la largo parcheggio",
    "pt": "rua avenida praca travessa largo estrada estacao igreja camara ponte rio praia saida "
    "farmacia padaria da dos das sao cidade centro lago monte municipio de",
    "nl": "straat laan plein weg gracht kade dijk steeg kerk brug markt uitgang centrum van het "
    "de apotheek gemeente stadhuis station",
    "en": "street st road rd avenue lane drive way square station church bridge exit center "
    "centre park hall market lake mount river pharmacy bakery the of and north south east "
    "west city town highway motorway junction place directions parking hotel",
    "sv": "gatan vagen gata vag torget torg stationen kyrka bro sjo utfart centrum apotek och "
    "stad station",
    "da": "gade vej torv plads kirke bro udgang apotek og station centrum",
    "no": "vei gata torg plass kirke bro utgang sentrum apotek og stasjon",
    "fi": "katu tie kuja tori asema kirkko silta jarvi keskusta apteekki",
    "pl": "ulica ul aleja plac dworzec kosciol most jezioro gora wyjscie centrum apteka rynek "
    "osiedle",
    "cs": "ulice namesti nadrazi kostel most jezero vychod centrum lekarna trida",
    "hu": "utca ut ter palyaudvar templom hid kijarat kozpont gyogyszertar korut",
    "ro": "strada str bulevardul piata gara biserica pod lac lacul iesire centru farmacie calea "
    "soseaua si de",
    "tr": "cadde caddesi sokak sokagi bulvar bulvari meydani istasyon cami camii kopru cikis "
    "merkez eczane mahallesi mah",
    "hr": "ulica trg cesta kolodvor crkva most jezero izlaz centar ljekarna",
    "sl": "ulica trg cesta postaja cerkev most jezero izhod center lekarna",
    "ca": "carrer placa avinguda estacio esglesia pont sortida del de la les",
    "id": "jalan jl gang stasiun masjid jembatan pasar keluar pusat kota apotek",
}

# Endings of compound names ("Bahnhofstraße", "Mannerheimintie" aside: too short to be sure).
_SUFFIXES: dict[str, str] = {
    "de": "strasse platz gasse bahnhof brucke kirche",
    "nl": "straat plein gracht laan",
    "sv": "gatan vagen torget",
    "no": "gata veien torvet",
    "da": "gade pladsen torvet",
    "fi": "katu kuja",
}
MIN_STEM = 3  # letters a compound needs before its ending


def _index(table: dict[str, str]) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for code, words in table.items():
        for word in words.split():
            out[word] = (*out.get(word, ()), code)
    return out


_LANGUAGES_OF = _index(_WORDS)
_LANGUAGES_OF_SUFFIX = _index(_SUFFIXES)


def _languages(token: str) -> tuple[str, tuple[str, ...]] | None:
    """The place word a token is or ends with, and its languages."""
    if token in _LANGUAGES_OF:
        return token, _LANGUAGES_OF[token]
    for suffix, languages in _LANGUAGES_OF_SUFFIX.items():
        if token.endswith(suffix) and len(token) >= len(suffix) + MIN_STEM:
            return suffix, languages
    return None


_TOKEN = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class PlaceWordsGuess:
    """The language the place words point to."""

    code: str
    confidence: float
    words: tuple[str, ...]
    """The words that voted for it, in order of first appearance."""


def guess_language(text: str) -> PlaceWordsGuess | None:
    """The language of ``text`` by its place words, or None when they do not decide.

    Confidence is 1 - 2^-margin (capped at :data:`MAX_CONFIDENCE`), where the
    margin is the leader's score minus the runner-up's.
    """
    seen: Counter[str] = Counter()
    scores: dict[str, float] = {}
    voters: dict[str, list[str]] = {}
    for token in _TOKEN.findall(fold(text)):
        found = _languages(token)
        if found is None or seen[token] >= MAX_REPEATS:
            continue
        word, languages = found
        seen[token] += 1
        for code in languages:
            scores[code] = scores.get(code, 0.0) + 1.0 / len(languages)
            if word not in voters.setdefault(code, []):
                voters[code].append(word)
    if not scores:
        return None
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])[:2]
    best, score = ranked[0]
    margin = score - (ranked[1][1] if len(ranked) > 1 else 0.0)
    if margin < MIN_MARGIN or len(voters[best]) < MIN_WORDS:
        return None
    confidence = min(MAX_CONFIDENCE, 1.0 - 0.5**margin)
    return PlaceWordsGuess(best, round(confidence, 3), tuple(voters[best]))
