"""Draw the project's own example photo: a French road direction sign by a country road.

The picture is synthetic and deterministic (no randomness), 640x480 JPEG: a sky
gradient, hills, a road in perspective, and a pole carrying three French
direction panels - green "STRASBOURG" (white text, with the A 4 route number),
white "Centre ville" and white "Toutes directions". Strasbourg is the only
place of that name among GeoNames' cities over 15,000 people.

Run ``python examples/make_sign.py [OUT.jpg]``; tests and ``make demo`` import
:func:`make_sign`.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

CITY = "STRASBOURG"
WORDS = ("Centre ville", "Toutes directions")
SIZE = (640, 480)
FONT_PATH = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")

_Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
_RGB = tuple[int, int, int]

GREEN: _RGB = (0, 122, 77)  # French "itinéraire principal" direction panels
WHITE: _RGB = (246, 246, 242)
BLACK: _RGB = (22, 22, 24)
RED: _RGB = (200, 30, 40)


def _font(size: int) -> _Font:
    """DejaVu Sans Bold, or Pillow's built-in font with a warning where it is missing."""
    try:
        return ImageFont.truetype(str(FONT_PATH), size)
    except OSError:
        warnings.warn(
            f"{FONT_PATH} not found (apt-get install fonts-dejavu-core); "
            "using Pillow's default font, which OCR reads less reliably",
            RuntimeWarning,
            stacklevel=3,
        )
    try:
        return ImageFont.load_default(size=size)
    except (ImportError, OSError, TypeError) as exc:
        raise RuntimeError(
            f"no usable font: {FONT_PATH} is missing and Pillow has no scalable default "
            f"font ({exc}); install fonts-dejavu-core"
        ) from exc


def _lerp(a: _RGB, b: _RGB, t: float) -> _RGB:
    r, g, bl = (round(x + (y - x) * t) for x, y in zip(a, b, strict=True))
    return (r, g, bl)


def _scenery(img: Image.Image) -> None:
    """Sky, hills, verge and a road in perspective."""
    w, h = img.size
    draw = ImageDraw.Draw(img)
    horizon = 300
    for y in range(horizon):
        draw.line([(0, y), (w, y)], fill=_lerp((66, 120, 190), (196, 218, 236), y / horizon))
    draw.polygon(
        [
            (0, 262),
            (90, 238),
            (190, 252),
            (300, 228),
            (420, 250),
            (530, 232),
            (640, 248),
            (640, horizon),
            (0, horizon),
        ],
        fill=(104, 128, 112),
    )
    draw.polygon(
        [
            (0, 284),
            (140, 270),
            (260, 282),
            (400, 268),
            (520, 280),
            (640, 272),
            (640, horizon),
            (0, horizon),
        ],
        fill=(86, 116, 80),
    )
    for y in range(horizon, h):
        t = (y - horizon) / (h - horizon)
        draw.line([(0, y), (w, y)], fill=_lerp((108, 142, 74), (78, 112, 52), t))
    vanish_x = 420
    draw.polygon(
        [(vanish_x - 6, horizon), (vanish_x + 6, horizon), (w, 440), (w, h), (150, h)],
        fill=(92, 92, 96),
    )
    for i in range(6):  # dashed centre line, longer dashes nearer the viewer
        t0, t1 = (i + 0.15) / 6, (i + 0.55) / 6
        y0, y1 = horizon + t0**2 * (h - horizon), horizon + t1**2 * (h - horizon)
        x0 = vanish_x + (520 - vanish_x) * t0**2
        x1 = vanish_x + (520 - vanish_x) * t1**2
        draw.line([(x0, y0), (x1, y1)], fill=(226, 226, 220), width=max(1, round(1 + 5 * t1**2)))
    for cx, cy, r in ((70, 250, 34), (118, 262, 26), (560, 246, 30)):  # roadside trees
        draw.rectangle([cx - 3, cy, cx + 3, cy + r + 18], fill=(70, 52, 36))
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(52, 88, 48))


def _panel(
    draw: ImageDraw.ImageDraw,
    box: tuple[int, int, int, int],
    *,
    point: str,
    fill: _RGB,
    ink: _RGB,
) -> None:
    """An arrow-shaped direction panel with a border, pointing ``left`` or ``right``."""
    x0, y0, x1, y1 = box
    tip = (y1 - y0) // 2
    if point == "right":
        outline = [(x0, y0), (x1 - tip, y0), (x1, y0 + tip), (x1 - tip, y1), (x0, y1)]
    else:
        outline = [(x0 + tip, y0), (x1, y0), (x1, y1), (x0 + tip, y1), (x0, y0 + tip)]
    draw.polygon(outline, fill=ink)
    inset = 4
    if point == "right":
        inner = [
            (x0 + inset, y0 + inset),
            (x1 - tip - 2, y0 + inset),
            (x1 - inset - 2, y0 + tip),
            (x1 - tip - 2, y1 - inset),
            (x0 + inset, y1 - inset),
        ]
    else:
        inner = [
            (x0 + tip + 2, y0 + inset),
            (x1 - inset, y0 + inset),
            (x1 - inset, y1 - inset),
            (x0 + tip + 2, y1 - inset),
            (x0 + inset + 2, y0 + tip),
        ]
    draw.polygon(inner, fill=fill)


def _text(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, size: int, ink: _RGB) -> None:
    draw.text(xy, text, font=_font(size), fill=ink, anchor="lm")


def make_sign(path: Path) -> Path:
    """Write the example photo to ``path`` (a 640x480 JPEG) and return ``path``."""
    img = Image.new("RGB", SIZE, (0, 0, 0))
    _scenery(img)
    draw = ImageDraw.Draw(img)

    pole_x = 236
    draw.rectangle([pole_x + 6, 118, pole_x + 20, 452], fill=(60, 72, 50))  # shadow on the verge
    draw.rectangle([pole_x, 112, pole_x + 12, 450], fill=(150, 154, 158))
    draw.line([(pole_x + 3, 112), (pole_x + 3, 450)], fill=(198, 202, 206), width=2)

    # Green main-route panel with white text and a red motorway cartouche.
    _panel(draw, (pole_x - 130, 128, pole_x + 318, 186), point="right", fill=GREEN, ink=WHITE)
    draw.rounded_rectangle([pole_x - 116, 141, pole_x - 58, 173], radius=5, fill=RED)
    _text(draw, (pole_x - 110, 157), "A 4", 26, WHITE)
    _text(draw, (pole_x - 40, 157), CITY, 36, WHITE)

    # White local panels with black text.
    _panel(draw, (pole_x - 130, 196, pole_x + 262, 240), point="right", fill=WHITE, ink=BLACK)
    _text(draw, (pole_x - 110, 218), WORDS[0], 28, BLACK)
    _panel(draw, (pole_x - 176, 250, pole_x + 186, 294), point="left", fill=WHITE, ink=BLACK)
    _text(draw, (pole_x - 138, 272), WORDS[1], 28, BLACK)

    # A camera's softness, then JPEG.
    img = img.filter(ImageFilter.GaussianBlur(0.6))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format="JPEG", quality=88, optimize=True)
    return path


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("example_sign.jpg")
    print(make_sign(out))
