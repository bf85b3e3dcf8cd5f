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

This module is the probe without tesseract: its candidates (the lines the first
pass read less surely, pieces of one line joined), the sheet they are stacked
on, and the scoring of each language's reading. The tesseract calls are in
:mod:`gre.tools.ocr.reading`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from PIL import Image

from gre.tools.ocr.geometry import PixelBox, Region, inside, union
from gre.tools.ocr.lines import Placer, join_unspaced, words_by_line
from gre.tools.ocr.scripts import char_script, letters, same_script

# The probe's candidates: lines (tesseract's level 4) the first pass read less surely.
PROBE_MAX_LINES = 4  # crops per sheet, lines (largest first) before blocks
PROBE_LINE_PX = 40  # probed lines are scaled to this height (their text, without margin)
PROBE_PAD = 0.25  # of a line's height, added around it: boxes of unread scripts are tight
PROBE_BLOCK_PIXELS = 150_000  # cap on one probed block (a region with no line read in it)
PROBE_SHEET_PIXELS = 160_000  # cap on a sheet: every probed language reads all of it
LINE_MAX_SHARE = 0.25  # of the region's height: a taller "line" is probed as a block
MAX_REGION_SHARE = 0.8  # a candidate covering more of its region is the whole photo
SHEET_GAP = 32  # px between crops on a sheet: more than word and line gaps at 48 px


@dataclass(frozen=True)
class Probe:
    """A line (or textless block) of a region that the first pass did not read well."""

    region: Region
    box: PixelBox  # in the upright region's pixels, margin included
    confidence: float  # of the first pass's reading (letter-weighted)...
    letters: int  # ...of this many letters
    is_line: bool  # tesseract read words in a line-sized box (else a block)
    core: PixelBox | None = None  # a detector's line box, without the margin

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


def line_probe(region: Region, core: PixelBox, confidence: float, n: int) -> Probe:
    """A probe of a line a detector found (``core``, in the upright region's pixels), its
    margin added."""
    rw, rh = region.upright_size
    pad = PROBE_PAD * (core[3] - core[1])
    box = (
        max(0, math.floor(core[0] - pad)),
        max(0, math.floor(core[1] - pad)),
        min(rw, math.ceil(core[2] + pad)),
        min(rh, math.ceil(core[3] + pad)),
    )
    return Probe(region, box, confidence, n, True, core=core)


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


def same_line(a: PixelBox, b: PixelBox) -> bool:
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
        if lines[i].region == lines[j].region and same_line(lines[i].box, lines[j].box):
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
