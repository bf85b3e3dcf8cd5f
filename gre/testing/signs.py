"""Signs drawn for OCR tests: one per script, and a street-ish panel of Latin text.

Fonts are Debian's (fonts-dejavu-core, fonts-noto-core, fonts-noto-cjk); a sign whose font
is missing, or whose script Pillow cannot shape without libraqm, skips its test.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont, features

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
NOTO = Path("/usr/share/fonts/truetype/noto")
NOTO_CJK = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")

# One sign per script: (language pack, font file, face index in a collection, its two lines).
# NotoSansCJK-Regular.ttc holds JP, KR, SC, TC, HK faces in that order.
SIGNS: dict[str, tuple[str, Path, int, tuple[str, str]]] = {
    "Latin": ("fra", NOTO / "NotoSans-Bold.ttf", 0, ("Marseille", "centre ville")),
    "Cyrillic": ("rus", NOTO / "NotoSans-Bold.ttf", 0, ("Москва", "центр")),
    "Greek": ("ell", NOTO / "NotoSans-Bold.ttf", 0, ("Αθήνα", "κέντρο")),
    "Arabic": ("ara", NOTO / "NotoSansArabic-Bold.ttf", 0, ("القاهرة", "وسط المدينة")),
    "Hebrew": ("heb", NOTO / "NotoSansHebrew-Bold.ttf", 0, ("ירושלים", "מרכז העיר")),
    "Devanagari": ("hin", NOTO / "NotoSansDevanagari-Bold.ttf", 0, ("दिल्ली", "शहर केंद्र")),
    "Thai": ("tha", NOTO / "NotoSansThai-Bold.ttf", 0, ("กรุงเทพ", "ศูนย์กลาง")),
    "Han": ("chi_sim", NOTO_CJK, 2, ("北京", "市中心")),
    "Japanese": ("jpn", NOTO_CJK, 0, ("東京駅", "のりば")),
    "Hangul": ("kor", NOTO_CJK, 1, ("서울역", "출구")),
}
# Scripts Pillow draws right only with libraqm (bundled in its wheels; it loads the system's
# libfribidi0): joined Arabic letters, right-to-left Hebrew, Devanagari and Thai clusters.
SHAPED = frozenset({"Arabic", "Hebrew", "Devanagari", "Thai"})
# Words read exactly every time on the drawn signs (tesseract 5.3, Debian's packs).
KEYWORDS = {
    "Latin": "marseille",
    "Cyrillic": "москва",
    "Greek": "αθηνα",
    "Arabic": "القاهرة",
    "Hebrew": "ירושלים",
    "Devanagari": "दिल्ली",
    "Thai": "กรุงเทพ",
    "Han": "北京",
    "Japanese": "東京駅",
    "Hangul": "서울역",
}


def panel_image(
    path: Path, lines: list[tuple[str, int]], *, size: tuple[int, int] = (640, 480)
) -> Path:
    """A street-ish picture: lines of dark text on a light panel, then light text on blue."""
    img = Image.new("RGB", size, (112, 140, 100))
    draw = ImageDraw.Draw(img)
    draw.rectangle([0, 0, size[0], 170], fill=(150, 190, 230))
    draw.rectangle([60, 60, 580, 250], fill=(240, 240, 236))
    draw.rectangle([60, 280, 580, 400], fill=(20, 60, 160))
    y = 100
    for i, (text, font_size) in enumerate(lines):
        on_blue = i == len(lines) - 1
        if on_blue:
            y = 340
        ink = (250, 250, 250) if on_blue else (20, 20, 20)
        draw.text(
            (320, y), text, font=ImageFont.truetype(str(FONT), font_size), fill=ink, anchor="mm"
        )
        y += 60
    img.save(path, quality=90)
    return path


def script_sign(path: Path, script: str, *, size: int = 56) -> Path:
    """A 640x480 sign in one script: two lines of dark text on a light panel by a road."""
    _, font_path, index, lines = SIGNS[script]
    if not font_path.is_file():
        pytest.skip(f"{font_path} missing (fonts-noto-core / fonts-noto-cjk)")
    if script in SHAPED and not features.check("raqm"):
        pytest.skip(f"Pillow cannot shape {script} without libraqm (needs libfribidi0)")
    img = Image.new("RGB", (640, 480), (112, 140, 100))
    draw = ImageDraw.Draw(img)
    draw.rectangle([0, 0, 640, 150], fill=(150, 190, 230))
    draw.rectangle([90, 120, 550, 370], fill=(240, 240, 236))
    font = ImageFont.truetype(str(font_path), size, index=index)
    y = 245 - (size + 24) // 2
    for text in lines:
        draw.text((320, y), text, font=font, fill=(20, 20, 20), anchor="mm")
        y += size + 24
    img.save(path)
    return path


def guide_sign(path: Path, lines: list[tuple[str, str]], *, size: int = 48) -> Path:
    """A 640x480 road guide sign: white lines on green, each ``(text, script)`` in the
    script's font (a Hangul name above its Latin spelling, as Korean signs have them)."""
    img = Image.new("RGB", (640, 480), (112, 140, 100))
    draw = ImageDraw.Draw(img)
    draw.rectangle([60, 40, 580, 440], fill=(20, 90, 60))
    step = 380 // max(1, len(lines))
    y = 40 + step // 2
    for text, script in lines:
        _, font_path, index, _ = SIGNS[script]
        if not font_path.is_file():
            pytest.skip(f"{font_path} missing (fonts-noto-core / fonts-noto-cjk)")
        font = ImageFont.truetype(str(font_path), size, index=index)
        draw.text((320, y), text, font=font, fill=(250, 250, 250), anchor="mm")
        y += step
    img.save(path)
    return path
