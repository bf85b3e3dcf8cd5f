"""Tesseract's words grouped into the ``ocr`` tool's kept lines, and the best reading kept.

Words are grouped by tesseract's block/paragraph/line numbers; characters of
unspaced scripts (Thai, Chinese, Japanese) are joined; junk is dropped (low
confidence, no letters or digits, stray characters, lone short or unsure words,
lines that are mostly junk); where two readings cover the same place the more
confident and complete line is kept (:func:`merge_readings`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from gre.tools.ocr.geometry import PixelBox, Region, overlap, union
from gre.tools.ocr.scripts import UNSPACED, char_script, letters, line_script

# Where a box read by tesseract lies: (piece of a sheet, region, box in the original image).
Placer = Callable[[PixelBox], tuple[int, Region, PixelBox] | None]
RawWord = tuple[str, float, PixelBox]


def scaled_placer(region: Region, scale: float) -> Placer:
    """Boxes read on the region's upright pixels scaled by ``scale``."""

    def place(box: PixelBox) -> tuple[int, Region, PixelBox]:
        x0, y0, x1, y1 = (v / scale for v in box)
        return 0, region, region.to_original((x0, y0, x1, y1))

    return place


def unspaced_join(left: str, right: str) -> bool:
    """Whether two adjacent words are pieces of one word of an unspaced script."""
    a = char_script(left[-1]) if left else None
    b = char_script(right[0]) if right else None
    return a in UNSPACED and b in UNSPACED


def join_unspaced(words: list[RawWord]) -> list[RawWord]:
    """Join the one-character "words" tesseract returns for Thai, Chinese and Japanese."""
    joined: list[RawWord] = []
    for text, conf, box in words:
        if joined:
            prev, pconf, pbox = joined[-1]
            near = box[0] - pbox[2] <= max(box[3] - box[1], pbox[3] - pbox[1])
            if near and unspaced_join(prev, text):
                n, m = max(1, letters(prev)), max(1, letters(text))
                joined[-1] = (prev + text, (pconf * n + conf * m) / (n + m), union([pbox, box]))
                continue
        joined.append((text, conf, box))
    return joined


def words_by_line(
    data: dict[str, list[Any]], place: Placer
) -> dict[tuple[int, int, int, int], tuple[Region, list[RawWord]]]:
    """Tesseract's TSV words with text, grouped by (piece, block, paragraph, line)."""
    groups: dict[tuple[int, int, int, int], tuple[Region, list[RawWord]]] = {}
    for i, raw in enumerate(data.get("text", [])):
        text = str(raw).strip()
        if not text or int(data["level"][i]) != 5:
            continue
        left, top = int(data["left"][i]), int(data["top"][i])
        placed = place((left, top, left + int(data["width"][i]), top + int(data["height"][i])))
        if placed is None:
            continue
        piece, region, box = placed
        key = (piece, int(data["block_num"][i]), int(data["par_num"][i]), int(data["line_num"][i]))
        groups.setdefault(key, (region, []))[1].append((text, float(data["conf"][i]), box))
    return groups


# --- lines ------------------------------------------------------------------------------

MIN_SINGLE_WORD_CHARS = 4  # a one-word line needs this many letters/digits...
LONE_WORD_MARGIN = 15.0  # ...and this much confidence over min_confidence,
SURE_LONE_WORD = 90.0  # or three of them at this confidence
SURE_CONFIDENCE = 85.0  # one-character words at a line's end are dropped below this

# Edge characters that tesseract produces from sign borders, arrows and poles.
_EDGE_JUNK = "|[](){}<>«»\"'“”‘’`_~*=+^\\/—–-:;,."
_KEEP_TRAILING = re.compile(r"(?<=\w)\.$")  # abbreviations: "St.", "Av."


@dataclass(frozen=True)
class Word:
    """One kept word: text, tesseract confidence (0-100), box in the original image."""

    text: str
    confidence: float
    box: PixelBox


@dataclass
class Line:
    """One kept line; ``region`` is -1 for the whole image, else the index in the boxes."""

    region: int
    words: list[Word]
    text: str
    confidence: float
    box: PixelBox
    language: str = ""
    script: str = field(init=False)

    def __post_init__(self) -> None:
        self.script = line_script(self.text)

    @property
    def score(self) -> float:
        """Confidence-weighted characters: prefers complete, sure readings."""
        return sum(w.confidence * letters(w.text) for w in self.words) / 100.0


def _clean(text: str) -> str:
    text = text.strip()
    trailing = _KEEP_TRAILING.search(text)
    core = text.strip(_EDGE_JUNK)
    if trailing and core and not core.endswith(trailing.group()):
        core += trailing.group()
    return core


def _odd_case(word: str) -> bool:
    """Lower case followed by upper case ("oF", "aBc"): typical of texture read as text."""
    return any(a.islower() and b.isupper() for a, b in pairwise(word))


def _word_ok(text: str, confidence: float, min_confidence: float) -> bool:
    n = letters(text)
    if n == 0 or confidence < min_confidence:
        return False
    if n * 2 < len(text):  # mostly punctuation: "+,", "=>"
        return False
    return not (len(text) <= 3 and _odd_case(text))


def _stray(word: Word) -> bool:
    return letters(word.text) == 1 and word.confidence < SURE_CONFIDENCE


def _line_ok(words: list[Word], raw_chars: int, min_confidence: float) -> bool:
    """Keep a line unless it is mostly junk, or one short or unsure word.

    ``raw_chars`` counts the letters of every word tesseract saw on the line (a Han,
    kana or Hangul character counting two); the kept words must hold at least half
    of them (arrows and bars, which have none, do not count against a line).
    """
    if not words or sum(letters(w.text) for w in words) * 2 < raw_chars:
        return False
    if all(letters(w.text) < 3 for w in words):  # stray characters: "At à", "e |", "14"
        return False
    if len(words) == 1:  # lone words are where texture turns into text ("Meow", "all")
        w = words[0]
        n = letters(w.text)
        if n >= MIN_SINGLE_WORD_CHARS:
            return w.confidence >= min_confidence + LONE_WORD_MARGIN
        return n == 3 and w.confidence >= SURE_LONE_WORD
    return True


def lines_from_data(
    data: dict[str, list[Any]], place: Placer, min_confidence: float, language: str = ""
) -> list[Line]:
    """Group tesseract's TSV words into kept lines, with boxes in original pixels."""
    lines: list[Line] = []
    for region, raw_words in words_by_line(data, place).values():
        raw_words = join_unspaced(raw_words)
        words = [
            Word(cleaned, round(conf, 1), box)
            for text, conf, box in raw_words
            if (cleaned := _clean(text)) and _word_ok(cleaned, conf, min_confidence)
        ]
        # drop stray one-character words at a line's ends ("e Théâtre", "LOUVRE |")
        while len(words) > 1 and _stray(words[0]):
            words.pop(0)
        while len(words) > 1 and _stray(words[-1]):
            words.pop()
        raw_chars = sum(letters(text) for text, _, _ in raw_words)
        if not _line_ok(words, raw_chars, min_confidence):
            continue
        lines.append(
            Line(
                region=region.index,
                words=words,
                text=" ".join(w.text for w in words),
                confidence=round(sum(w.confidence for w in words) / len(words), 1),
                box=union([w.box for w in words]),
                language=language,
            )
        )
    return lines


def conflicts(line: Line, kept: Line, min_overlap: float) -> bool:
    """Two readings of the same place: their lines, or any of their words, overlap."""
    if overlap(line.box, kept.box) >= min_overlap:
        return True
    if overlap(line.box, kept.box) == 0.0:
        return False
    return any(overlap(a.box, b.box) >= min_overlap for a in line.words for b in kept.words)


def merge_readings(lines: list[Line], min_overlap: float = 0.5) -> list[Line]:
    """Keep the best reading of each place: greedy by score, skipping conflicting lines."""
    kept: list[Line] = []
    for line in sorted(lines, key=lambda ln: (-ln.score, -ln.confidence, ln.region)):
        if not any(conflicts(line, k, min_overlap) for k in kept):
            kept.append(line)
    kept.sort(key=lambda ln: ((ln.box[1] + ln.box[3]) / 2, ln.box[0]))
    return kept
