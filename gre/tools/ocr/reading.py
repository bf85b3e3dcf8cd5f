"""One ``ocr`` call's readings: OSD, the plan's readings, the probe and its rereads.

Each region is read in parallel in the readings of its mode's plan
(:data:`PLANS`), one single-threaded tesseract per core. With languages
detected, OSD first finds turned regions (read upright), one more reading
(:data:`LAYOUT`) finds lines for the probe, the lines read unsurely are probed
(:mod:`gre.tools.ocr.probes`) and those another script reads clearly better are
read again with its language; scripts OSD is sure of but no installed pack
reads are reported missing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from PIL import Image

from gre.tools.ocr import tesseract
from gre.tools.ocr.geometry import PixelBox, Region
from gre.tools.ocr.images import prepare, probe_pixels, resize
from gre.tools.ocr.lines import (
    Line,
    Placer,
    conflicts,
    join_unspaced,
    lines_from_data,
    scaled_placer,
    words_by_line,
)
from gre.tools.ocr.probes import (
    PROBE_MAX_LINES,
    Probe,
    Sheet,
    join_fragments,
    judge,
    line_probe,
    pick_probes,
    probe_winner,
    probes_from_data,
    score_words,
    sheet_placer,
)
from gre.tools.ocr.scripts import (
    SCRIPT_LANGUAGES,
    letters,
    probe_languages,
    same_script,
    script_languages,
)
from gre.tools.ocr.tesseract import Osd

if TYPE_CHECKING:
    from gre.tools.ocr.tool import OcrInput

T = TypeVar("T")

ORIENTATION_MIN_CONF = 1.0  # turned drawn signs: 1.1-1.7 (Latin, Cyrillic, Hebrew); false
# turns seen on photos: <= 0.5. Arabic, Devanagari and CJK turns (0.1-0.8) stay unread.
OSD_HINT_CONF = 1.0  # from this confidence OSD's script lowers the probe's bar
OSD_MISSING_CONF = 3.0  # a script without its pack, named this surely, is reported missing
MISSING_LATIN_LETTERS = 20  # ...unless this much sure Latin text was read
WELL_READ = 88.0  # lines the first pass read this surely are not probed (Latin hint)
PROBE_PSM = 11  # sheets of crops of any size: sparse text
REREAD_PSM = 6  # one crop as a block: sparse text splits Hangul syllables into parts


class Reading(NamedTuple):
    """One tesseract pass: an image variant, a page segmentation mode, extra zoom."""

    variant: str
    psm: int
    zoom: float = 1.0


# The readings of each mode, run in parallel. Chosen by recall and junk on the shared
# sign photos and synthetic signs (bench/bench_ocr.py); psm 3 alone misses the
# Louvre's dark fingerposts, psm 11 alone misses clean synthetic panels.
PLANS: dict[str, tuple[Reading, ...]] = {
    "auto": (Reading("otsu", 3), Reading("light", 11)),
    "sparse": (Reading("gray", 11, zoom=1.25), Reading("otsu", 11)),
}
# With languages detected, one more reading finds lines for the probe (its text is not
# kept): Otsu, sparse text, not upscaled. The plans miss dark Chinese, Japanese, Korean
# and Devanagari lines on light panels (psm 3 takes the panel for a picture).
LAYOUT = Reading("otsu", 11, zoom=0.5)


def _hint(osd: Osd | None) -> str | None:
    """The script OSD named, where sure enough to lower the probe's bar."""
    return osd.script if osd and osd.script_confidence >= OSD_HINT_CONF else None


@dataclass
class Run:
    """One call's state."""

    image: Image.Image
    params: OcrInput
    deadline: float
    timeout_s: float  # the tool's time limit, for the message when it is past
    pool: ThreadPoolExecutor
    regions: list[Region]
    languages: list[str]
    missing: list[str]
    osd: dict[int, Osd] = field(default_factory=dict)
    lines: list[Line] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)

    def map(self, calls: Sequence[Callable[[], T]]) -> list[T]:
        """Run calls on the pool (one single-threaded tesseract per core)."""
        return _results([self.pool.submit(call) for call in calls])


def _results(futures: Sequence[Future[T]]) -> list[T]:
    try:
        return [future.result() for future in futures]
    except BaseException:
        for future in futures:
            future.cancel()
        raise


def _read(
    run: Run, region: Region, reading: Reading, lang: str
) -> tuple[list[Line], dict[str, list[Any]], float]:
    """One tesseract reading of one region in one variant: its lines, data and scale."""
    upright = region.pixels(run.image)
    prepared, scale = prepare(upright, reading.variant, crop=region.index >= 0, zoom=reading.zoom)
    if prepared is run.image:  # never hand the shared image to another thread's writer
        prepared = run.image.copy()
    data = tesseract.image_data(prepared, lang, reading.psm, run.deadline, run.timeout_s)
    lines = lines_from_data(data, scaled_placer(region, scale), run.params.min_confidence, lang)
    return lines, data, scale


def read_plan(run: Run, auto: bool) -> None:
    """OSD, then the plan's readings (and LAYOUT), regions OSD found turned upright. With
    languages detected, the lines read unsurely become probe candidates."""
    if auto and tesseract.osd_available():
        found = run.map(
            [
                partial(tesseract.osd, r.pixels(run.image), run.deadline, run.timeout_s)
                for r in run.regions
            ]
        )
        for i, (region, osd) in enumerate(zip(run.regions, found, strict=True)):
            if osd is None:
                continue
            run.osd[region.index] = osd
            if osd.rotate and osd.orientation_confidence >= ORIENTATION_MIN_CONF:
                run.regions[i] = Region(region.index, region.box, osd.rotate)
    lang = "+".join(run.languages)
    plan = sorted(PLANS[run.params.mode], key=lambda g: -g.psm)  # the slow sparse one first
    jobs = [(r, g) for r in run.regions for g in [*plan, *([LAYOUT] if auto else [])]]
    found_lines = run.map([partial(_read, run, r, g, lang) for r, g in jobs])
    for (region, reading), (lines, data, scale) in zip(jobs, found_lines, strict=True):
        if reading != LAYOUT:
            run.lines += lines
        if auto:
            # a non-Latin script named by OSD: Latin readings of it can be sure ("MockBa")
            hint = _hint(run.osd.get(region.index))
            well_read = 101.0 if hint not in (None, "Latin") else WELL_READ
            run.probes += probes_from_data(data, region, scale, well_read)


def probe_scripts(run: Run) -> Sheet | None:
    """Read the unsure lines with one language per script; read again with its language
    those another script reads clearly better. Returns the probe's sheet."""
    installed = tesseract.installed_languages()
    by_script = probe_languages(installed, run.languages)
    picked = pick_probes(join_fragments(run.probes))
    if not picked:
        return None
    upright = {p.region: p.region.pixels(run.image) for p in picked}
    pieces = [(p, probe_pixels(upright[p.region], p)) for p in picked]
    sheet, place = sheet_placer(pieces)
    if len(by_script) < 2:
        return sheet
    scripts = list(by_script)
    readings = run.map(
        [
            partial(
                tesseract.image_data,
                sheet.image,
                by_script[s],
                PROBE_PSM,
                run.deadline,
                run.timeout_s,
            )
            for s in scripts
        ]
    )
    hints = [_hint(run.osd.get(p.region.index)) for p, _ in pieces]
    winners = judge([p for p, _ in pieces], dict(zip(scripts, readings, strict=True)), place, hints)
    latin = "eng" if "eng" in installed else run.languages[0]
    jobs = [
        (w, "+".join(dict.fromkeys([by_script[w], latin])), piece)
        for w, piece in zip(winners, pieces, strict=True)
        if w
    ]
    found = run.map([partial(_reread, run, lang, piece) for _, lang, piece in jobs])
    # where the script's language with Latin beside it reads Latin look-alikes only
    # ("ZKYAOZ" for ΣΚΥΛΟΣ), its language alone reads the crop
    alone = [
        (script, by_script[script], piece)
        for (script, _, piece), lines in zip(jobs, found, strict=True)
        if not any(same_script(ln.script, script) for ln in lines)
    ]
    found_alone = run.map(
        [partial(_reread, run, lang, piece, PROBE_PSM) for _, lang, piece in alone]
    )
    first_pass = list(run.lines)
    for (script, lang, _), lines in [
        *zip(jobs, found, strict=True),
        *zip(alone, found_alone, strict=True),
    ]:
        _replace(run, lang, script, lines, first_pass)
    return sheet


def _reread(
    run: Run, lang: str, piece: tuple[Probe, Image.Image], psm: int = REREAD_PSM
) -> list[Line]:
    """Read one probed crop again with a script's language (plus English)."""
    sheet, place = sheet_placer([piece])
    data = tesseract.image_data(sheet.image, lang, psm, run.deadline, run.timeout_s)
    return lines_from_data(data, place, run.params.min_confidence, lang)


def _replace(run: Run, lang: str, script: str, lines: list[Line], first_pass: list[Line]) -> None:
    """The second reading's lines of the script replace what the first pass read in their
    place (Latin misreadings: "MockBa", "KEVTPO"); among second readings the best wins
    when merged."""
    lines = [ln for ln in lines if same_script(ln.script, script)]
    if lines:
        first = {id(ln) for ln in first_pass}
        run.lines = [
            old
            for old in run.lines
            if id(old) not in first or not any(conflicts(old, new, 0.5) for new in lines)
        ]
        run.lines += lines
        run.languages = list(dict.fromkeys([*run.languages, *lang.split("+")]))


def report_missing(run: Run, sheet: Sheet | None) -> None:
    """Scripts whose language packs are not installed, where OSD names them surely both
    on the region and on the probe's sheet of unsure lines (OSD alone errs on photos),
    unless the text read is mostly sure Latin (the Louvre's signs are "Cyrillic")."""
    sure_latin = sum(
        letters(ln.text) for ln in run.lines if ln.script == "Latin" and ln.confidence >= 85
    )
    if sure_latin >= MISSING_LATIN_LETTERS:
        return
    installed = tesseract.installed_languages()
    suspects = {
        o.script: o.script_confidence
        for o in run.osd.values()
        if o.script_confidence >= OSD_HINT_CONF
        and o.script in SCRIPT_LANGUAGES
        and not script_languages(o.script, installed, run.languages)
    }
    if not suspects or sheet is None:
        return
    again = tesseract.osd(sheet.image, run.deadline, run.timeout_s)
    if again is None or again.script not in suspects:
        return
    if max(again.script_confidence, suspects[again.script]) >= OSD_MISSING_CONF:
        lang = SCRIPT_LANGUAGES[again.script][0]
        run.missing = list(dict.fromkeys([*run.missing, lang]))


LINE_PSM = 11  # one detected line on its own page: sparse text reads it best


def probe_lines(run: Run) -> None:
    """The lines a text detector found but its recogniser read unsurely or as look-alikes:
    each read alone by one language per script; a clear winner's reading replaces the
    recogniser's (ΣΚΥΛΟΣ for "ZKYAOΣ")."""
    installed = tesseract.installed_languages()
    by_script = probe_languages(installed, run.languages)
    picked = sorted((p for p in run.probes if p.core is not None), key=lambda p: -p.area)[
        :PROBE_MAX_LINES
    ]
    if not picked or len(by_script) < 2:
        return
    scripts = list(by_script)
    pieces = [_line_piece(run, p) for p in picked]
    # one call per script with every probed line on its sheet, split by line afterwards
    sheet, place = sheet_placer(pieces)
    calls = [
        partial(
            tesseract.image_data, sheet.image, by_script[s], LINE_PSM, run.deadline, run.timeout_s
        )
        for s in scripts
    ]
    readings = dict(zip(scripts, run.map(calls), strict=True))
    first_pass = list(run.lines)
    min_conf = run.params.min_confidence
    for i, (probe, _) in enumerate(pieces):
        mine = _piece_placer(place, i)
        scores = {s: score_words(_raw_words(data, mine), s) for s, data in readings.items()}
        hint = _hint(run.osd.get(probe.region.index))
        winner = probe_winner(scores, hint, probe.confidence if probe.letters >= 3 else 0.0)
        if winner is not None:
            lines = lines_from_data(readings[winner], mine, min_conf, by_script[winner])
            _replace(run, by_script[winner], winner, lines, first_pass)


def _line_piece(run: Run, probe: Probe) -> tuple[Probe, Image.Image]:
    """A detected line's pixels in black and white, dark text on light, probe-sized."""
    return probe, probe_pixels(probe.region.pixels(run.image), probe)


def _piece_placer(place: Placer, piece: int) -> Placer:
    """``place`` for the boxes of one piece of the sheet only."""

    def only(box: PixelBox) -> tuple[int, Region, PixelBox] | None:
        placed = place(box)
        return placed if placed is not None and placed[0] == piece else None

    return only


def _raw_words(data: dict[str, list[Any]], place: Placer) -> list[tuple[str, float]]:
    """Every word tesseract read, as (text, confidence), unspaced scripts joined."""
    return [
        (text, conf)
        for _, words in words_by_line(data, place).values()
        for text, conf, _ in join_unspaced(words)
    ]


OSD_SIDE = 1600  # OSD reads a copy no larger than this
HINTED_SURE = 95.0  # lines read this surely are not probed on OSD's word (it calls the
# Louvre's signs Cyrillic); a recogniser's look-alike readings of other scripts score 74-84


def scene_hints(run: Run, own_scripts: frozenset[str]) -> None:
    """OSD per region, as a hint for the probe: where it names a script the detector's
    recogniser does not read (Arabic, Hebrew, Thai...), every line it read in that region
    is probed too: its readings of such text look like Latin ("ALCI LAIL")."""
    if not tesseract.osd_available():
        return
    for region in run.regions:
        upright = region.pixels(run.image)
        scale = min(1.0, OSD_SIDE / max(upright.size))
        found = tesseract.osd(
            resize(upright, scale) if scale < 1 else upright, run.deadline, run.timeout_s
        )
        if found is None:
            continue
        run.osd[region.index] = found
        hint = _hint(found)
        if hint is None or hint in own_scripts:
            continue
        probed = {p.core for p in run.probes if p.region == region}
        ox, oy = region.box[:2]
        for line in run.lines:
            if line.region != region.index or line.confidence >= HINTED_SURE:
                continue
            core = (line.box[0] - ox, line.box[1] - oy, line.box[2] - ox, line.box[3] - oy)
            if core not in probed:
                run.probes.append(line_probe(region, core, 0.0, 0))
