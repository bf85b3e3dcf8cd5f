"""The language of a text by its words: signs in two languages, and short signs.

lingua weighs a whole text at once, so a notice in Italian with an English translation
reads as English 0.94, Italian 0.06 (the shorter, more regular language wins), and on
a short sign it is unsure or wrong ("KOPPLA HUNDEN / Håll din hund kopplad" is Bokmål
0.88 to it). Words tell them apart. A word belongs to the candidate language (lingua's
likeliest, and English) in which it is common and clearly more frequent than in the
others (wordfreq's lists).

- A language that claims a fair share of a text's words is a language of the sign too.
  English beside another language is, on signs, almost always the translation for
  visitors, so it then counts for less than the local language.
- On a short text, lingua's unsure guess stands when the words agree with it; else the
  words alone decide, when several of them agree and no other language comes close.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from gre.tools.gazetteer.words import zipf

CANDIDATES = 5
"""lingua's likeliest languages considered, besides English."""
MIN_WORD_ZIPF = 3.0
"""A word counts for a language where it is at least this common (one in a million)."""
DISTINCT_ZIPF = 1.0
"""...and this much more common than in any other candidate ("in", "din" count for none)."""
MIN_WORDS = 4
"""A second language needs this many words of its own..."""
MIN_SHARE = 0.3
"""...and this share of the words that belong to a language."""
TRANSLATION_FACTOR = 0.4
"""English beside a local language counts this much of its confidence."""
VOTE_WORDS = 3
"""Words alone name a short text's language with this many words, twice any rival's."""
VOTE_CONFIDENCE = 0.6
"""...at this confidence (three or four common words are good, not certain, evidence)."""

_WORD = re.compile(r"[^\W\d_]{2,}")
_ABBREVIATION = re.compile(r"[^\W\d_]{2,4}\.")
""""Tel." and "Av." are written alike in many languages: no word of any."""


def candidates(likely: Sequence[str], top: str | None = None) -> list[str]:
    """The languages words are weighed between: ``top``, lingua's likeliest, English."""
    head = [top] if top else []
    return list(dict.fromkeys([*head, *likely[:CANDIDATES], "en"]))


def word_languages(text: str, langs: Sequence[str]) -> Counter[str]:
    """How many words of ``text`` belong to each of ``langs`` (ISO 639-1 codes)."""
    counts: Counter[str] = Counter()
    langs = list(dict.fromkeys(langs))
    if len(langs) < 2:
        return counts
    text = _ABBREVIATION.sub(" ", text.lower())
    for word in _WORD.findall(text):
        ranked = sorted(((zipf(word, [lang]), lang) for lang in langs), reverse=True)
        (best, lang), (second, _) = ranked[0], ranked[1]
        if best >= MIN_WORD_ZIPF and best - second >= DISTINCT_ZIPF:
            counts[lang] += 1
    return counts


def second_languages(
    text: str, top: str, confidence: float, likely: Sequence[str]
) -> dict[str, float]:
    """The confidence of each language of a bilingual text, the detected ``top`` included.

    ``likely`` are lingua's likeliest languages, best first. Empty when the text reads as
    one language only.
    """
    counts = word_languages(text, candidates(likely, top))
    assigned = sum(counts.values())
    top_words = max(counts[top], 1)
    others = {
        lang: n
        for lang, n in counts.items()
        if lang != top and n >= MIN_WORDS and n / max(assigned, 1) >= MIN_SHARE
    }
    if not others:
        return {}
    result = {top: confidence}
    for lang, n in others.items():
        result[lang] = confidence * min(1.0, n / top_words)
    if "en" in result:
        result["en"] *= TRANSLATION_FACTOR
    return result


def vote(text: str, likely: Sequence[str]) -> tuple[str, int, bool] | None:
    """A short text's language by its words: (code, words, whether lingua's top agrees).

        lingua's top guess stands with one word of its own (English: ``VOTE_WORDS``) and no
        rival with as many; another
        language needs ``VOTE_WORDS`` words and twice any rival's, and is not English (English
        words are on signs everywhere: they name English only when lingua agrees, and beside
    a fair share of another language's words, that language).
    """
    if not likely:
        return None
    counts = word_languages(text, candidates(likely))
    if not counts:
        return None
    (lang, n), *rest = counts.most_common()
    runner_up = rest[0][1] if rest else 0
    if lang == likely[0] and n > runner_up and (lang != "en" or n >= VOTE_WORDS):
        return lang, n, True
    if lang == "en" and rest:  # English and a local language: the local one
        lang, n = rest[0]
        return (lang, n, False) if n >= MIN_WORDS and n >= MIN_SHARE * counts.total() else None
    if n >= VOTE_WORDS and n >= 2 * runner_up and lang != "en":
        return lang, n, False
    return None
