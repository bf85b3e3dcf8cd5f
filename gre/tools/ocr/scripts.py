"""Writing systems for the ``ocr`` tool: which tesseract languages read which script.

Scripts are named as in :data:`SCRIPT_LANGUAGES`, from the one classifier in
:mod:`gre.tools.support.scripts`: hiragana, katakana and halfwidth forms are
Japanese, and scripts without a tesseract pack are none.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence

from gre.tools.support.scripts import KANA, letter_count, script_counts, script_of

# Tesseract language packs per script, in preference order: the first installed one is
# the script's probe language. Latin's first choices are the configured languages.
SCRIPT_LANGUAGES: dict[str, tuple[str, ...]] = {
    "Latin": ("eng", "fra", "deu", "spa", "ita", "por", "nld", "pol", "tur", "vie"),
    "Cyrillic": ("rus", "ukr", "bul", "srp", "bel", "mkd"),
    "Greek": ("ell", "grc"),
    "Arabic": ("ara", "fas", "urd", "pus"),
    "Hebrew": ("heb", "yid"),
    "Devanagari": ("hin", "mar", "nep", "san"),
    "Thai": ("tha",),
    "Han": ("chi_sim", "chi_tra"),
    "Japanese": ("jpn",),
    "Hangul": ("kor",),
    "Bengali": ("ben", "asm"),
    "Tamil": ("tam",),
    "Telugu": ("tel",),
    "Kannada": ("kan",),
    "Malayalam": ("mal",),
    "Gujarati": ("guj",),
    "Gurmukhi": ("pan",),
    "Oriya": ("ori",),
    "Sinhala": ("sin",),
    "Georgian": ("kat",),
    "Armenian": ("hye",),
    "Ethiopic": ("amh", "tir"),
    "Khmer": ("khm",),
    "Lao": ("lao",),
    "Myanmar": ("mya",),
    "Tibetan": ("bod",),
    "Syriac": ("syr",),
    "Thaana": ("div",),
    "Cherokee": ("chr",),
    "Canadian_Aboriginal": ("iku",),
}

# Scripts written without spaces between words: tesseract returns one "word" per
# character (Thai, Chinese, Japanese), which are joined back.
UNSPACED = frozenset({"Thai", "Han", "Japanese", "Lao", "Khmer", "Myanmar", "Tibetan"})
# Scripts whose one character is about a syllable: counted twice in letter counts.
WIDE = frozenset({"Han", "Japanese", "Hangul"})
# The classifier's names where ours differ (kana is Japanese).
_NAMES = {
    "Hiragana": "Japanese",
    "Katakana": "Japanese",
    KANA: "Japanese",
    "Canadian Aboriginal": "Canadian_Aboriginal",
}


def char_script(ch: str) -> str | None:
    """The script of one letter or mark (None for digits, punctuation, symbols)."""
    if not unicodedata.category(ch).startswith(("L", "M")) and ch != "〇":
        return None
    if unicodedata.east_asian_width(ch) == "H":  # halfwidth katakana (and the rare Hangul)
        return "Japanese"
    script = script_of(ch)
    if script is None:
        return None
    script = _NAMES.get(script, script)
    return script if script in SCRIPT_LANGUAGES else None


def _letter_or_digit(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LMN"


def letters(text: str) -> int:
    """Letters, marks and digits, a Han, kana or Hangul character counting two."""
    return letter_count(text, char_script, _letter_or_digit, WIDE)


def text_scripts(text: str) -> list[str]:
    """The scripts of ``text``, most letters first; Han with kana is Japanese."""
    counts = script_counts(text, char_script, counted=None)
    if counts.get("Japanese") and counts.get("Han"):
        counts["Japanese"] += counts.pop("Han")
    return [s for s, _ in counts.most_common()]


def line_script(text: str) -> str:
    """The main script of one line of text ('' when it has no letters)."""
    scripts = text_scripts(text)
    return scripts[0] if scripts else ""


def same_script(a: str | None, b: str | None) -> bool:
    """Scripts that one reading may mix: Han with Japanese kana, else equality."""
    cjk = ("Han", "Japanese")
    return a is not None and (a == b or (a in cjk and b in cjk))


def apt_package(language: str) -> str:
    """The Debian/Ubuntu package of a tesseract language: chi_sim -> tesseract-ocr-chi-sim."""
    return "tesseract-ocr-" + language.lower().replace("_", "-")


def script_languages(script: str, installed: Iterable[str], latin: Sequence[str] = ()) -> list[str]:
    """The installed languages for ``script`` in preference order (Latin: ``latin`` first)."""
    have = set(installed)
    table = SCRIPT_LANGUAGES.get(script, ())
    if script == "Latin":
        table = tuple(dict.fromkeys([*latin, *table]))
    return [lang for lang in table if lang in have]


def probe_languages(installed: Iterable[str], latin: Sequence[str] = ()) -> dict[str, str]:
    """One installed language per script (its first choice): script -> language."""
    have = list(installed)
    found: dict[str, str] = {}
    for script in SCRIPT_LANGUAGES:
        langs = script_languages(script, have, latin)
        if langs:
            found[script] = langs[0]
    return found
