"""Images for the ``ocr`` tool: opened upright in grayscale, upscaled, binarised.

Street photos are not documents: signs are small, often white on blue, green or
brown, and sit among textures that tesseract reads as letters. Regions are
upscaled while small (x2 under 1000 px, crops x3 under 300 px) and read in
several :data:`VARIANTS`: grayscale, Otsu-binarised (dark text on light signs),
and locally thresholded copies that keep only strokes lighter (or darker) than
their surroundings (white text on blue, green or brown panels).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageOps, UnidentifiedImageError

from gre.ingest.heif import register_heif
from gre.tools.base import ToolError
from gre.tools.ocr.probes import Probe

UPSCALE_BELOW_PX = 1000  # shorter side under this: scale by 2 (sign text is small)
SMALL_CROP_PX = 300  # crops (usually one sign) with a shorter side under this: scale by 3
MAX_WORK_PIXELS = 16_000_000  # never upscale past this
ADAPTIVE_RADIUS = 15  # px of the upscaled image: a few stroke widths of sign text
ADAPTIVE_C = 10  # grey levels a stroke must differ from its surroundings
FRAME_SHARE = 0.05  # ink touching a crop's border, this share of it, is a frame to clear


def open_image(path: Path, max_pixels: int, mode: str = "L") -> Image.Image:
    """Decode ``path`` upright (grayscale, or ``mode``), or raise a one-line ToolError."""
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
            return ImageOps.exif_transpose(img).convert(mode)
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


def resize(img: Image.Image, scale: float) -> Image.Image:
    """``img`` scaled by ``scale`` (Lanczos); ``img`` itself at 1."""
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


def probe_pixels(upright: Image.Image, probe: Probe) -> Image.Image:
    """A probed crop in black and white, dark text on light, its surroundings cleared."""
    return _binarise(resize(upright.crop(probe.box), probe.scale), framed=True)


VARIANTS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "gray": lambda g: g,
    "otsu": _binarise,
    "light": lambda g: _adaptive(g, light=True),
    "dark": lambda g: _adaptive(g, light=False),
}


def prepare(
    upright: Image.Image, variant: str, *, crop: bool, zoom: float = 1.0
) -> tuple[Image.Image, float]:
    """A region's upright pixels scaled for tesseract in one of the :data:`VARIANTS`, and the
    scale; ``crop``: a region of the photo, not the whole (maybe a framed sign)."""
    scale = _scale_for(upright.width, upright.height, crop=crop, zoom=zoom)
    if crop and variant == "otsu":  # a crop: maybe a framed sign
        return _binarise(resize(upright, scale), framed=True), scale
    return VARIANTS[variant](resize(upright, scale)), scale
