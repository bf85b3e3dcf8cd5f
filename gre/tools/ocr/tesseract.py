"""Tesseract for the ``ocr`` tool: the binary, its language packs, its calls and OSD reports.

pytesseract runs one tesseract process per call, here single-threaded
(:class:`_TesseractEnv`); failures become tool errors, and orientation and
script detection (OSD, ``--psm 0``) reports become :class:`Osd` answers.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from PIL import Image

from gre.tools.base import ToolError, ToolTimeout, ToolUnavailable
from gre.tools.ocr.images import resize
from gre.tools.ocr.scripts import SCRIPT_LANGUAGES, apt_package, script_languages

INSTALL_HINT = "sudo apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-fra"
NOT_LANGUAGES = frozenset({"osd", "equ"})  # orientation/script and equation models
OSD_MIN_CHARS = 5  # tesseract's default (50) makes OSD give up on nearly every sign
OSD_MIN_SIDE_PX = 300  # regions are upscaled to this shorter side for OSD
# The scripts of the language packs (scripts/system-deps.sh installs them).
MAIN_SCRIPTS: tuple[str, ...] = ("Latin", "Cyrillic", "Greek", "Arabic", "Hebrew", "Devanagari")
MAIN_SCRIPTS += ("Thai", "Han", "Japanese", "Hangul")
_OSD_LINE = re.compile(r"^\s*([A-Za-z ]+):\s*(\S+)\s*$", re.M)

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


def load_pytesseract() -> Any:
    """The pytesseract module with its subprocess environment set, or None if not installed."""
    try:
        import pytesseract
    except ImportError:
        return None
    module = pytesseract.pytesseract
    if getattr(module, "environ", None) is not _TESSERACT_ENV:
        module.environ = _TESSERACT_ENV  # read by pytesseract for every tesseract it starts
    return pytesseract


def tesseract_cmd() -> str | None:
    """The tesseract command pytesseract runs (None without pytesseract)."""
    pt = load_pytesseract()
    return None if pt is None else str(pt.pytesseract.tesseract_cmd)


@cache
def _languages_of(cmd: str) -> tuple[str, ...]:
    """Every traineddata tesseract lists, osd included."""
    pt = load_pytesseract()
    try:
        found = pt.get_languages(config="")
    except (OSError, RuntimeError, SystemExit):
        return ()
    return tuple(sorted({str(lang) for lang in found}))


def _usable_cmd() -> str | None:
    cmd = tesseract_cmd()
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
def engine_of(cmd: str) -> str:
    """The engine's name and version, e.g. "tesseract 5.3.0"."""
    pt = load_pytesseract()
    try:
        return f"tesseract {pt.get_tesseract_version()}"
    except (OSError, RuntimeError, SystemExit):  # pytesseract exits on an unparsable version
        return "tesseract"


def call(fn: str, image: Image.Image, deadline: float, timeout_s: float, **kwargs: Any) -> Any:
    """Call pytesseract's ``fn`` on an image, turning its failures into tool errors
    (``timeout_s``: the tool's time limit, which ``deadline`` ends)."""
    pt = load_pytesseract()
    image.format = "PPM"  # pytesseract saves in this format: PGM is ~100x faster than PNG
    remaining = deadline - time.monotonic()
    timed_out = f"ocr timed out after {timeout_s:g} s"
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


def image_data(image: Image.Image, lang: str, psm: int, deadline: float, timeout_s: float) -> Any:
    """Tesseract's words and boxes (its TSV as a dict) read with ``lang`` in mode ``psm``."""
    pt = load_pytesseract()
    return call(
        "image_to_data",
        image,
        deadline,
        timeout_s,
        lang=lang,
        config=f"--psm {psm}",
        output_type=pt.Output.DICT,
    )


def osd(image: Image.Image, deadline: float, timeout_s: float) -> Osd | None:
    """Tesseract's orientation and script detection; None where it finds too little."""
    scale = min(3.0, max(1.0, OSD_MIN_SIDE_PX / max(1, min(image.size))))
    try:
        report = call(
            "image_to_osd",
            resize(image, scale) if scale > 1 else image.copy(),  # may be the shared image
            deadline,
            timeout_s,
            config=f"-c min_characters_to_try={OSD_MIN_CHARS}",
        )
    except (ToolTimeout, ToolUnavailable):
        raise
    except ToolError:  # "Too few characters": a blank or textless page
        return None
    return parse_osd(str(report))


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
