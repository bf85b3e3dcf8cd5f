"""The free-text scan's candidates: words of a line and the n-grams worth looking up."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from gre.textnorm import fold
from gre.tools.gazetteer.words import is_common

if TYPE_CHECKING:
    from gre.tools.gazetteer.query import Hit

SCAN_MAX_TOKENS = 4  # n-grams of 1..4 words
SCAN_MAX_CJK = 6  # n-grams of 2..6 ideographs/kana (scripts written without spaces)
ARTICLE_MIN_POPULATION = 10_000  # "LE MANS" may start with an article, small "LE PALAIS" not
LOWERCASE_MIN_POPULATION = 50_000  # a lone lower-case word ("fox") only names a large city


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Function words of common languages, folded. A scan span never ends with one and only
# starts with an article when it names a sizeable place ("Los Angeles", "Le Havre").
ARTICLES = _words(
    "the a an le la les l el los las lo il gli i un une der die das den dem des ein eine "
    "het de een o os as um uma al"
)
STOPWORDS = ARTICLES | _words(
    """
    of and or to in on at by for from with into onto over under via per as is are was be not
    no nor but if so this that these those it its our your my we you he she they his her
    their than then there here what which who whom where when how all any each every some
    du des de d et ou en au aux a sur sous par pour avec sans dans chez vers entre est ce
    cet cette ces son sa ses leur leurs mon ma mes ton ta tes qui que quoi dont ne pas plus
    und oder von vom zu zum zur im am an auf aus bei mit nach seit uber unter vor fur ist
    nicht auch noch nur sehr
    y e del al con por para sin sobre entre es son su sus lo que se no mas muy tras desde
    hasta
    di da dal dalla dei degli delle della dello nel nella nei negli sul sulla per tra fra
    con che non piu ed
    do da dos das no na nos nas ao aos em com sem pelo pela
    van het te ten ter op bij met naar uit voor niet
    och av till med pa ar som for
    i w z na do od po za ze nie
    """
)
# Words that are common on signs and rarely a place on their own ("Centre ville").
GENERIC_WORDS = _words(
    """
    centre center centro zentrum ville city stadt citta ciudad cidade town village dorf
    rue street st strasse road rd avenue av ave boulevard bd blvd place pl platz plaza piazza
    square sq lane way allee via viale calle rua gare station bahnhof stazione estacion
    metro bus tram airport aeroport flughafen port harbour harbor museum musee museo theatre
    theater teatro cinema hotel motel restaurant cafe bar pub bank banque shop market marche
    church eglise kirche chiesa iglesia cathedral cathedrale dom temple school ecole schule
    college university universite hospital hopital clinic pharmacy pharmacie police mairie
    parking park parc parque garden jardin nord sud est ouest north south east west ost
    west exit sortie ausfahrt uscita salida entree entrance eingang entrata open closed
    ouvert ferme welcome bienvenue willkommen benvenuti bienvenidos info information
    tourist tourisme office bureau poste post zone centrum stad centrale central grand petit
    great little old vieux new nouveau haut bas upper lower saint sainte san santa sankt
    palais palace palast palazzo palacio royal royale real imperial national nationale
    nazionale nacional chateau castle schloss castello castillo tour tower turm torre pont
    bridge brucke ponte puente porte gate tor mont mount monte berg lac lake see lago river
    fluss fiume rio plage beach strand spiaggia playa ile island insel isola isla
    tout toute tous toutes autre autres direction directions richtung direzione direccion
    alle tutte todas
    col cols lacs pic pics refuge sentier chemin gite cascade vallee foret bois
    """
)

_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CJK_SPLIT = re.compile(f"({_CJK.pattern})")


class Span:
    """A candidate n-gram of a scanned text, with what it may match."""

    __slots__ = (
        "article",
        "digits",
        "end",
        "fname",
        "lowercase",
        "single",
        "start",
        "text",
        "tokens",
    )

    def __init__(self, line: str, offset: int, words: list[_Word], i: int, j: int) -> None:
        self.text = line[words[i].start : words[j].end]
        self.start, self.end = offset + words[i].start, offset + words[j].end
        self.tokens = range(words[i].index, words[j].index + 1)
        self.fname = fold(self.text)
        self.article = words[i].folded in ARTICLES and not words[i].cjk
        self.single = i == j and not words[i].cjk
        self.lowercase = self.single and self.text.islower()
        self.digits = any(any(ch.isdigit() for ch in w.folded) for w in words[i : j + 1])

    def priority(self) -> tuple[int, int, int]:
        return (-len(self.tokens), -len(self.fname), self.start)

    def looks_like_a_name(self, languages: Sequence[str]) -> bool:
        """Worth a fuzzy look-up: capitalised (or in a script without case), no common word."""
        first = next((ch for ch in self.text if ch.isalpha()), "")
        cased = first.lower() != first.upper()
        if cased and not first.isupper():
            return False
        return not any(is_common(word, languages) for word in self.text.split())

    def keeps(self, hit: Hit) -> bool:
        """Whether this span may name the place of ``hit`` (small places need care)."""
        kind, population = hit.row[3], int(hit.row[9])
        if self.article and kind == "city" and population < ARTICLE_MIN_POPULATION:
            return False  # "LE PALAIS DES PAPES" is not Le Palais (2,500 people)
        if self.lowercase:  # running text: "fox", "tous", "brown" (County)
            return kind != "admin2" and (kind != "city" or population >= LOWERCASE_MIN_POPULATION)
        return True


class _Word:
    """A token of a scanned line (a single character in scripts written without spaces)."""

    __slots__ = ("cjk", "end", "folded", "index", "start")

    def __init__(self, start: int, end: int, text: str, index: int, cjk: bool) -> None:
        self.start, self.end, self.folded, self.index, self.cjk = start, end, fold(text), index, cjk


def _line_words(line: str, first_index: int) -> list[_Word]:
    words: list[_Word] = []
    for m in _TOKEN.finditer(line):
        token = m.group()
        if not _CJK.search(token):
            words.append(_Word(m.start(), m.end(), token, first_index + len(words), False))
            continue
        pos = m.start()
        for part in _CJK_SPLIT.split(token):
            if part:
                cjk = bool(_CJK.match(part))
                words.append(_Word(pos, pos + len(part), part, first_index + len(words), cjk))
            pos += len(part)
    return words


def candidate_spans(text: str) -> list[Span]:
    """The n-grams of ``text`` worth looking up (see :meth:`Gazetteer.scan`)."""
    spans: list[Span] = []
    offset = 0
    index = 0  # token numbers are global so spans of different lines never overlap
    for line in text.splitlines(keepends=True):
        words = _line_words(line, index)
        for i, head in enumerate(words):
            longest = SCAN_MAX_CJK if head.cjk else SCAN_MAX_TOKENS
            for j in range(i, min(len(words), i + longest)):
                if words[j].cjk != head.cjk:
                    break
                if head.cjk:
                    if j > i:  # two or more ideographs/kana
                        spans.append(Span(line, offset, words, i, j))
                    continue
                first, last = head.folded, words[j].folded
                if last in STOPWORDS or (first in STOPWORDS and (first not in ARTICLES or i == j)):
                    continue
                if all(
                    w.folded in GENERIC_WORDS or w.folded in STOPWORDS for w in words[i : j + 1]
                ):
                    continue
                span = Span(line, offset, words, i, j)
                if len(span.fname) >= 3 and not span.fname.replace(" ", "").isdigit():
                    spans.append(span)
        offset += len(line)
        index += len(words)
    return spans
