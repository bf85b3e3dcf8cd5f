"""Street names in sign text: "Rue de la Paix", "Baker St", "Bahnhofstraße", "中山路".

A street-type word (rue, street, Rd, Straße, via, calle, улица, 路, 通り, 대로...) marks
the words beside it as a street's name. Such a name is looked up as a street (map,
geocoder), never as a town: "Via Roma" is in every Italian town, "Rue de Paris" in
most French ones, and "Baker" is no town at all. The gazetteer leaves the words of a
street name alone; the planner asks the map or the geocoder for the street itself.

Types come in four forms: a word before the name (Romance, Slavic, Arabic...), a word
after it (English, Dutch, Hungarian, Turkish...), the ending of one compound word
(German, Dutch, Nordic, Finnish) and, in scripts written without spaces, the last
characters of a run (Chinese, Japanese, Korean). Matching is on case-folded, accent-
stripped words; the name beside the type must look like a name (capitalised, a
number, or in a script without case).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from wordfreq import zipf_frequency

# Folded type words written before the name; abbreviations count only with their full
# stop ("ul. Marszałkowska", "Av. Paulista").
_BEFORE = """
rue avenue boulevard chemin impasse allee quai cours place
via viale corso vicolo piazza piazzale largo lungomare
calle avenida paseo carretera camino plaza ronda travesia
rua travessa praca estrada alameda
carrer avinguda placa passeig
ulica aleja plac strada bulevardul calea soseaua piata ulice trida namesti jalan
улица проспект переулок шоссе бульвар площадь набережная проезд вулиця
οδος λεωφορος
شارع
רחוב
ถนน ซอย
"""
_BEFORE_ABBREVIATIONS = "av bd blvd ul al str jl ул пр пер вул οδ λεωφ"
# Folded type words written after the name; the abbreviations in the second list count
# only with their full stop.
_AFTER = """
street st road rd avenue ave lane ln drive dr boulevard blvd way place square
close crescent terrace parade highway hwy
straat laan weg gracht plein kade singel
utca ut korut ter caddesi sokak sokagi bulvari katu tie gatan gata vagen gade vej
улица проспект переулок шоссе
"""
_AFTER_ABBREVIATIONS = "pl sq cres tce cad cd sk u"
# Folded endings of one-word compound street names (at least STEM letters before them).
_ENDINGS = (
    "strasse str gasse weg allee platz damm ufer chaussee "
    "straat laan gracht plein steeg "
    "gatan vagen gata gade vej veien "
    "katu tie kuja"
)
# Endings of street names in scripts written without spaces, after two characters or
# more (道路 "road" and 大通り "main street" are no names).
_CJK_ENDINGS = ("大道", "大街", "通り", "路", "街", "巷", "弄")
_HANGUL_ENDINGS = ("대로", "로", "길")
COMMON_ZIPF = 4.5
"""English words this frequent (Zipf scale) name no street on their own ("One Way")."""
STEM = 4
"""Letters a compound street name needs before its ending ("Hauptstraße", not "Weg")."""

_HOUSE_NUMBER = re.compile(r"\d+[A-Za-z]?[,.]?")
_WORD = re.compile(r"[^\W_]+(?:[.'’-][^\W_]+)*\.?")
_CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]{2,}")
_HANGUL_RUN = re.compile(r"[\uac00-\ud7a3]{2,}(?:\s?\d+[번]?길)?")


def fold(text: str) -> str:
    """Lower case, accents off, a trailing full stop off ("Av." -> "av")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).rstrip(".")


BEFORE = frozenset(fold(w) for w in _BEFORE.split())
BEFORE_ABBREVIATIONS = frozenset(fold(w) for w in _BEFORE_ABBREVIATIONS.split())
AFTER = frozenset(fold(w) for w in _AFTER.split())
AFTER_ABBREVIATIONS = frozenset(fold(w) for w in _AFTER_ABBREVIATIONS.split())
ENDINGS = tuple(fold(w) for w in _ENDINGS.split())


@dataclass(frozen=True)
class Street:
    """A street name as read: where it lies in the text, its name and its type word."""

    text: str
    start: int
    end: int
    kind: str

    @property
    def name(self) -> str:
        """The street without its house numbers: "Rue de Rivoli" for "Rue de Rivoli 3"."""
        words = [w for w in self.text.split() if not _HOUSE_NUMBER.fullmatch(w)]
        return " ".join(words) or self.text.strip()


def _name_like(word: str) -> bool:
    first = next((ch for ch in word if ch.isalnum()), "")
    return bool(first) and (first.isdigit() or first.isupper() or first.lower() == first.upper())


def _distinctive(words: list[str]) -> bool:
    """A name before an English-style type word needs a word that is not common English
    or a number: "Baker St", "42nd St", not "One Way", "Please Drive", "Bus Lane"."""
    for word in words:
        folded = fold(word)
        if any(ch.isdigit() for ch in folded):
            return True
        if folded.isascii() and zipf_frequency(folded, "en", wordlist="small") < COMMON_ZIPF:
            return True
        if not folded.isascii():
            return True
    return False


_LINK_WORDS = """de du des la le les d l del della delle dei di dello degli da do das dos
e y i of the van der den von am an im auf"""
_LINKS = frozenset(_LINK_WORDS.split())


def _is_type(m: re.Match[str], full: frozenset[str], abbreviated: frozenset[str]) -> bool:
    word = m.group()
    folded = fold(word)
    return folded in full or (folded in abbreviated and word.endswith("."))


def _before(words: list[re.Match[str]], i: int) -> tuple[int, int] | None:
    """The name after the type word ``words[i]``: up to four words, links allowed inside."""
    j, last = i + 1, None
    while j < len(words) and j <= i + 5:
        w = words[j].group()
        if fold(w) in _LINKS:
            j += 1
            continue
        if not _name_like(w):
            break
        last = j
        j += 1
    return None if last is None else (words[i].start(), words[last].end())


def _after(words: list[re.Match[str]], i: int) -> tuple[int, int] | None:
    """The name before the type word ``words[i]``: up to three capitalised words."""
    j, first = i - 1, None
    while j >= 0 and j >= i - 3 and _name_like(words[j].group()):
        if _is_type(words[j], BEFORE | AFTER, frozenset()):
            break
        first = j
        j -= 1
    if first is None or not _distinctive([w.group() for w in words[first:i]]):
        return None
    return words[first].start(), words[i].end()


def _compound(word: str) -> str | None:
    """The street ending of a one-word street name ("Bahnhofstraße": strasse), if any."""
    folded = fold(word)
    if not _name_like(word):
        return None
    return next((e for e in ENDINGS if folded.endswith(e) and len(folded) - len(e) >= STEM), None)


def _line_streets(line: str) -> list[tuple[int, int, str]]:
    found: list[tuple[int, int, str]] = []
    words = list(_WORD.finditer(line))
    for i, m in enumerate(words):
        span, kind = None, fold(m.group())
        # a type word before a name counts only capitalised or abbreviated (or in a script
        # without case): "rue" inside a sentence is not "Rue ..."
        if _is_type(m, BEFORE, BEFORE_ABBREVIATIONS) and (
            _name_like(m.group()) or m.group().endswith(".")
        ):
            span = _before(words, i)
        if span is None and i > 0 and _is_type(m, AFTER, AFTER_ABBREVIATIONS):
            span = _after(words, i)
        ending = _compound(m.group()) if span is None else None
        if ending is not None:
            span, kind = (m.start(), m.end()), ending
        if span is not None:
            found.append((span[0], span[1], kind))
    for m in _CJK_RUN.finditer(line):
        cjk = next((e for e in _CJK_ENDINGS if m.group().endswith(e)), None)
        if cjk and len(m.group()) - len(cjk) >= 2:
            found.append((m.start(), m.end(), cjk))
    for m in _HANGUL_RUN.finditer(line):
        run = m.group()
        hangul = next((e for e in _HANGUL_ENDINGS if run.endswith(e)), None)
        if hangul and len(run.split()[0]) >= 3:  # 세종대로, 을지로; not 정로
            found.append((m.start(), m.end(), hangul))
    return found


def find_streets(text: str) -> list[Street]:
    """The street names in ``text``, in order, none overlapping (the longest kept)."""
    out: list[Street] = []
    offset = 0
    for line in text.splitlines(keepends=True):
        spans = sorted(_line_streets(line), key=lambda s: (s[0], -(s[1] - s[0])))
        end = -1
        for start, stop, kind in spans:
            if start < end:
                continue
            out.append(
                Street(text=line[start:stop], start=offset + start, end=offset + stop, kind=kind)
            )
            end = stop
        offset += len(line)
    return out
