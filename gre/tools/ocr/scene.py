"""Scene text with RapidOCR: PP-OCR detection, orientation and recognition on the CPU.

Tesseract is a document OCR: it misses most text in photos (curved, small, coloured, at
an angle). RapidOCR's detector finds text boxes in photos; its recogniser (the ONNX models
in the ``rapidocr`` wheel, nothing downloaded) reads Latin, Chinese and Japanese. Lines in
scripts it lacks come out as look-alikes ("NPOΣOXH" for ΠΡΟΣΟΧΗ) or unsure: those are
handed to tesseract's script probe (:func:`gre.tools.ocr.reading.probe_scripts`), which
reads each such crop with the installed pack of every script and keeps a clear winner.

Detection runs on a copy whose long side is at most :data:`DETECT_SIDE` pixels, so a 12 MP
photo costs about as much as a small one; a line read small there is read again from the
full-resolution crop, and the surer reading is kept.
"""

from __future__ import annotations

import importlib.util
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from PIL import Image

from gre.tools.ocr.geometry import PixelBox, Region, union
from gre.tools.ocr.lines import Line, Word, unspaced_join
from gre.tools.ocr.probes import Probe, line_probe, same_line
from gre.tools.ocr.scripts import char_script, letters, line_script, same_script

DETECT_SIDE = 1600
"""Long side of the copy text is detected on (and read, unless a line is small there)."""
SMALL_LINE_PX = 24
"""A line this short on the detection copy is read again from the full-resolution crop."""
MIN_SCORE = 0.5
"""Lines the recogniser reads less surely than this are dropped (unless probed)."""
MIN_LETTERS = 3
"""A line needs this many letters or digits (a Han character counts two): a lone "穴" is a
pictogram read as text."""
SURE_SCORE = 0.85
"""Below this a line is probed: another script may read it better."""
PROBE_SCORE = 0.3
"""Even unsure readings this low are probed: Hangul, Cyrillic come out as junk."""
SCENE_LANGUAGE = "rapidocr"
"""What the lines the recogniser read carry as their language (tesseract's carry a pack)."""
OWN_SCRIPTS = frozenset({"Latin", "Han", "Japanese"})
"""What the recogniser reads; letters of any other script in a line are look-alikes."""


def available() -> bool:
    """True when RapidOCR and its ONNX runtime are installed."""
    return all(importlib.util.find_spec(m) is not None for m in ("rapidocr", "onnxruntime"))


def engine_name() -> str:
    """The engine as the trace names it, e.g. ``rapidocr 3.10.0``."""
    try:
        return f"rapidocr {version('rapidocr')}"
    except PackageNotFoundError:
        return "rapidocr"


@dataclass(frozen=True)
class SceneLine:
    """One line the recogniser read: text, score (0..1), box in the region's pixels."""

    text: str
    score: float
    box: PixelBox


class SceneReader:
    """One RapidOCR engine per process, loaded on first use; calls are serialised."""

    def __init__(self) -> None:
        self._engine: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Load the models (about a second); quietly: RapidOCR logs are not gre's output."""
        with self._lock:
            if self._engine is None:
                from rapidocr import RapidOCR

                self._engine = RapidOCR(
                    params={"Global.log_level": "critical", "Global.text_score": PROBE_SCORE}
                )

    def read(self, image: Image.Image) -> list[SceneLine]:
        """The lines of an upright RGB image, boxes in its own pixels."""
        self.load()
        scale = min(1.0, DETECT_SIDE / max(image.size))
        small = (
            image
            if scale == 1.0
            else image.resize(
                (max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                Image.Resampling.LANCZOS,
            )
        )
        with self._lock:  # the engine keeps each call's switches: say them every time
            found = self._engine(small, use_det=True, use_cls=True, use_rec=True)
        lines: list[SceneLine] = []
        for quad, text, score in zip(
            found.boxes if found.boxes is not None else [],
            found.txts or (),
            found.scores or (),
            strict=False,
        ):
            box = _bbox(quad, 1.0 / scale, image.size)
            line = SceneLine(str(text).strip(), float(score), box)
            if scale < 1.0 and (box[3] - box[1]) * scale < SMALL_LINE_PX:
                line = self._reread(image, line)
            if line.text:
                lines.append(line)
        return lines

    def _reread(self, image: Image.Image, line: SceneLine) -> SceneLine:
        """A small line read again from the full-resolution crop; the surer reading wins."""
        crop = image.crop(line.box)
        with self._lock:
            found = self._engine(crop, use_det=False, use_cls=True, use_rec=True)
        texts, scores = found.txts or (), found.scores or ()
        if texts and scores and float(scores[0]) > line.score:
            return SceneLine(str(texts[0]).strip(), float(scores[0]), line.box)
        return line


@cache
def shared_reader() -> SceneReader:
    """The process's one reader (the models are loaded once)."""
    return SceneReader()


def _bbox(quad: Any, factor: float, size: tuple[int, int]) -> PixelBox:
    xs = [float(p[0]) * factor for p in quad]
    ys = [float(p[1]) * factor for p in quad]
    return (
        max(0, math.floor(min(xs))),
        max(0, math.floor(min(ys))),
        min(size[0], math.ceil(max(xs))),
        min(size[1], math.ceil(max(ys))),
    )


def foreign(text: str) -> bool:
    """Letters of a script the recogniser does not read: a look-alike reading."""
    return any((s := char_script(ch)) is not None and s not in OWN_SCRIPTS for ch in text)


def joined(found: Sequence[SceneLine]) -> list[SceneLine]:
    """Boxes side by side on one text line, joined left to right: the detector splits a line
    of widely spaced large letters into words ("Casino" "de" "Monte-Carlo")."""
    out: list[SceneLine] = []
    for line in sorted(found, key=lambda s: (s.box[0], s.box[1])):
        left = next((o for o in reversed(out) if same_line(o.box, line.box)), None)
        if (
            left is None
            or left.box[2] > line.box[0] + (line.box[3] - line.box[1])
            or _stray_beside(left.text, line.text)
        ):
            out.append(line)
            continue
        gap = "" if unspaced_join(left.text, line.text) else " "
        n, m = letters(left.text), letters(line.text)
        score = (left.score * n + line.score * m) / max(1, n + m)
        out[out.index(left)] = SceneLine(
            left.text + gap + line.text, score, union([left.box, line.box])
        )
    return sorted(out, key=lambda s: ((s.box[1] + s.box[3]) / 2, s.box[0]))


def _stray_beside(a: str, b: str) -> bool:
    """A short piece in another script than its neighbour: an arrow or pictogram read as a
    character ("穴" beside "Palais du LOUVRE"), not part of the line."""
    short = min(letters(a), letters(b)) < MIN_LETTERS
    return short and not same_script(line_script(a), line_script(b))


def to_lines(found: Sequence[SceneLine], region: Region) -> tuple[list[Line], list[Probe]]:
    """Kept lines (boxes in the original image) and the unsure ones to probe with tesseract."""
    lines: list[Line] = []
    probes: list[Probe] = []
    for scene in joined(found):
        odd = foreign(scene.text)
        if odd or scene.score < SURE_SCORE:
            # a look-alike reading is no Latin confidence to beat; an unsure one is
            confidence, n = (0.0, 0) if odd else (scene.score * 100, letters(scene.text))
            probes.append(line_probe(region, scene.box, confidence, n))
        if scene.score < MIN_SCORE or odd or letters(scene.text) < MIN_LETTERS:
            continue
        box = region.to_original(scene.box)
        confidence = round(scene.score * 100, 1)
        words = [Word(w, confidence, box) for w in scene.text.split()]
        if words:
            lines.append(
                Line(
                    region.index,
                    words,
                    " ".join(w.text for w in words),
                    confidence,
                    box,
                    "rapidocr",
                )
            )
    return lines, probes
