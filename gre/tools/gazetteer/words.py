"""Is a word of a sign a dictionary word? Word frequencies from ``wordfreq``, per language.

A dictionary word ("Hunde", dogs; "fête"; "cross") is usually not a place even where a
place has it as a name: the gazetteer's scan keeps such matches only for the primary name
of a large place ("Nice", "Reading"), never for an alternate name (Houndé's "Hunde"), a
small place (Fété) or a fuzzy near-miss ("LITTER" for Ittre). The "small" word lists
(words of at least one in a million) of the text's languages and of the common languages
of Latin-script signs are asked (short sign text often has no detected language): about
40 MB for all of them, loaded on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from functools import cache

COMMON_ZIPF = 3.5
"""Zipf frequency (log10 per billion words + 9) from which a word is a common word: about
3 in a million words ("litter" 3.7, "hunde" in German 4.6; "Névache" 1.7)."""
VERY_COMMON_ZIPF = 4.5
"""From here a word is more than a famous name ("louvre" 4.0, "arezzo" 4.0; "cross" 5.0)."""
COMMON_LANGUAGES = (
    "en", "de", "fr", "es", "it", "pt", "nl", "sv", "da", "nb", "fi", "pl", "cs", "ro", "hu",
    "tr", "ca", "id",
)  # fmt: skip
"""Always asked besides the text's languages: signs' words in these are common abroad."""

NEEDS_TOKENIZER = frozenset({"ja", "ko", "zh"})
"""wordfreq needs MeCab or jieba to read these: words in them are never common here."""

_lock = threading.Lock()


@cache
def _supported() -> frozenset[str]:
    try:
        from wordfreq import available_languages
    except ImportError:
        return frozenset()
    return frozenset(available_languages(wordlist="small"))


def zipf(word: str, languages: Iterable[str]) -> float:
    """The word's highest Zipf frequency in ``languages`` (0 where none has it)."""
    langs = [
        lang
        for lang in dict.fromkeys(languages)
        if lang in _supported() and lang not in NEEDS_TOKENIZER
    ]
    if not langs:
        return 0.0
    from wordfreq import zipf_frequency

    best = 0.0
    with _lock:  # wordfreq loads its lists lazily into shared caches
        for lang in langs:
            try:
                best = max(best, zipf_frequency(word, lang, wordlist="small"))
            except (ImportError, LookupError, ValueError):  # a tokenizer it lacks
                continue
    return best


def word_zipf(word: str, languages: Iterable[str] = ()) -> float:
    """A word's frequency in the text's languages and the common ones (0 for phrases)."""
    word = word.strip()
    return 0.0 if " " in word else zipf(word, [*languages, *COMMON_LANGUAGES])


def is_common(word: str, languages: Iterable[str] = ()) -> bool:
    """Whether ``word`` (one word) is common in the text's languages or in common ones."""
    return word_zipf(word, languages) >= COMMON_ZIPF
