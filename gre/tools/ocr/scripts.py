"""Writing systems for the ``ocr`` tool: which tesseract languages read which script.

Three sources name a script: tesseract's orientation and script detection (OSD,
``--psm 0``), the Unicode characters of text already read, and the *probe*: the
lines the first pass did not read well, stacked on one page (a :class:`Sheet`)
and read by one installed language per script, the clearly most confident one
winning (:func:`probe_winner`). OSD is fast but, on photos, a hint only: on this
repository's images it called the Louvre's signs Cyrillic (10.0), a Hebrew sign
Thai (3.3-10.0), a Thai one Latin (1.7-5.0) and a sculpture without text
Devanagari (2.0); so the probe decides which language packs read the text, and
OSD lowers its bar and breaks near ties.

This module is the ``ocr`` tool's logic without tesseract: the script tables,
regions (turned upright when OSD finds them rotated), tesseract's words grouped
into kept lines (junk dropped, unspaced scripts joined), and the probe's
candidates, sheets and scoring. The tesseract calls are in :mod:`gre.tools.ocr.tool`.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations, pairwise
from typing import Any

from PIL import Image

PixelBox = tuple[int, int, int, int]
FloatBox = tuple[float, float, float, float]

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

# Script names as OSD prints them, where they differ from ours.
OSD_ALIASES: dict[str, str] = {
    "HanS": "Han",
    "HanT": "Han",
    "Hiragana": "Japanese",
    "Katakana": "Japanese",
    "Korean": "Hangul",
    "Fraktur": "Latin",
    "Vietnamese": "Latin",
}

# Scripts written without spaces between words: tesseract returns one "word" per
# character (Thai, Chinese, Japanese), which are joined back.
UNSPACED = frozenset({"Thai", "Han", "Japanese", "Lao", "Khmer", "Myanmar", "Tibetan"})
# Scripts whose one character is about a syllable: counted twice in letter counts.
WIDE = frozenset({"Han", "Japanese", "Hangul"})

_NAME_SCRIPT = {
    "CJK": "Han",
    "IDEOGRAPHIC": "Han",
    "HIRAGANA": "Japanese",
    "KATAKANA": "Japanese",
    "KATAKANA-HIRAGANA": "Japanese",
    "HALFWIDTH": "Japanese",  # halfwidth katakana (halfwidth Hangul is rare on signs)
    "FULLWIDTH": "Latin",
    "CANADIAN": "Canadian_Aboriginal",
}
_KNOWN = {name.upper(): name for name in SCRIPT_LANGUAGES}
_OSD_LINE = re.compile(r"^\s*([A-Za-z ]+):\s*(\S+)\s*$", re.M)

# The probe's candidates: lines (tesseract's level 4) the first pass read less surely.
PROBE_MAX_LINES = 4  # crops per sheet, lines (largest first) before blocks
PROBE_LINE_PX = 40  # probed lines are scaled to this height (their text, without margin)
PROBE_PAD = 0.25  # of a line's height, added around it: boxes of unread scripts are tight
PROBE_BLOCK_PIXELS = 150_000  # cap on one probed block (a region with no line read in it)
PROBE_SHEET_PIXELS = 160_000  # cap on a sheet: every probed language reads all of it
LINE_MAX_SHARE = 0.25  # of the region's height: a taller "line" is probed as a block
MAX_REGION_SHARE = 0.8  # a candidate covering more of its region is the whole photo
SHEET_GAP = 32  # px between crops on a sheet: more than word and line gaps at 48 px


# --- scripts and languages ---------------------------------------------------------------


def char_script(ch: str) -> str | None:
    """The script of one letter or mark (None for digits, punctuation, symbols)."""
    if not unicodedata.category(ch).startswith(("L", "M")) and ch != "〇":
        return None
    first = unicodedata.name(ch, "").split(" ", 1)[0]
    return _NAME_SCRIPT.get(first) or _KNOWN.get(first)


def letters(text: str) -> int:
    """Letters, marks and digits, a Han, kana or Hangul character counting two."""
    n = 0
    for ch in text:
        if unicodedata.category(ch)[0] in "LMN":
            n += 2 if char_script(ch) in WIDE else 1
    return n


def text_scripts(text: str) -> list[str]:
    """The scripts of ``text``, most letters first; Han with kana is Japanese."""
    counts = Counter(s for ch in text if (s := char_script(ch)) is not None)
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


def _unspaced_join(left: str, right: str) -> bool:
    """Whether two adjacent words are pieces of one word of an unspaced script."""
    a = char_script(left[-1]) if left else None
    b = char_script(right[0]) if right else None
    return a in UNSPACED and b in UNSPACED


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


# --- OSD -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Osd:
    """One OSD answer: the script and how far the image is turned."""

    script: str  # our name (OSD_ALIASES applied)
    script_confidence: float
    rotate: int  # clockwise degrees that make the text upright: 0, 90, 180, 270
    orientation_confidence: float


def parse_osd(text: str) -> Osd | None:
    """Read tesseract's ``--psm 0`` report (None when it has no script line)."""
    fields = {k.strip().lower(): v for k, v in _OSD_LINE.findall(text)}
    try:
        script = fields["script"]
        return Osd(
            script=OSD_ALIASES.get(script, script),
            script_confidence=round(float(fields["script confidence"]), 2),
            rotate=int(fields.get("rotate", "0")) % 360,
            orientation_confidence=round(float(fields.get("orientation confidence", "0")), 2),
        )
    except (KeyError, ValueError):
        return None


# --- geometry ------------------------------------------------------------------------------


def union(boxes: Sequence[PixelBox]) -> PixelBox:
    """The smallest box holding all ``boxes``."""
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def overlap(a: PixelBox, b: PixelBox) -> float:
    """Intersection over the smaller box's area."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return (w * h) / max(1, smaller)


def inside(inner: PixelBox, outer: PixelBox, share: float = 0.6) -> bool:
    """Whether ``share`` of ``inner``'s area lies in ``outer``."""
    w = min(inner[2], outer[2]) - max(inner[0], outer[0])
    h = min(inner[3], outer[3]) - max(inner[1], outer[1])
    area = (inner[2] - inner[0]) * (inner[3] - inner[1])
    return w > 0 and h > 0 and w * h >= share * max(1, area)


_TURN = {
    90: Image.Transpose.ROTATE_270,  # PIL turns counter-clockwise
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True)
class Region:
    """A region read: -1 the whole image, else the index in the input's boxes; ``rotate``
    is how far (clockwise) its pixels are turned to be read upright."""

    index: int
    box: PixelBox  # in the original image
    rotate: int = 0

    @property
    def upright_size(self) -> tuple[int, int]:
        w, h = self.box[2] - self.box[0], self.box[3] - self.box[1]
        return (h, w) if self.rotate in (90, 270) else (w, h)

    def pixels(self, image: Image.Image) -> Image.Image:
        """The region's pixels, upright."""
        whole = self.box == (0, 0, *image.size)
        crop = image if whole else image.crop(self.box)
        return crop.transpose(_TURN[self.rotate]) if self.rotate else crop

    def to_original(self, box: FloatBox) -> PixelBox:
        """Map a box in the upright region's pixels back to the original image."""
        x0, y0, x1, y1 = box
        ox, oy, ox1, oy1 = self.box
        w, h = ox1 - ox, oy1 - oy
        if self.rotate == 90:  # upright (x', y') = (h - y, x)
            x0, y0, x1, y1 = y0, h - x1, y1, h - x0
        elif self.rotate == 180:
            x0, y0, x1, y1 = w - x1, h - y1, w - x0, h - y0
        elif self.rotate == 270:  # upright (x', y') = (y, w - x)
            x0, y0, x1, y1 = w - y1, x0, w - y0, x1
        return (
            min(ox1, max(ox, ox + math.floor(x0))),
            min(oy1, max(oy, oy + math.floor(y0))),
            min(ox1, max(ox, ox + math.ceil(x1))),
            min(oy1, max(oy, oy + math.ceil(y1))),
        )


# --- the probe's candidates ------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """A line (or textless block) of a region that the first pass did not read well."""

    region: Region
    box: PixelBox  # in the upright region's pixels, margin included
    confidence: float  # of the first pass's reading (letter-weighted)...
    letters: int  # ...of this many letters
    is_line: bool  # tesseract read words in a line-sized box (else a block)

    @property
    def area(self) -> int:
        return (self.box[2] - self.box[0]) * (self.box[3] - self.box[1])

    @property
    def scale(self) -> float:
        """Lines to PROBE_LINE_PX high; blocks as they are, or smaller."""
        if self.is_line:
            height = (self.box[3] - self.box[1]) / (1 + 2 * PROBE_PAD)
            return min(4.0, max(0.5, PROBE_LINE_PX / height))
        return min(1.0, math.sqrt(PROBE_BLOCK_PIXELS / max(1, self.area)))


def probes_from_data(
    data: dict[str, list[Any]], region: Region, scale: float, well_read: float
) -> list[Probe]:
    """The lines of a tesseract reading (TSV as a dict, read at ``scale``) that it read
    less surely than ``well_read``: candidates for the probe."""
    words: dict[tuple[int, int, int], list[tuple[str, float]]] = {}
    for i, raw in enumerate(data.get("text", [])):
        if int(data["level"][i]) == 5 and str(raw).strip():
            key = (int(data["block_num"][i]), int(data["par_num"][i]), int(data["line_num"][i]))
            words.setdefault(key, []).append((str(raw).strip(), float(data["conf"][i])))
    rw, rh = region.upright_size
    probes = []
    for i, level in enumerate(data.get("level", [])):
        if int(level) != 4:
            continue
        left, top = int(data["left"][i]) / scale, int(data["top"][i]) / scale
        width, height = int(data["width"][i]) / scale, int(data["height"][i]) / scale
        if width < 8 or height < 8 or width * height > MAX_REGION_SHARE * rw * rh:
            continue
        found = words.get(
            (int(data["block_num"][i]), int(data["par_num"][i]), int(data["line_num"][i])), []
        )
        score = score_words(found, "Latin")
        if score.letters >= 3 and score.confidence >= well_read:
            continue
        if found and not score.letters and width > 12 * height:  # an edge, not a line
            continue
        is_line = bool(found) and height <= LINE_MAX_SHARE * rh  # else a block of junk
        pad = PROBE_PAD * height if is_line else 0.0
        box = (
            max(0, math.floor(left - pad)),
            max(0, math.floor(top - pad)),
            min(rw, math.ceil(left + width + pad)),
            min(rh, math.ceil(top + height + pad)),
        )
        probes.append(Probe(region, box, score.confidence, score.letters, is_line))
    return probes


def _same_line(a: PixelBox, b: PixelBox) -> bool:
    """Two boxes side by side on one text line (pieces of a word tesseract split): their
    heights overlap by half the smaller, together they are hardly taller than the taller,
    and the gap between them is at most that tall."""
    low, high = min(a[3] - a[1], b[3] - b[1]), max(a[3] - a[1], b[3] - b[1])
    shared = min(a[3], b[3]) - max(a[1], b[1])
    joint = max(a[3], b[3]) - min(a[1], b[1])
    gap = max(a[0], b[0]) - min(a[2], b[2])
    return shared >= low / 2 and joint <= 1.3 * high and gap <= high


def join_fragments(probes: Sequence[Probe]) -> list[Probe]:
    """Join line candidates that are pieces of one line (Hangul syllables, CJK characters):
    groups of pieces pairwise side by side, unless the group spans several lines (texture
    read as rows of junk chains up and down a facade)."""
    lines = [p for p in probes if p.is_line]
    group = list(range(len(lines)))  # union-find over the pieces

    def root(i: int) -> int:
        while group[i] != i:
            i = group[i]
        return i

    for i, j in combinations(range(len(lines)), 2):
        if lines[i].region == lines[j].region and _same_line(lines[i].box, lines[j].box):
            group[root(j)] = root(i)
    joined: list[Probe] = []
    for members in _groups([root(i) for i in range(len(lines))]):
        pieces = [lines[i] for i in members]
        box = union([p.box for p in pieces])
        if len(pieces) == 1 or box[3] - box[1] > 1.5 * max(p.box[3] - p.box[1] for p in pieces):
            joined += pieces
            continue
        n = sum(p.letters for p in pieces)
        conf = sum(p.confidence * p.letters for p in pieces) / max(1, n)
        joined.append(Probe(pieces[0].region, box, conf, n, True))
    return joined + [p for p in probes if not p.is_line]


def _groups(roots: list[int]) -> list[list[int]]:
    found: dict[int, list[int]] = {}
    for i, r in enumerate(roots):
        found.setdefault(r, []).append(i)
    return list(found.values())


def pick_probes(probes: Iterable[Probe]) -> list[Probe]:
    """What to probe: the largest distinct lines, then blocks, at most PROBE_MAX_LINES and
    PROBE_SHEET_PIXELS in all."""
    picked: list[Probe] = []
    budget = float(PROBE_SHEET_PIXELS)
    for probe in sorted(probes, key=lambda p: (not p.is_line, -p.area)):
        if len(picked) == PROBE_MAX_LINES:
            break
        if any(p.region == probe.region and inside(probe.box, p.box) for p in picked):
            continue
        pixels = probe.area * probe.scale**2
        if pixels <= budget:
            budget -= pixels
            picked.append(probe)
    return picked


@dataclass(frozen=True)
class Sheet:
    """Crops stacked on one white page, so that one tesseract call reads them all."""

    image: Image.Image
    rects: tuple[PixelBox, ...]  # each crop's place on the page

    def locate(self, box: PixelBox) -> int | None:
        """The crop a box read on the page belongs to (by its centre), if any."""
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        half = SHEET_GAP / 2
        for i, (x0, y0, x1, y1) in enumerate(self.rects):
            if x0 - half <= cx <= x1 + half and y0 - half <= cy <= y1 + half:
                return i
        return None


def make_sheet(crops: Sequence[Image.Image]) -> Sheet:
    """Stack black-and-white crops (dark text on white) top to bottom with white gaps."""
    width = max(c.width for c in crops) + 2 * SHEET_GAP
    height = sum(c.height for c in crops) + SHEET_GAP * (len(crops) + 1)
    page = Image.new("L", (width, height), 255)
    rects = []
    y = SHEET_GAP
    for crop in crops:
        page.paste(crop, (SHEET_GAP, y))
        rects.append((SHEET_GAP, y, SHEET_GAP + crop.width, y + crop.height))
        y += crop.height + SHEET_GAP
    return Sheet(page, tuple(rects))


# --- reading tesseract's words ------------------------------------------------------------

# Where a box read by tesseract lies: (piece of a sheet, region, box in the original image).
Placer = Callable[[PixelBox], tuple[int, Region, PixelBox] | None]


def scaled_placer(region: Region, scale: float) -> Placer:
    """Boxes read on the region's upright pixels scaled by ``scale``."""

    def place(box: PixelBox) -> tuple[int, Region, PixelBox]:
        x0, y0, x1, y1 = (v / scale for v in box)
        return 0, region, region.to_original((x0, y0, x1, y1))

    return place


def sheet_placer(pieces: Sequence[tuple[Probe, Image.Image]]) -> tuple[Sheet, Placer]:
    """Probed crops on one page, and where boxes read on it lie in the original image."""
    sheet = make_sheet([crop for _, crop in pieces])

    def place(box: PixelBox) -> tuple[int, Region, PixelBox] | None:
        i = sheet.locate(box)
        if i is None:
            return None
        probe = pieces[i][0]
        x, y = sheet.rects[i][:2]
        px, py, s = probe.box[0], probe.box[1], probe.scale
        local = ((box[0] - x) / s, (box[1] - y) / s, (box[2] - x) / s, (box[3] - y) / s)
        return (
            i,
            probe.region,
            probe.region.to_original((px + local[0], py + local[1], px + local[2], py + local[3])),
        )

    return sheet, place


RawWord = tuple[str, float, PixelBox]


def join_unspaced(words: list[RawWord]) -> list[RawWord]:
    """Join the one-character "words" tesseract returns for Thai, Chinese and Japanese."""
    joined: list[RawWord] = []
    for text, conf, box in words:
        if joined:
            prev, pconf, pbox = joined[-1]
            near = box[0] - pbox[2] <= max(box[3] - box[1], pbox[3] - pbox[1])
            if near and _unspaced_join(prev, text):
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


# --- scoring -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProbeScore:
    """How one language read one crop: letter-weighted mean confidence, letters read,
    and the share of those letters in the language's own script."""

    confidence: float
    letters: int
    own: float


def score_words(words: Iterable[tuple[str, float]], script: str) -> ProbeScore:
    """Score (text, confidence) words read by a language of ``script``."""
    total = weight = own = 0.0
    for text, conf in words:
        n = letters(text)
        if not n or conf < 0:
            continue
        total += conf * n
        weight += n
        own += letters("".join(ch for ch in text if same_script(char_script(ch), script)))
    if not weight:
        return ProbeScore(0.0, 0, 0.0)
    return ProbeScore(round(total / weight, 1), int(weight), round(own / weight, 2))


@dataclass(frozen=True)
class ProbeRule:
    """When a non-Latin reading of a crop beats the Latin one (see :func:`probe_winner`).

    Tuned on drawn signs in ten scripts (dark on light, white on blue) and on the
    shared photos, where textures read as Thai score up to 82 and Latin signs read
    as Cyrillic up to 85 (first pass 77-84, probe's Latin 66-84).
    """

    accept: float = 80.0  # the winner's confidence at least this...
    margin: float = 10.0  # ...and this much over the best Latin reading
    hinted_accept: float = 70.0  # the same where OSD named the winner's script
    hinted_margin: float = 5.0
    hint_bonus: float = 5.0  # added to the hinted script's confidence when ranking
    min_letters: int = 4  # two Han characters; stray Thai marks on textures score 80
    min_own: float = 0.75  # jpn reading Cyrillic as "MockBa" is no evidence of Japanese
    # Models that read other scripts surely: Thai reads Hebrew 80-88, Cyrillic (without
    # rus) 82, textures 82; Thai itself 94-95.
    strict: tuple[tuple[str, float], ...] = (("Thai", 90.0),)


def probe_winner(
    scores: dict[str, ProbeScore],
    hint: str | None,
    first_pass: float = 0.0,
    rule: ProbeRule = ProbeRule(),
) -> str | None:
    """The non-Latin script whose language read a crop clearly better than Latin, if any.

    ``scores`` maps each probed script to its language's reading of the crop;
    ``first_pass`` is the first pass's Latin confidence (configured languages,
    upscaled image); the better of it and the probe's Latin reading must be beaten.
    ``hint`` is the script OSD named for the region: where it names the winner, the
    bar is lower and only the probe's Latin reading counts (Latin models read
    Cyrillic and Greek capitals confidently: "MockBa" 91); it also wins near ties
    (Chinese and Korean models read each other's two-character words).
    """
    latin_score = scores.get("Latin")
    latin = latin_score.confidence if latin_score and latin_score.letters >= 3 else 0.0
    candidates = [
        (score.confidence + (rule.hint_bonus if script == hint else 0.0), script)
        for script, score in scores.items()
        if script != "Latin" and score.letters >= rule.min_letters and score.own >= rule.min_own
    ]
    if not candidates:
        return None
    _, script = max(candidates)
    confidence = scores[script].confidence
    if script == hint:
        accept, margin, beat = rule.hinted_accept, rule.hinted_margin, latin
    else:
        accept, margin, beat = rule.accept, rule.margin, max(latin, first_pass)
    accept = max(accept, dict(rule.strict).get(script, 0.0))
    if confidence >= accept and confidence >= beat + margin:
        return script
    return None


def judge(
    probes: Sequence[Probe],
    readings: dict[str, dict[str, list[Any]]],
    place: Placer,
    hints: Sequence[str | None],
) -> list[str | None]:
    """The script that won each probed crop (None: Latin, or nothing clearly better).

    ``readings`` maps each probed script to its language's reading (TSV as a dict) of
    the sheet that ``place`` locates crops on; ``hints`` are OSD's scripts for the
    crops' regions. A block loses to the lines inside it that another script won.
    """
    scores: list[dict[str, ProbeScore]] = [{} for _ in probes]
    for script, data in readings.items():
        grouped: dict[int, list[tuple[str, float]]] = {}
        for (piece, *_), (_, words) in words_by_line(data, place).items():
            grouped.setdefault(piece, []).extend((t, c) for t, c, _ in join_unspaced(words))
        for i in range(len(probes)):
            scores[i][script] = score_words(grouped.get(i, []), script)
    winners = [
        probe_winner(scores[i], hint, probe.confidence if probe.letters >= 3 else 0.0)
        for i, (probe, hint) in enumerate(zip(probes, hints, strict=True))
    ]
    for i, block in enumerate(probes):
        if not block.is_line and any(
            w and w != winners[i] and line.is_line and inside(line.box, block.box)
            for line, w in zip(probes, winners, strict=True)
        ):
            winners[i] = None
    return winners
