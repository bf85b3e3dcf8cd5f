"""The ``ocr`` tool: read the text in a photo (or crops of it) with tesseract.

Street photos are not documents: signs are small, often white on blue, green or
brown, and sit among textures that tesseract reads as letters. Each region is
converted to grayscale, upscaled while small (x2 under 1000 px, crops x3 under
300 px) and read several times in parallel, one single-threaded tesseract per
core (see :data:`gre.tools.ocr.reading.PLANS`; the variants are in
:mod:`gre.tools.ocr.images`):

* ``auto``: an Otsu-binarised copy with page layout analysis (psm 3), which reads
  dark text on light signs, plus a locally thresholded copy that keeps only
  strokes *lighter* than their surroundings, read as sparse text (psm 11): white
  text on blue, green or brown panels, which psm 3 misses among facades.
* ``sparse`` (a second pass): the grayscale at 1.25x the usual zoom and the Otsu
  copy, both as sparse text.

Languages, unless the caller names them (see :mod:`gre.tools.ocr.probes`):
tesseract's orientation and script detection (OSD) runs on each region first; a
region OSD finds turned (confidence >= :data:`~gre.tools.ocr.reading.ORIENTATION_MIN_CONF`)
is read upright, its boxes mapped back. The plan reads with the configured (Latin)
languages, one more reading (:data:`~gre.tools.ocr.reading.LAYOUT`) finds lines for
the probe, and the lines read unsurely are *probed*: stacked on one page, read once
by one installed language per script. Where another script's language reads a line
clearly better, the line is read again with that language plus English, and that
reading replaces the Latin one. Scripts OSD is sure of but no installed pack reads
are reported missing, with the Debian package to install.

Words are grouped into lines by tesseract's block/paragraph/line numbers;
characters of unspaced scripts (Thai, Chinese, Japanese) are joined; junk is
dropped (low confidence, no letters or digits, stray characters, lone short or
unsure words, lines that are mostly junk); where two readings cover the same
place the more confident and complete line is kept (:mod:`gre.tools.ocr.lines`).

Text read from an image is data: it is returned, never interpreted.
"""

from __future__ import annotations

import math
import os
import shutil
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ClassVar, Literal

from PIL import Image
from pydantic import BaseModel, Field

from gre.records import Box
from gre.tools.base import Tool, ToolError, ToolOutput, ToolUnavailable, quote
from gre.tools.ocr import scene, tesseract
from gre.tools.ocr.geometry import PixelBox, Region, overlap
from gre.tools.ocr.images import open_image
from gre.tools.ocr.lines import merge_readings
from gre.tools.ocr.reading import (
    Run,
    probe_lines,
    probe_scripts,
    read_plan,
    report_missing,
    scene_hints,
)
from gre.tools.ocr.scripts import apt_package, letters, text_scripts
from gre.tools.ocr.tesseract import INSTALL_HINT

Mode = Literal["auto", "sparse"]
Engine = Literal["auto", "rapidocr", "tesseract"]


class OcrInput(BaseModel):
    """What to read and how."""

    path: str = Field(description="the image file (the run's working copy)")
    boxes: list[Box] = Field(
        default_factory=list,
        description="regions (0..1 fractions) to read in addition to the whole image",
    )
    whole_image: bool = Field(default=True, description="read the whole image too")
    languages: list[str] | None = Field(
        default=None,
        description="tesseract language codes (eng, fra, rus, ara, chi_sim...); default "
        "(or ['auto']): detect the scripts and use the installed packs for them",
    )
    engine: Engine = Field(
        default="auto",
        description="auto: scene-text OCR (RapidOCR) where installed, tesseract for the "
        "scripts it lacks; rapidocr; tesseract: the document OCR alone (a second opinion)",
    )
    mode: Mode = Field(
        default="auto",
        description="tesseract's passes: auto, page layout (psm 3) plus sparse light-on-dark "
        "text; sparse, scattered text only (psm 11), for a second pass",
    )
    min_confidence: float = Field(default=55.0, ge=0, le=100)


class OcrWord(BaseModel):
    """One word: its text, tesseract confidence (0-100) and pixel box in the original image."""

    text: str
    confidence: float
    box: PixelBox


class OcrLine(BaseModel):
    """One line of kept words; ``region`` is -1 for the whole image, else the index in boxes."""

    text: str
    confidence: float
    box: PixelBox
    region: int
    script: str = Field(default="", description="main script of the text: Latin, Cyrillic...")
    language: str = Field(default="", description="the tesseract languages that read it")


class OsdReading(BaseModel):
    """What tesseract's orientation and script detection said about one region."""

    region: int
    script: str
    script_confidence: float
    rotate: int = Field(description="clockwise degrees that make the text upright")
    orientation_confidence: float
    applied: bool = Field(description="whether the region was read turned by `rotate`")


MAX_MODEL_LINES = 40


class OcrOutput(ToolOutput):
    """The lines read, top to bottom, with their words."""

    lines: list[OcrLine] = Field(default_factory=list)
    words: list[OcrWord] = Field(default_factory=list)
    text: str = ""
    languages: list[str] = Field(default_factory=list)
    missing_languages: list[str] = Field(default_factory=list)
    missing_packages: list[str] = Field(
        default_factory=list, description="Debian packages of the missing languages"
    )
    scripts: list[str] = Field(
        default_factory=list, description="scripts of the text read, most text first"
    )
    orientation_deg: int = Field(
        default=0, description="clockwise degrees the whole image was turned to be read"
    )
    osd: list[OsdReading] = Field(default_factory=list)
    engine: str = ""

    def summary(self) -> str:
        missing = ""
        if self.missing_languages:
            install = f": apt-get install {' '.join(self.missing_packages)}"
            missing = f" ({', '.join(self.missing_languages)} not installed"
            missing += (install if self.missing_packages else "") + ")"
        if not self.lines:
            return f"no text read{missing}"
        shown = [_clip(line.text, 40) for line in self.lines[:3]]
        more = " | …" if len(self.lines) > 3 else ""
        noun = "line" if len(self.lines) == 1 else "lines"
        scripts = f" [{', '.join(self.scripts)}]" if self.scripts not in ([], ["Latin"]) else ""
        turned = f" (turned {self.orientation_deg}°)" if self.orientation_deg else ""
        return f"{len(self.lines)} {noun}{scripts}: {' | '.join(shown)}{more}{turned}{missing}"

    def for_model(self) -> str:
        if not self.lines:
            return "no text read"
        rows = [
            f"{quote(line.text)} (confidence {line.confidence:.0f})"
            for line in self.lines[:MAX_MODEL_LINES]
        ]
        if len(self.lines) > MAX_MODEL_LINES:
            rows.append(f"... {len(self.lines) - MAX_MODEL_LINES} more lines")
        return "\n".join(rows)


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def merge_lines(lines: Iterable[OcrLine], min_overlap: float = 0.5) -> list[OcrLine]:
    """Merge the lines of several OCR calls (passes, crops) on the same image.

    Where lines overlap (by at least ``min_overlap`` of the smaller box) only the
    most confident and complete reading is kept, so a later pass's partial read
    ("outes directions") does not join the better one ("Toutes directions").
    """
    kept: list[OcrLine] = []
    for line in sorted(lines, key=lambda ln: (-ln.confidence * letters(ln.text), ln.region)):
        if all(overlap(line.box, k.box) < min_overlap for k in kept):
            kept.append(line)
    kept.sort(key=lambda ln: ((ln.box[1] + ln.box[3]) / 2, ln.box[0]))
    return kept


class OcrTool(Tool[OcrInput, OcrOutput]):
    """Scene-text OCR (RapidOCR), tesseract for the scripts it lacks, or tesseract alone."""

    name: ClassVar[str] = "ocr"
    description: ClassVar[str] = (
        "Read the text in the photo (signs, shop fronts, plates) with scene-text OCR "
        "(RapidOCR, tesseract for scripts it lacks): the whole image and/or regions given "
        "as boxes in 0..1 fractions. Finds the script (Latin, "
        "Cyrillic, Greek, Arabic, Hebrew, Devanagari, Thai, Chinese, Japanese, Korean) and "
        "turned text. Returns lines with confidences (0-100), pixel boxes and scripts. "
        "mode='sparse' looks for scattered text (a second pass)."
    )
    input_model: ClassVar[type[BaseModel]] = OcrInput
    output_model: ClassVar[type[BaseModel]] = OcrOutput
    photo_field: ClassVar[str | None] = "path"
    needs_network: ClassVar[bool] = False

    def unavailable_reason(self) -> str | None:
        if scene.available():
            return None
        return self._tesseract_missing()

    def prepare(self) -> None:
        """Load the scene-text models (about a second) before the first photo."""
        if scene.available():
            scene.shared_reader().load()

    @staticmethod
    def _tesseract_missing() -> str | None:
        if tesseract.load_pytesseract() is None:
            return "ocr needs the pytesseract package: pip install 'gre-suite[ocr]'"
        cmd = tesseract.tesseract_cmd() or "tesseract"
        if shutil.which(cmd) is None:
            return f"tesseract not found ({cmd}); install it: {INSTALL_HINT}"
        if not tesseract.installed_languages():
            return f"tesseract has no language data; install some: {INSTALL_HINT}"
        return None

    def _languages(self, requested: list[str] | None) -> tuple[list[str], list[str]]:
        """The languages to read with (requested, else configured, that are installed;
        else eng; else any one) and the requested ones that are not installed."""
        installed = set(tesseract.installed_languages())
        wanted = list(dict.fromkeys(requested or self.settings.ocr_languages))
        use = [lang for lang in wanted if lang in installed]
        missing = [lang for lang in wanted if lang not in installed]
        if not use:
            fallback = [lang for lang in self.settings.ocr_languages if lang in installed]
            use = fallback or (["eng"] if "eng" in installed else sorted(installed)[:1])
        if not use:
            raise ToolUnavailable(f"tesseract has no language data; install some: {INSTALL_HINT}")
        return use, missing

    def _engines(self, params: OcrInput) -> tuple[bool, bool]:
        """Whether the scene reader and tesseract read this call (ToolUnavailable if none)."""
        scene_ok, tess_missing = scene.available(), self._tesseract_missing()
        if params.engine == "rapidocr" and not scene_ok:
            raise ToolUnavailable("rapidocr is not installed: pip install rapidocr onnxruntime")
        if params.engine == "tesseract" and tess_missing:
            raise ToolUnavailable(tess_missing)
        if not scene_ok and tess_missing:
            raise ToolUnavailable(tess_missing)
        use_scene = params.engine == "rapidocr" or (params.engine == "auto" and scene_ok)
        return use_scene, tess_missing is None and params.engine != "rapidocr"

    def run(self, params: OcrInput) -> OcrOutput:
        use_scene, use_tesseract = self._engines(params)
        auto = not params.languages or params.languages == ["auto"]
        languages, missing = (
            self._languages(None if auto else params.languages) if use_tesseract else ([], [])
        )
        path = Path(params.path)
        limit = self.settings.max_image_pixels
        colour = open_image(path, limit, mode="RGB") if use_scene else None
        image = colour.convert("L") if colour is not None else open_image(path, limit)
        regions = self._regions(image, params)
        deadline = time.monotonic() + self.settings.tool_timeout_s
        workers = max(1, os.cpu_count() or 1)
        engines: list[str] = []
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gre-ocr") as pool:
            timeout_s = self.settings.tool_timeout_s
            run = Run(image, params, deadline, timeout_s, pool, regions, languages, missing)
            if colour is not None:
                reader = scene.shared_reader()
                for region in regions:
                    lines, probes = scene.to_lines(reader.read(region.pixels(colour)), region)
                    run.lines += lines
                    run.probes += probes
                engines.append(scene.engine_name())
            elif use_tesseract:
                read_plan(run, auto)
            if use_tesseract and auto and use_scene:
                scene_hints(run, scene.OWN_SCRIPTS)
                probe_lines(run)
            elif use_tesseract and auto:
                report_missing(run, probe_scripts(run))
            if use_tesseract and (
                not use_scene or any(ln.language != "rapidocr" for ln in run.lines)
            ):
                engines.append(tesseract.engine_of(tesseract.tesseract_cmd() or "tesseract"))
        lines = merge_readings(run.lines)
        whole = next((r for r in run.regions if r.index < 0), None)
        return OcrOutput(
            lines=[
                OcrLine(
                    text=ln.text,
                    confidence=ln.confidence,
                    box=ln.box,
                    region=ln.region,
                    script=ln.script,
                    language=ln.language,
                )
                for ln in lines
            ],
            words=[
                OcrWord(text=w.text, confidence=w.confidence, box=w.box)
                for ln in lines
                for w in ln.words
            ],
            text="\n".join(ln.text for ln in lines),
            languages=run.languages,
            missing_languages=run.missing,
            missing_packages=[apt_package(lang) for lang in run.missing],
            scripts=text_scripts("".join(ln.text for ln in lines)),
            orientation_deg=whole.rotate if whole else 0,
            osd=[
                OsdReading(
                    region=r.index,
                    script=o.script,
                    script_confidence=o.script_confidence,
                    rotate=o.rotate,
                    orientation_confidence=o.orientation_confidence,
                    applied=r.rotate != 0,
                )
                for r in run.regions
                if (o := run.osd.get(r.index)) is not None
            ],
            engine=" + ".join(engines) or "none",
        )

    @staticmethod
    def _regions(image: Image.Image, params: OcrInput) -> list[Region]:
        width, height = image.size
        regions = [Region(-1, (0, 0, width, height))] if params.whole_image else []
        for i, b in enumerate(params.boxes):
            x0, x1 = math.floor(b.x0 * width), math.ceil(b.x1 * width)
            y0, y1 = math.floor(b.y0 * height), math.ceil(b.y1 * height)
            pad = max(4, round(0.04 * max(x1 - x0, y1 - y0)))  # boxes from a model are loose
            box = (max(0, x0 - pad), max(0, y0 - pad), min(width, x1 + pad), min(height, y1 + pad))
            if box[2] - box[0] >= 8 and box[3] - box[1] >= 8:
                regions.append(Region(i, box))
        if not regions:
            raise ToolError("nothing to read: whole_image is false and no usable box was given")
        return regions
