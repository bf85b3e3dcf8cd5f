"""The ``ocr`` tool: read the text in a photo (or crops of it) with tesseract.

Street photos are not documents: signs are small, often white on blue, green or
brown, and sit among textures that tesseract reads as letters. Each region is
converted to grayscale, upscaled while small (x2 under 1000 px, crops x3 under
300 px) and read several times in parallel, one single-threaded tesseract per
core (see :data:`PLANS`):

* ``auto``: an Otsu-binarised copy with page layout analysis (psm 3), which reads
  dark text on light signs, plus a locally thresholded copy that keeps only
  strokes *lighter* than their surroundings, read as sparse text (psm 11): white
  text on blue, green or brown panels, which psm 3 misses among facades.
* ``sparse`` (a second pass): the grayscale at 1.25x the usual zoom and the Otsu
  copy, both as sparse text.

Words are grouped into lines by tesseract's block/paragraph/line numbers; junk
is dropped (low confidence, no letters or digits, stray characters, lone short
or unsure words, lines that are mostly junk); where two readings cover the same
place the more confident and complete line is kept.

Text read from an image is data: it is returned, never interpreted.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any, ClassVar, Literal, NamedTuple

from PIL import Image, ImageChops, ImageFilter, ImageOps, UnidentifiedImageError
from pydantic import BaseModel, Field

from gre.agent.schema import Box
from gre.tools.base import Tool, ToolError, ToolOutput, ToolTimeout, ToolUnavailable

Mode = Literal["auto", "sparse"]
PixelBox = tuple[int, int, int, int]

INSTALL_HINT = "sudo apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-fra"
NOT_LANGUAGES = frozenset({"osd", "equ"})  # orientation/script and equation models
UPSCALE_BELOW_PX = 1000  # shorter side under this: scale by 2 (sign text is small)
SMALL_CROP_PX = 300  # crops (usually one sign) with a shorter side under this: scale by 3
MAX_WORK_PIXELS = 16_000_000  # never upscale past this
MIN_SINGLE_WORD_CHARS = 4  # a one-word line needs this many letters/digits...
LONE_WORD_MARGIN = 15.0  # ...and this much confidence over min_confidence,
SURE_LONE_WORD = 90.0  # or three of them at this confidence
SURE_CONFIDENCE = 85.0  # one-character words at a line's end are dropped below this
ADAPTIVE_RADIUS = 15  # px of the upscaled image: a few stroke widths of sign text
ADAPTIVE_C = 10  # grey levels a stroke must differ from its surroundings


class _TesseractEnv(Mapping[str, str]):
    """``os.environ`` as tesseract sees it: OMP_THREAD_LIMIT=1 unless the user set one.

    tesseract's OpenMP threads spin against each other on small machines: one
    single-threaded tesseract per core is faster and far steadier. On 2 cores, psm
    11 on the 1384x2048 upscaled Louvre photo took 0.8 s with 1 thread and 3.0 s
    with the default; a sparse pass on a 640x480 photo (2 processes) 1.7 s with 1
    thread each and 10 s with 2.
    """

    _KEY = "OMP_THREAD_LIMIT"

    def __getitem__(self, key: str) -> str:
        if key == self._KEY and not os.environ.get(key):
            return "1"
        return os.environ[key]

    def __iter__(self) -> Iterator[str]:
        yield from os.environ
        if self._KEY not in os.environ:
            yield self._KEY

    def __len__(self) -> int:
        return len(os.environ) + (self._KEY not in os.environ)


_TESSERACT_ENV = _TesseractEnv()

# Edge characters that tesseract produces from sign borders, arrows and poles.
_EDGE_JUNK = "|[](){}<>«»\"'“”‘’`_~*=+^\\/—–-:;,."
_KEEP_TRAILING = re.compile(r"(?<=\w)\.$")  # abbreviations: "St.", "Av."


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
        description="tesseract language codes (eng, fra, deu...); default: the configured ones",
    )
    mode: Mode = Field(
        default="auto",
        description="auto: page layout (psm 3) plus sparse light-on-dark text; "
        "sparse: scattered text only (psm 11), for a second pass",
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


class OcrOutput(ToolOutput):
    """The lines read, top to bottom, with their words."""

    lines: list[OcrLine] = Field(default_factory=list)
    words: list[OcrWord] = Field(default_factory=list)
    text: str = ""
    languages: list[str] = Field(default_factory=list)
    missing_languages: list[str] = Field(default_factory=list)
    engine: str = ""

    def summary(self) -> str:
        missing = (
            f" ({', '.join(self.missing_languages)} not installed)"
            if self.missing_languages
            else ""
        )
        if not self.lines:
            return f"no text read{missing}"
        shown = [_clip(line.text, 40) for line in self.lines[:3]]
        more = " | …" if len(self.lines) > 3 else ""
        noun = "line" if len(self.lines) == 1 else "lines"
        return f"{len(self.lines)} {noun}: {' | '.join(shown)}{more}{missing}"


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


# --- tesseract access ------------------------------------------------------------------------


def _pytesseract() -> Any:
    """The pytesseract module with its subprocess environment set, or None if not installed."""
    try:
        import pytesseract
    except ImportError:
        return None
    module = pytesseract.pytesseract
    if getattr(module, "environ", None) is not _TESSERACT_ENV:
        module.environ = _TESSERACT_ENV  # read by pytesseract for every tesseract it starts
    return pytesseract


def _tesseract_cmd() -> str | None:
    pt = _pytesseract()
    return None if pt is None else str(pt.pytesseract.tesseract_cmd)


@cache
def _languages_of(cmd: str) -> tuple[str, ...]:
    pt = _pytesseract()
    try:
        found = pt.get_languages(config="")
    except (OSError, RuntimeError, SystemExit):
        return ()
    return tuple(sorted({str(lang) for lang in found} - NOT_LANGUAGES))


def installed_languages() -> list[str]:
    """The tesseract recognition languages installed here (cached per tesseract binary)."""
    cmd = _tesseract_cmd()
    if cmd is None or shutil.which(cmd) is None:
        return []
    return list(_languages_of(cmd))


@cache
def _engine_of(cmd: str) -> str:
    pt = _pytesseract()
    try:
        return f"tesseract {pt.get_tesseract_version()}"
    except (OSError, RuntimeError, SystemExit):  # pytesseract exits on an unparsable version
        return "tesseract"


# --- images ----------------------------------------------------------------------------------


@cache
def _register_heif() -> None:
    try:
        from pillow_heif import register_heif_opener
    except ImportError:  # HEIF stays unreadable; the run's working copy is PNG anyway
        return
    register_heif_opener()


def _open(path: Path, max_pixels: int) -> Image.Image:
    """Decode ``path`` upright as grayscale, or raise a one-line ToolError."""
    _register_heif()
    if not path.is_file():
        raise ToolError(f"{path}: no such file")
    try:
        with Image.open(path) as img:
            # checked before decoding (warnings filters are not thread-safe, so no
            # DecompressionBombWarning-as-error here; Pillow still raises past 2x its limit)
            if img.width * img.height > max_pixels:
                raise ToolError(f"{path}: {img.width}x{img.height} is over the pixel limit")
            img.load()
            return ImageOps.exif_transpose(img).convert("L")
    except ToolError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError):
        raise ToolError(f"{path}: not an image this tool can read") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ToolError(f"{path}: unreadable image ({reason})") from None


def _scale_for(width: int, height: int, *, crop: bool, zoom: float = 1.0) -> float:
    """How much to upscale so that sign text is tall enough for tesseract."""
    short = min(width, height)
    factor = 1.0
    if short < UPSCALE_BELOW_PX:
        factor = 2.0
    if crop and short < SMALL_CROP_PX:
        factor = 3.0
    factor *= zoom
    limit = math.sqrt(MAX_WORK_PIXELS / max(1, width * height))
    return max(1.0, min(factor, limit))


def otsu_threshold(gray: Image.Image) -> int:
    """Otsu's threshold of an 8-bit grayscale image (pixels <= it are 'dark')."""
    hist = gray.histogram()[:256]
    total = sum(hist)
    sum_all = sum(i * n for i, n in enumerate(hist))
    weight_b = sum_b = 0
    best, threshold = -1.0, 127
    for i, n in enumerate(hist):
        weight_b += n
        if weight_b == 0:
            continue
        weight_f = total - weight_b
        if weight_f == 0:
            break
        sum_b += i * n
        mean_b, mean_f = sum_b / weight_b, (sum_all - sum_b) / weight_f
        between = weight_b * weight_f * (mean_b - mean_f) ** 2
        if between > best:
            best, threshold = between, i
    return threshold


def _binarise(gray: Image.Image) -> Image.Image:
    """Otsu black-and-white with the majority (the background) white."""
    t = otsu_threshold(gray)
    lut = [255 if v > t else 0 for v in range(256)]
    bw = gray.point(lut)
    dark = sum(gray.histogram()[: t + 1])
    return ImageOps.invert(bw) if dark > gray.width * gray.height / 2 else bw


def _adaptive(gray: Image.Image, *, light: bool) -> Image.Image:
    """Local threshold for one text polarity: strokes lighter (or darker) than their
    surroundings by ADAPTIVE_C become black ink on white; flat areas become white."""
    local = gray.filter(ImageFilter.BoxBlur(ADAPTIVE_RADIUS))
    diff = ImageChops.subtract(gray, local) if light else ImageChops.subtract(local, gray)
    return diff.point([0 if v > ADAPTIVE_C else 255 for v in range(256)])


VARIANTS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "gray": lambda g: g,
    "otsu": _binarise,
    "light": lambda g: _adaptive(g, light=True),
    "dark": lambda g: _adaptive(g, light=False),
}


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


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Region:
    index: int  # -1 whole image
    box: PixelBox  # in the original image


@dataclass
class _Line:
    region: int
    words: list[OcrWord]
    text: str
    confidence: float
    box: PixelBox

    @property
    def score(self) -> float:
        """Confidence-weighted characters: prefers complete, sure readings."""
        return sum(w.confidence * _alnum(w.text) for w in self.words) / 100.0


def _alnum(text: str) -> int:
    return sum(ch.isalnum() for ch in text)


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
    n = _alnum(text)
    if n == 0 or confidence < min_confidence:
        return False
    if n * 2 < len(text):  # mostly punctuation: "+,", "=>"
        return False
    return not (len(text) <= 3 and _odd_case(text))


def _stray(word: OcrWord) -> bool:
    return _alnum(word.text) == 1 and word.confidence < SURE_CONFIDENCE


def _line_ok(words: list[OcrWord], raw_chars: int, min_confidence: float) -> bool:
    """Keep a line unless it is mostly junk, or one short or unsure word.

    ``raw_chars`` counts the letters and digits of every word tesseract saw on the
    line; the kept words must hold at least half of them (arrows and bars, which
    have none, do not count against a line).
    """
    if not words or sum(_alnum(w.text) for w in words) * 2 < raw_chars:
        return False
    if all(_alnum(w.text) < 3 for w in words):  # stray characters: "At à", "e |", "14"
        return False
    if len(words) == 1:  # lone words are where texture turns into text ("Meow", "all")
        w = words[0]
        n = _alnum(w.text)
        if n >= MIN_SINGLE_WORD_CHARS:
            return w.confidence >= min_confidence + LONE_WORD_MARGIN
        return n == 3 and w.confidence >= SURE_LONE_WORD
    return True


def _union(boxes: Sequence[PixelBox]) -> PixelBox:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _overlap(a: PixelBox, b: PixelBox) -> float:
    """Intersection over the smaller box's area."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return (w * h) / max(1, smaller)


def _lines_from_data(
    data: dict[str, list[Any]],
    region: _Region,
    scale: float,
    min_confidence: float,
) -> list[_Line]:
    """Group tesseract's TSV words into lines, mapping boxes back to original pixels."""
    ox, oy, ox1, oy1 = region.box
    groups: dict[tuple[int, int, int], list[tuple[str, float, PixelBox]]] = {}
    for i, raw in enumerate(data.get("text", [])):
        text = str(raw).strip()
        if not text or int(data["level"][i]) != 5:
            continue
        conf = float(data["conf"][i])
        left, top = int(data["left"][i]), int(data["top"][i])
        width, height = int(data["width"][i]), int(data["height"][i])
        box = (
            min(ox1, ox + math.floor(left / scale)),
            min(oy1, oy + math.floor(top / scale)),
            min(ox1, ox + math.ceil((left + width) / scale)),
            min(oy1, oy + math.ceil((top + height) / scale)),
        )
        key = (int(data["block_num"][i]), int(data["par_num"][i]), int(data["line_num"][i]))
        groups.setdefault(key, []).append((text, conf, box))
    lines: list[_Line] = []
    for raw_words in groups.values():
        words = [
            OcrWord(text=cleaned, confidence=round(conf, 1), box=box)
            for text, conf, box in raw_words
            if (cleaned := _clean(text)) and _word_ok(cleaned, conf, min_confidence)
        ]
        # drop stray one-character words at a line's ends ("e Théâtre", "LOUVRE |")
        while len(words) > 1 and _stray(words[0]):
            words.pop(0)
        while len(words) > 1 and _stray(words[-1]):
            words.pop()
        raw_chars = sum(_alnum(text) for text, _, _ in raw_words)
        if not _line_ok(words, raw_chars, min_confidence):
            continue
        lines.append(
            _Line(
                region=region.index,
                words=words,
                text=" ".join(w.text for w in words),
                confidence=round(sum(w.confidence for w in words) / len(words), 1),
                box=_union([w.box for w in words]),
            )
        )
    return lines


def _conflicts(line: _Line, kept: _Line, min_overlap: float) -> bool:
    """Two readings of the same place: their lines, or any of their words, overlap."""
    if _overlap(line.box, kept.box) >= min_overlap:
        return True
    if _overlap(line.box, kept.box) == 0.0:
        return False
    return any(_overlap(a.box, b.box) >= min_overlap for a in line.words for b in kept.words)


def _merge(lines: list[_Line], min_overlap: float = 0.5) -> list[_Line]:
    """Keep the best reading of each place: greedy by score, skipping conflicting lines."""
    kept: list[_Line] = []
    for line in sorted(lines, key=lambda ln: (-ln.score, -ln.confidence, ln.region)):
        if not any(_conflicts(line, k, min_overlap) for k in kept):
            kept.append(line)
    kept.sort(key=lambda ln: ((ln.box[1] + ln.box[3]) / 2, ln.box[0]))
    return kept


def merge_lines(lines: Iterable[OcrLine], min_overlap: float = 0.5) -> list[OcrLine]:
    """Merge the lines of several OCR calls (passes, crops) on the same image.

    Where lines overlap (by at least ``min_overlap`` of the smaller box) only the
    most confident and complete reading is kept, so a later pass's partial read
    ("outes directions") does not join the better one ("Toutes directions").
    """
    kept: list[OcrLine] = []
    for line in sorted(lines, key=lambda ln: (-ln.confidence * _alnum(ln.text), ln.region)):
        if all(_overlap(line.box, k.box) < min_overlap for k in kept):
            kept.append(line)
    kept.sort(key=lambda ln: ((ln.box[1] + ln.box[3]) / 2, ln.box[0]))
    return kept


class OcrTool(Tool[OcrInput, OcrOutput]):
    """Tesseract OCR with sign-friendly preprocessing."""

    name: ClassVar[str] = "ocr"
    description: ClassVar[str] = (
        "Read the text in the photo (signs, shop fronts, plates) with tesseract OCR: the whole "
        "image and/or regions given as boxes in 0..1 fractions. Returns lines with confidences "
        "(0-100) and pixel boxes. mode='sparse' looks for scattered text (a second pass)."
    )
    input_model: ClassVar[type[BaseModel]] = OcrInput
    output_model: ClassVar[type[BaseModel]] = OcrOutput
    needs_network: ClassVar[bool] = False

    def unavailable_reason(self) -> str | None:
        if _pytesseract() is None:
            return "ocr needs the pytesseract package: pip install 'gre-suite[ocr]'"
        cmd = _tesseract_cmd() or "tesseract"
        if shutil.which(cmd) is None:
            return f"tesseract not found ({cmd}); install it: {INSTALL_HINT}"
        if not installed_languages():
            return f"tesseract has no language data; install some: {INSTALL_HINT}"
        return None

    def _languages(self, requested: list[str] | None) -> tuple[list[str], list[str]]:
        installed = set(installed_languages())
        wanted = list(dict.fromkeys(requested if requested else self.settings.ocr_languages))
        use = [lang for lang in wanted if lang in installed]
        missing = [lang for lang in wanted if lang not in installed]
        if not use:
            fallback = [lang for lang in self.settings.ocr_languages if lang in installed]
            use = fallback or (["eng"] if "eng" in installed else sorted(installed)[:1])
        if not use:
            raise ToolUnavailable(f"tesseract has no language data; install some: {INSTALL_HINT}")
        return use, missing

    def run(self, params: OcrInput) -> OcrOutput:
        reason = self.unavailable_reason()
        if reason:
            raise ToolUnavailable(reason)
        languages, missing = self._languages(params.languages)
        image = _open(Path(params.path), self.settings.max_image_pixels)
        regions = self._regions(image, params)
        deadline = time.monotonic() + self.settings.tool_timeout_s
        jobs = [(region, reading) for region in regions for reading in PLANS[params.mode]]
        workers = max(1, min(len(jobs), os.cpu_count() or 1))
        lang = "+".join(languages)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gre-ocr") as pool:
            futures = [
                pool.submit(self._read, image, region, reading, lang, params, deadline)
                for region, reading in jobs
            ]
            try:
                found = [line for future in futures for line in future.result()]
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
        lines = _merge(found)
        cmd = _tesseract_cmd() or "tesseract"
        return OcrOutput(
            lines=[
                OcrLine(text=ln.text, confidence=ln.confidence, box=ln.box, region=ln.region)
                for ln in lines
            ],
            words=[w for ln in lines for w in ln.words],
            text="\n".join(ln.text for ln in lines),
            languages=languages,
            missing_languages=missing,
            engine=_engine_of(cmd),
        )

    @staticmethod
    def _regions(image: Image.Image, params: OcrInput) -> list[_Region]:
        width, height = image.size
        regions = [_Region(-1, (0, 0, width, height))] if params.whole_image else []
        for i, b in enumerate(params.boxes):
            x0, x1 = math.floor(b.x0 * width), math.ceil(b.x1 * width)
            y0, y1 = math.floor(b.y0 * height), math.ceil(b.y1 * height)
            pad = max(4, round(0.04 * max(x1 - x0, y1 - y0)))  # boxes from a model are loose
            box = (max(0, x0 - pad), max(0, y0 - pad), min(width, x1 + pad), min(height, y1 + pad))
            if box[2] - box[0] >= 8 and box[3] - box[1] >= 8:
                regions.append(_Region(i, box))
        if not regions:
            raise ToolError("nothing to read: whole_image is false and no usable box was given")
        return regions

    def _read(
        self,
        image: Image.Image,
        region: _Region,
        reading: Reading,
        lang: str,
        params: OcrInput,
        deadline: float,
    ) -> list[_Line]:
        """One tesseract reading of one region in one variant."""
        pt = _pytesseract()
        crop = image if region.index < 0 else image.crop(region.box)
        scale = _scale_for(crop.width, crop.height, crop=region.index >= 0, zoom=reading.zoom)
        if scale > 1:
            size = (round(crop.width * scale), round(crop.height * scale))
            crop = crop.resize(size, Image.Resampling.LANCZOS)
        prepared = VARIANTS[reading.variant](crop)
        if prepared is image:  # never hand the shared image to another thread's writer
            prepared = image.copy()
        prepared.format = "PPM"  # pytesseract saves in this format: PGM is ~100x faster than PNG
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ToolTimeout(f"ocr timed out after {self.settings.tool_timeout_s:g} s")
        try:
            data = pt.image_to_data(
                prepared,
                lang=lang,
                config=f"--psm {reading.psm}",
                output_type=pt.Output.DICT,
                timeout=remaining,
            )
        except pt.TesseractNotFoundError:
            raise ToolUnavailable(f"tesseract not found; install it: {INSTALL_HINT}") from None
        except pt.TesseractError as exc:
            message = " ".join(str(exc.message).split())[:200]
            raise ToolError(f"tesseract failed (exit {exc.status}): {message}") from None
        except RuntimeError as exc:
            if "timeout" in str(exc).lower():
                raise ToolTimeout(
                    f"ocr timed out after {self.settings.tool_timeout_s:g} s"
                ) from None
            raise ToolError(f"tesseract failed: {exc}") from None
        except SystemExit as exc:  # pytesseract exits on an unusable tesseract version
            raise ToolError(f"tesseract is unusable: {exc}") from None
        return _lines_from_data(data, region, scale, params.min_confidence)
