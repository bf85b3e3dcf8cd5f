"""Writing systems of text: a character's script from its Unicode name, a text's scripts.

The one classifier behind the ``ocr`` tool (which tesseract languages read a
line) and ``text_clues`` (which countries write a script). A character's script
is the first word of its Unicode name (``CYRILLIC SMALL LETTER ZHE``), width
forms as the script they widen or narrow (``HALFWIDTH KATAKANA LETTER A``).
Each tool names the scripts its own way on top of this (the ``ocr`` tool calls
kana Japanese); :func:`script_counts` and :func:`letter_count` take such a
classifier.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable, Collection

# The first word of a character's Unicode name -> its script (Unicode Script property names).
NAME_SCRIPTS: dict[str, str] = {
    "LATIN": "Latin",
    "CYRILLIC": "Cyrillic",
    "GREEK": "Greek",
    "ARABIC": "Arabic",
    "HEBREW": "Hebrew",
    "DEVANAGARI": "Devanagari",
    "BENGALI": "Bengali",
    "GURMUKHI": "Gurmukhi",
    "GUJARATI": "Gujarati",
    "ORIYA": "Oriya",
    "TAMIL": "Tamil",
    "TELUGU": "Telugu",
    "KANNADA": "Kannada",
    "MALAYALAM": "Malayalam",
    "SINHALA": "Sinhala",
    "THAI": "Thai",
    "LAO": "Lao",
    "TIBETAN": "Tibetan",
    "MYANMAR": "Myanmar",
    "GEORGIAN": "Georgian",
    "ARMENIAN": "Armenian",
    "ETHIOPIC": "Ethiopic",
    "KHMER": "Khmer",
    "MONGOLIAN": "Mongolian",
    "THAANA": "Thaana",
    "SYRIAC": "Syriac",
    "TIFINAGH": "Tifinagh",
    "HANGUL": "Hangul",
    "HIRAGANA": "Hiragana",
    "KATAKANA": "Katakana",
    "KATAKANA-HIRAGANA": "Kana",
    "CJK": "Han",
    "IDEOGRAPHIC": "Han",
    "BOPOMOFO": "Bopomofo",
    "CHEROKEE": "Cherokee",
    "CANADIAN": "Canadian Aboriginal",
    "NKO": "Nko",
}
KANA = "Kana"  # what hiragana and katakana share: the prolonged sound mark "ー"
WIDTH_WORDS = frozenset({"FULLWIDTH", "HALFWIDTH"})
# Scripts whose one character is about a syllable or a morpheme.
DENSE_SCRIPTS = frozenset({"Han", "Hangul", "Hiragana", "Katakana"})

Classifier = Callable[[str], str | None]


def script_of(ch: str) -> str | None:
    """The script of a character, from its Unicode name (None: digits, most punctuation and
    symbols, scripts not in :data:`NAME_SCRIPTS`). Names the category does not filter:
    "ARABIC COMMA" is Arabic."""
    words = unicodedata.name(ch, "").split()
    if words and words[0] in WIDTH_WORDS:
        words = words[1:]
    return NAME_SCRIPTS.get(words[0]) if words else None


def script_counts(
    text: str,
    script: Classifier = script_of,
    counted: Callable[[str], bool] | None = str.isalpha,
) -> Counter[str]:
    """Characters per script, in the order first seen: those ``counted`` (all if None) that
    ``script`` names."""
    return Counter(
        s for ch in text if (counted is None or counted(ch)) and (s := script(ch)) is not None
    )


def script_shares(counts: Counter[str]) -> list[tuple[str, float]]:
    """Each script's share of the counted characters, most first (ties: first seen first)."""
    total = sum(counts.values())
    return [(s, n / total) for s, n in counts.most_common()] if total else []


def letter_count(
    text: str,
    script: Classifier = script_of,
    counted: Callable[[str], bool] = str.isalpha,
    dense: Collection[str] = DENSE_SCRIPTS,
) -> int:
    """The ``counted`` characters (letters), one of a ``dense`` script counting two."""
    return sum(2 if script(ch) in dense else 1 for ch in text if counted(ch))
