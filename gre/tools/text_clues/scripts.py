"""The scripts of ``text_clues`` text as clues: their shares, and the countries that write them.

Characters are classified by :mod:`gre.tools.support.scripts`; kanji beside kana
are Japanese, not Chinese.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from gre.tools.support import scripts as unicode_scripts
from gre.tools.text_clues.evidence import CountryEvidence
from gre.tools.text_clues.languages import Usage, distribution
from gre.tools.text_clues.models import ScriptShare, TextCluesOutput

MIN_SCRIPT_LETTERS = 2  # a script needs this many letters to count as evidence
MIN_SCRIPT_SHARE = 0.1

# Script name -> ISO 15924 codes of the CLDR languages written in it.
SCRIPT_CODES: dict[str, frozenset[str]] = {
    "Latin": frozenset({"Latn"}),
    "Cyrillic": frozenset({"Cyrl"}),
    "Greek": frozenset({"Grek"}),
    "Arabic": frozenset({"Arab"}),
    "Hebrew": frozenset({"Hebr"}),
    "Devanagari": frozenset({"Deva"}),
    "Bengali": frozenset({"Beng"}),
    "Gurmukhi": frozenset({"Guru"}),
    "Gujarati": frozenset({"Gujr"}),
    "Oriya": frozenset({"Orya"}),
    "Tamil": frozenset({"Taml"}),
    "Telugu": frozenset({"Telu"}),
    "Kannada": frozenset({"Knda"}),
    "Malayalam": frozenset({"Mlym"}),
    "Sinhala": frozenset({"Sinh"}),
    "Thai": frozenset({"Thai"}),
    "Lao": frozenset({"Laoo"}),
    "Tibetan": frozenset({"Tibt"}),
    "Myanmar": frozenset({"Mymr"}),
    "Georgian": frozenset({"Geor"}),
    "Armenian": frozenset({"Armn"}),
    "Ethiopic": frozenset({"Ethi"}),
    "Khmer": frozenset({"Khmr"}),
    "Mongolian": frozenset({"Mong"}),
    "Thaana": frozenset({"Thaa"}),
    "Syriac": frozenset({"Syrc"}),
    "Tifinagh": frozenset({"Tfng"}),
    "Hangul": frozenset({"Hang", "Kore"}),
    "Hiragana": frozenset({"Hira", "Kana", "Jpan"}),
    "Katakana": frozenset({"Hira", "Kana", "Jpan"}),
    "Japanese kana and kanji": frozenset({"Hira", "Kana", "Jpan"}),
    "Han": frozenset({"Hani", "Hans", "Hant"}),
    "Bopomofo": frozenset({"Bopo", "Hant"}),
    "Cherokee": frozenset({"Cher"}),
    "Canadian Aboriginal": frozenset({"Cans"}),
    "Nko": frozenset({"Nkoo"}),
}
# Written almost everywhere: a country distribution from it says nothing.
UNINFORMATIVE_SCRIPTS = frozenset({"Latin"})
_KANA = ("Hiragana", "Katakana")
JAPANESE = "Japanese kana and kanji"


def script_of(ch: str) -> str | None:
    """The Unicode script of a letter, from its character name (None if unknown)."""
    script = unicode_scripts.script_of(ch)
    return None if script == unicode_scripts.KANA else script  # "ー" is no script here


def script_counts(text: str) -> Counter[str]:
    """Letters per script."""
    return unicode_scripts.script_counts(text, script_of)


def analyse_scripts(text: str, out: TextCluesOutput, usage: Usage) -> list[CountryEvidence]:
    """Fill ``out.scripts``; scripts other than Latin become country evidence.

    A script counts only as far as the language found (run before) does not
    already say it: Korean at 1.00 makes Hangul redundant, Russian at 0.70
    leaves 0.30 to Cyrillic.
    """
    counts = script_counts(text)
    total = sum(counts.values())
    if total == 0:
        return []
    out.scripts = [
        ScriptShare(script=script, share=round(share, 3))
        for script, share in unicode_scripts.script_shares(counts)
    ]
    if any(counts[k] for k in _KANA):  # kanji beside kana are Japanese, not Chinese
        counts[JAPANESE] = sum(counts.pop(k, 0) for k in (*_KANA, "Han"))
    evidence: list[CountryEvidence] = []
    for script, n in counts.most_common():
        share = n / total
        if script in UNINFORMATIVE_SCRIPTS or n < MIN_SCRIPT_LETTERS or share < MIN_SCRIPT_SHARE:
            continue
        codes = SCRIPT_CODES[script]
        said = max(
            (g.confidence for g in out.languages if usage.scripts_of.get(g.code, set()) & codes),
            default=0.0,
        )
        weight = round(share * (1.0 - said), 3)
        dist = distribution(usage.by_script.get(code, {}) for code in codes)
        if dist and weight > 0:
            evidence.append(CountryEvidence(f"script {script}", weight, dist))
    return evidence


def merged_shares(scripts: Iterable[ScriptShare]) -> dict[str, float]:
    """Script shares with kana and kanji merged into Japanese when there is any kana."""
    shares = {s.script: s.share for s in scripts}
    if any(shares.get(k) for k in _KANA):
        shares[JAPANESE] = sum(shares.pop(k, 0.0) for k in (*_KANA, "Han"))
    return shares
