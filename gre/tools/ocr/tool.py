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

Languages, unless the caller names them (see :mod:`gre.tools.ocr.scripts`):
tesseract's orientation and script detection (OSD) runs on each region first;
a region OSD finds turned (confidence >=
:data:`ORIENTATION_MIN_CONF`) is read upright, its boxes mapped back. The plan
reads with the configured (Latin) languages, one more reading (:data:`LAYOUT`)
finds lines for the probe, and the lines read unsurely are *probed*: stacked on
one page, read once by one installed language per script. Where another
script's language reads a line clearly better, the line is read again with that
language plus English, and that reading replaces the Latin one. Scripts OSD is
sure of but no installed pack reads are reported missing, with the Debian
package to install.

Words are grouped into lines by tesseract's block/paragraph/line numbers;
characters of unspaced scripts (Thai, Chinese, Japanese) are joined; junk is
dropped (low confidence, no letters or digits, stray characters, lone short or
unsure words, lines that are mostly junk); where two readings cover the same
place the more confident and complete line is kept.

Text read from an image is data: it is returned, never interpreted.
"""

from __future__ import annotations

import math
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path
from typing import Any, ClassVar, Literal, NamedTuple, TypeVar

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageOps, UnidentifiedImageError
from pydantic import BaseModel, Field

from gre.ingest.heif import register_heif
from gre.records import Box
from gre.tools.base import Tool, ToolError, ToolOutput, ToolTimeout, ToolUnavailable
from gre.tools.ocr.scripts import (
    SCRIPT_LANGUAGES,
    Line,
    Osd,
    PixelBox,
    Probe,
    Region,
    Sheet,
    apt_package,
    conflicts,
    join_fragments,
    judge,
    letters,
    lines_from_data,
    merge_readings,
    overlap,
    parse_osd,
    pick_probes,
    probe_languages,
    probes_from_data,
    same_script,
    scaled_placer,
    script_languages,
    sheet_placer,
    text_scripts,
)

Mode = Literal["auto", "sparse"]
T = TypeVar("T")

INSTALL_HINT = "sudo apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-fra"
NOT_LANGUAGES = frozenset({"osd", "equ"})  # orientation/script and equation models
UPSCALE_BELOW_PX = 1000  # shorter side under this: scale by 2 (sign text is small)
SMALL_CROP_PX = 300  # crops (usually one sign) with a shorter side under this: scale by 3
MAX_WORK_PIXELS = 16_000_000  # never upscale past this
ADAPTIVE_RADIUS = 15  # px of the upscaled image: a few stroke widths of sign text
ADAPTIVE_C = 10  # grey levels a stroke must differ from its surroundings
FRAME_SHARE = 0.05  # ink touching a crop's border, this share of it, is a frame to clear

OSD_MIN_CHARS = 5  # tesseract's default (50) makes OSD give up on nearly every sign
OSD_MIN_SIDE_PX = 300  # regions are upscaled to this shorter side for OSD
ORIENTATION_MIN_CONF = 1.0  # turned drawn signs: 1.1-1.7 (Latin, Cyrillic, Hebrew); false
# turns seen on photos: <= 0.5. Arabic, Devanagari and CJK turns (0.1-0.8) stay unread.
OSD_HINT_CONF = 1.0  # from this confidence OSD's script lowers the probe's bar
OSD_MISSING_CONF = 3.0  # a script without its pack, named this surely, is reported missing
MISSING_LATIN_LETTERS = 20  # ...unless this much sure Latin text was read
WELL_READ = 88.0  # lines the first pass read this surely are not probed (Latin hint)
# The scripts of the language packs (scripts/system-deps.sh installs them).
MAIN_SCRIPTS: tuple[str, ...] = ("Latin", "Cyrillic", "Greek", "Arabic", "Hebrew", "Devanagari")
MAIN_SCRIPTS += ("Thai", "Han", "Japanese", "Hangul")
PROBE_PSM = 11  # sheets of crops of any size: sparse text
REREAD_PSM = 6  # one crop as a block: sparse text splits Hangul syllables into parts


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
    """Every traineddata tesseract lists, osd included."""
    pt = _pytesseract()
    try:
        found = pt.get_languages(config="")
    except (OSError, RuntimeError, SystemExit):
        return ()
    return tuple(sorted({str(lang) for lang in found}))


def _usable_cmd() -> str | None:
    cmd = _tesseract_cmd()
    return cmd if cmd is not None and shutil.which(cmd) is not None else None


def installed_languages() -> list[str]:
    """The tesseract recognition languages installed here (cached per tesseract binary)."""
    cmd = _usable_cmd()
    return [] if cmd is None else [x for x in _languages_of(cmd) if x not in NOT_LANGUAGES]


def osd_available() -> bool:
    """Whether tesseract's orientation and script detection data (``osd``) is installed."""
    cmd = _usable_cmd()
    return cmd is not None and "osd" in _languages_of(cmd)


def missing_packs(scripts: Iterable[str] = MAIN_SCRIPTS) -> list[str]:
    """Debian packages to install for OSD and for the ``scripts`` no installed pack reads."""
    installed = installed_languages()
    need = [] if osd_available() else ["osd"]
    need += [SCRIPT_LANGUAGES[s][0] for s in scripts if not script_languages(s, installed)]
    return [apt_package(lang) for lang in need]


@cache
def _engine_of(cmd: str) -> str:
    pt = _pytesseract()
    try:
        return f"tesseract {pt.get_tesseract_version()}"
    except (OSError, RuntimeError, SystemExit):  # pytesseract exits on an unparsable version
        return "tesseract"


# --- images ----------------------------------------------------------------------------------


def _open(path: Path, max_pixels: int) -> Image.Image:
    """Decode ``path`` upright as grayscale, or raise a one-line ToolError."""
    register_heif()
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


def _resize(img: Image.Image, scale: float) -> Image.Image:
    if scale == 1:
        return img
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return img.resize(size, Image.Resampling.LANCZOS)


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


def _binarise(gray: Image.Image, *, framed: bool = False) -> Image.Image:
    """Otsu black-and-white with the majority (the background) white. ``framed``: a crop,
    whose surroundings may outweigh its sign: the majority of its middle half decides, and
    the surroundings are cleared (:func:`_clear_border`)."""
    t = otsu_threshold(gray)
    lut = [255 if v > t else 0 for v in range(256)]
    bw = gray.point(lut)
    w, h = gray.size
    middle = gray.crop((w // 4, h // 4, w - w // 4, h - h // 4)) if framed else gray
    dark = sum(middle.histogram()[: t + 1])
    bw = ImageOps.invert(bw) if dark > middle.width * middle.height / 2 else bw
    return _clear_border(bw) if framed else bw


def _adaptive(gray: Image.Image, *, light: bool) -> Image.Image:
    """Local threshold for one text polarity: strokes lighter (or darker) than their
    surroundings by ADAPTIVE_C become black ink on white; flat areas become white."""
    local = gray.filter(ImageFilter.BoxBlur(ADAPTIVE_RADIUS))
    diff = ImageChops.subtract(gray, local) if light else ImageChops.subtract(local, gray)
    return diff.point([0 if v > ADAPTIVE_C else 255 for v in range(256)])


def _clear_border(bw: Image.Image) -> Image.Image:
    """Black and white with the ink that touches the border whitened, where it is much (a
    frame: the surroundings of a sign in a crop). Tesseract drops text inside a dark frame
    as part of a picture: "Новосибирск" on a light panel in a crop read as nothing."""
    framed = ImageOps.expand(bw, 1, fill=0)
    ImageDraw.floodfill(framed, (0, 0), 255)
    cleared = framed.crop((1, 1, framed.width - 1, framed.height - 1))
    erased = bw.histogram()[0] - cleared.histogram()[0]
    return cleared if erased >= FRAME_SHARE * bw.width * bw.height else bw


def _probe_pixels(upright: Image.Image, probe: Probe) -> Image.Image:
    """A probed crop in black and white, dark text on light, its surroundings cleared."""
    return _binarise(_resize(upright.crop(probe.box), probe.scale), framed=True)


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
# With languages detected, one more reading finds lines for the probe (its text is not
# kept): Otsu, sparse text, not upscaled. The plans miss dark Chinese, Japanese, Korean
# and Devanagari lines on light panels (psm 3 takes the panel for a picture).
LAYOUT = Reading("otsu", 11, zoom=0.5)


# --- reading ---------------------------------------------------------------------------------


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


# --- the tool --------------------------------------------------------------------------------


def _hint(osd: Osd | None) -> str | None:
    """The script OSD named, where sure enough to lower the probe's bar."""
    return osd.script if osd and osd.script_confidence >= OSD_HINT_CONF else None


@dataclass
class _Run:
    """One call's state."""

    image: Image.Image
    params: OcrInput
    deadline: float
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


class OcrTool(Tool[OcrInput, OcrOutput]):
    """Tesseract OCR with sign-friendly preprocessing and script detection."""

    name: ClassVar[str] = "ocr"
    description: ClassVar[str] = (
        "Read the text in the photo (signs, shop fronts, plates) with tesseract OCR: the whole "
        "image and/or regions given as boxes in 0..1 fractions. Finds the script (Latin, "
        "Cyrillic, Greek, Arabic, Hebrew, Devanagari, Thai, Chinese, Japanese, Korean) and "
        "turned text. Returns lines with confidences (0-100), pixel boxes and scripts. "
        "mode='sparse' looks for scattered text (a second pass)."
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
        """The languages to read with (requested, else configured, that are installed;
        else eng; else any one) and the requested ones that are not installed."""
        installed = set(installed_languages())
        wanted = list(dict.fromkeys(requested or self.settings.ocr_languages))
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
        auto = not params.languages or params.languages == ["auto"]
        languages, missing = self._languages(None if auto else params.languages)
        image = _open(Path(params.path), self.settings.max_image_pixels)
        regions = self._regions(image, params)
        deadline = time.monotonic() + self.settings.tool_timeout_s
        workers = max(1, os.cpu_count() or 1)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gre-ocr") as pool:
            run = _Run(image, params, deadline, pool, regions, languages, missing)
            self._first_pass(run, auto)
            if auto:
                sheet = self._probe(run)
                self._report_missing(run, sheet)
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
            engine=_engine_of(_tesseract_cmd() or "tesseract"),
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

    # --- tesseract calls ---------------------------------------------------------------------

    def _tesseract(self, fn: str, image: Image.Image, deadline: float, **kwargs: Any) -> Any:
        """Call pytesseract's ``fn`` on an image, turning its failures into tool errors."""
        pt = _pytesseract()
        image.format = "PPM"  # pytesseract saves in this format: PGM is ~100x faster than PNG
        remaining = deadline - time.monotonic()
        timed_out = f"ocr timed out after {self.settings.tool_timeout_s:g} s"
        if remaining <= 0:
            raise ToolTimeout(timed_out)
        try:
            return getattr(pt, fn)(image, timeout=remaining, **kwargs)
        except pt.TesseractNotFoundError:
            raise ToolUnavailable(f"tesseract not found; install it: {INSTALL_HINT}") from None
        except pt.TesseractError as exc:
            message = " ".join(str(exc.message).split())[:200]
            raise ToolError(f"tesseract failed (exit {exc.status}): {message}") from None
        except RuntimeError as exc:
            if "timeout" in str(exc).lower():
                raise ToolTimeout(timed_out) from None
            raise ToolError(f"tesseract failed: {exc}") from None
        except SystemExit as exc:  # pytesseract exits on an unusable tesseract version
            raise ToolError(f"tesseract is unusable: {exc}") from None

    def _data(self, image: Image.Image, lang: str, psm: int, deadline: float) -> Any:
        pt = _pytesseract()
        return self._tesseract(
            "image_to_data",
            image,
            deadline,
            lang=lang,
            config=f"--psm {psm}",
            output_type=pt.Output.DICT,
        )

    def _osd(self, image: Image.Image, deadline: float) -> Osd | None:
        """Tesseract's orientation and script detection; None where it finds too little."""
        scale = min(3.0, max(1.0, OSD_MIN_SIDE_PX / max(1, min(image.size))))
        try:
            report = self._tesseract(
                "image_to_osd",
                _resize(image, scale) if scale > 1 else image.copy(),  # may be the shared image
                deadline,
                config=f"-c min_characters_to_try={OSD_MIN_CHARS}",
            )
        except (ToolTimeout, ToolUnavailable):
            raise
        except ToolError:  # "Too few characters": a blank or textless page
            return None
        return parse_osd(str(report))

    def _read(
        self, run: _Run, region: Region, reading: Reading, lang: str
    ) -> tuple[list[Line], dict[str, list[Any]], float]:
        """One tesseract reading of one region in one variant: its lines, data and scale."""
        upright = region.pixels(run.image)
        scale = _scale_for(upright.width, upright.height, crop=region.index >= 0, zoom=reading.zoom)
        if region.index >= 0 and reading.variant == "otsu":  # a crop: maybe a framed sign
            prepared = _binarise(_resize(upright, scale), framed=True)
        else:
            prepared = VARIANTS[reading.variant](_resize(upright, scale))
        if prepared is run.image:  # never hand the shared image to another thread's writer
            prepared = run.image.copy()
        data = self._data(prepared, lang, reading.psm, run.deadline)
        lines = lines_from_data(data, scaled_placer(region, scale), run.params.min_confidence, lang)
        return lines, data, scale

    # --- the steps ---------------------------------------------------------------------------

    def _first_pass(self, run: _Run, auto: bool) -> None:
        """OSD, then the plan's readings (and LAYOUT), regions OSD found turned upright. With
        languages detected, the lines read unsurely become probe candidates."""
        if auto and osd_available():
            found = run.map(
                [partial(self._osd, r.pixels(run.image), run.deadline) for r in run.regions]
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
        found_lines = run.map([partial(self._read, run, r, g, lang) for r, g in jobs])
        for (region, reading), (lines, data, scale) in zip(jobs, found_lines, strict=True):
            if reading != LAYOUT:
                run.lines += lines
            if auto:
                # a non-Latin script named by OSD: Latin readings of it can be sure ("MockBa")
                hint = _hint(run.osd.get(region.index))
                well_read = 101.0 if hint not in (None, "Latin") else WELL_READ
                run.probes += probes_from_data(data, region, scale, well_read)

    def _probe(self, run: _Run) -> Sheet | None:
        """Read the unsure lines with one language per script; read again with its language
        those another script reads clearly better. Returns the probe's sheet."""
        installed = installed_languages()
        by_script = probe_languages(installed, run.languages)
        picked = pick_probes(join_fragments(run.probes))
        if not picked:
            return None
        upright = {p.region: p.region.pixels(run.image) for p in picked}
        pieces = [(p, _probe_pixels(upright[p.region], p)) for p in picked]
        sheet, place = sheet_placer(pieces)
        if len(by_script) < 2:
            return sheet
        scripts = list(by_script)
        readings = run.map(
            [
                partial(self._data, sheet.image, by_script[s], PROBE_PSM, run.deadline)
                for s in scripts
            ]
        )
        hints = [_hint(run.osd.get(p.region.index)) for p, _ in pieces]
        winners = judge(
            [p for p, _ in pieces], dict(zip(scripts, readings, strict=True)), place, hints
        )
        latin = "eng" if "eng" in installed else run.languages[0]
        jobs = [
            (w, "+".join(dict.fromkeys([by_script[w], latin])), piece)
            for w, piece in zip(winners, pieces, strict=True)
            if w
        ]
        found = run.map([partial(self._reread, run, lang, piece) for _, lang, piece in jobs])
        first_pass = list(run.lines)
        for (script, lang, _), lines in zip(jobs, found, strict=True):
            self._replace(run, lang, script, lines, first_pass)
        return sheet

    def _reread(self, run: _Run, lang: str, piece: tuple[Probe, Image.Image]) -> list[Line]:
        """Read one probed crop again with a script's language (plus English)."""
        sheet, place = sheet_placer([piece])
        data = self._data(sheet.image, lang, REREAD_PSM, run.deadline)
        return lines_from_data(data, place, run.params.min_confidence, lang)

    @staticmethod
    def _replace(
        run: _Run, lang: str, script: str, lines: list[Line], first_pass: list[Line]
    ) -> None:
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

    def _report_missing(self, run: _Run, sheet: Sheet | None) -> None:
        """Scripts whose language packs are not installed, where OSD names them surely both
        on the region and on the probe's sheet of unsure lines (OSD alone errs on photos),
        unless the text read is mostly sure Latin (the Louvre's signs are "Cyrillic")."""
        sure_latin = sum(
            letters(ln.text) for ln in run.lines if ln.script == "Latin" and ln.confidence >= 85
        )
        if sure_latin >= MISSING_LATIN_LETTERS:
            return
        installed = installed_languages()
        suspects = {
            o.script: o.script_confidence
            for o in run.osd.values()
            if o.script_confidence >= OSD_HINT_CONF
            and o.script in SCRIPT_LANGUAGES
            and not script_languages(o.script, installed, run.languages)
        }
        if not suspects or sheet is None:
            return
        again = self._osd(sheet.image, run.deadline)
        if again is None or again.script not in suspects:
            return
        if max(again.script_confidence, suspects[again.script]) >= OSD_MISSING_CONF:
            lang = SCRIPT_LANGUAGES[again.script][0]
            run.missing = list(dict.fromkeys([*run.missing, lang]))
