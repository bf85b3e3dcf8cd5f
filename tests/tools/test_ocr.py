"""The ocr tool: real tesseract on the shared sign photos and on images drawn here."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest
from PIL import Image, ImageDraw, ImageFont

from gre.agent.schema import Box
from gre.config import Settings
from gre.textnorm import fold
from gre.tools.base import ToolError, ToolTimeout
from gre.tools.ocr import (
    OcrInput,
    OcrLine,
    OcrOutput,
    OcrTool,
    _lines_from_data,
    _Region,
    installed_languages,
    merge_lines,
    otsu_threshold,
)
from gre.tools.toolbox import ToolBox

REPO = Path(__file__).resolve().parents[2]
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")

pytesseract = pytest.importorskip("pytesseract")
needs_tesseract = pytest.mark.skipif(
    shutil.which("tesseract") is None,
    reason="tesseract is not installed (apt-get install tesseract-ocr)",
)
needs_font = pytest.mark.skipif(not FONT.is_file(), reason=f"{FONT} missing (fonts-dejavu-core)")


def _make_sign_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_sign", REPO / "examples" / "make_sign.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _panel_image(
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


# --- pure helpers (no tesseract needed) -------------------------------------------------------


def test_otsu_threshold_splits_a_bimodal_image() -> None:
    img = Image.new("L", (100, 10), 40)
    img.paste(200, (50, 0, 100, 10))
    assert 40 <= otsu_threshold(img) < 200


def test_junk_is_dropped_and_lines_grouped() -> None:
    rows = [
        # (block, par, line, text, conf, left, top, width, height)
        (1, 1, 1, "Palais", 92.0, 100, 100, 60, 20),
        (1, 1, 1, "du", 95.0, 170, 100, 20, 20),
        (1, 1, 1, "LOUVRE", 96.0, 200, 100, 80, 20),
        (1, 1, 1, "|", 93.0, 290, 100, 4, 20),
        (2, 1, 1, "oF", 92.0, 10, 300, 20, 10),  # texture: odd case
        (3, 1, 1, "+,", 80.0, 50, 350, 10, 10),  # punctuation
        (4, 1, 1, "Meow", 56.0, 90, 400, 40, 10),  # lone unsure word
        (5, 1, 1, "e", 70.0, 10, 200, 8, 10),  # stray characters
        (5, 1, 1, "4", 70.0, 30, 200, 8, 10),
        (6, 1, 1, "Névache", 30.0, 10, 250, 50, 10),  # below min_confidence
    ]
    columns = ("block_num", "par_num", "line_num", "text", "conf", "left", "top", "width", "height")
    data: dict[str, list[object]] = {
        k: list(col) for k, col in zip(columns, zip(*rows, strict=True), strict=True)
    }
    data["level"] = [5] * len(rows)  # tesseract's word level
    lines = _lines_from_data(data, _Region(-1, (0, 0, 1000, 1000)), 2.0, 55.0)
    assert [ln.text for ln in lines] == ["Palais du LOUVRE"]
    assert lines[0].box == (50, 50, 140, 60)  # scaled back by 2


def test_merge_lines_keeps_the_best_reading_of_each_place() -> None:
    first = OcrLine(text="Toutes directions", confidence=95.5, box=(98, 260, 368, 284), region=-1)
    partial = OcrLine(text="outes directions", confidence=94.0, box=(114, 262, 368, 283), region=-1)
    other = OcrLine(text="STRASBOURG", confidence=90.0, box=(198, 143, 470, 171), region=0)
    assert merge_lines([partial, other, first]) == [other, first]


def test_summary_is_one_line() -> None:
    out = OcrOutput(
        lines=[OcrLine(text=t, confidence=90, box=(0, 0, 1, 1), region=-1) for t in "ABCD"],
        missing_languages=["kor"],
    )
    assert out.summary() == "4 lines: A | B | C | … (kor not installed)"
    assert OcrOutput().summary() == "no text read"


# --- real tesseract -------------------------------------------------------------------------


@needs_tesseract
def test_louvre_signpost(shared_data: Path, settings: Settings) -> None:
    out = OcrTool(settings).run(
        OcrInput(path=str(shared_data / "images/signs/easyocr_french_louvre_signpost.jpg"))
    )
    text = out.text.upper()
    assert "LOUVRE" in text and "PALAIS" in text
    assert out.engine.startswith("tesseract")
    assert out.languages == ["eng", "fra"]
    assert out.text == "\n".join(line.text for line in out.lines)
    assert all(line.region == -1 and line.confidence >= 55 for line in out.lines)


@needs_tesseract
def test_hiking_guidepost(shared_data: Path, settings: Settings) -> None:
    """Tesseract 5.3 reads every destination of the yellow panels (not the pole plate)."""
    out = OcrTool(settings).run(
        OcrInput(path=str(shared_data / "images/signs/hiking_1-guidepost-on-pole.jpg"))
    )
    folded = fold(out.text)
    for name in ("nevache", "granon", "cristol", "fortville"):
        assert name in folded, out.text
    width, height = 400, 533
    for word in out.words:
        x0, y0, x1, y1 = word.box
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height


@needs_tesseract
def test_example_photo_through_toolbox(tmp_path: Path, settings: Settings) -> None:
    make_sign = _make_sign_module()
    photo = make_sign.make_sign(tmp_path / "example.jpg")
    with Image.open(photo) as img:
        assert img.size == (640, 480) and img.format == "JPEG"
    box = ToolBox(settings)
    try:
        out, call = box.call("ocr", {"path": str(photo)}, stage="details", call_id="t1")
    finally:
        box.close()
    assert call.ok and isinstance(out, OcrOutput)
    assert make_sign.CITY in out.text.upper()
    assert "centre ville" in fold(out.text) and "toutes directions" in fold(out.text)
    assert make_sign.CITY in call.summary.upper()


@needs_tesseract
@needs_font
def test_rendered_french_text_is_read_back(tmp_path: Path, settings: Settings) -> None:
    photo = _panel_image(
        tmp_path / "panel.jpg",
        [("Rue de la République", 32), ("Boulangerie Française", 26), ("Hôtel de Ville", 30)],
    )
    out = OcrTool(settings).run(OcrInput(path=str(photo)))
    folded = fold(out.text)
    assert "rue de la republique" in folded
    assert "boulangerie" in folded
    assert "hotel de ville" in folded  # white on blue


@needs_tesseract
@needs_font
def test_boxes_map_back_to_original_pixels(tmp_path: Path, settings: Settings) -> None:
    img = Image.new("RGB", (640, 480), (200, 200, 190))
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(str(FONT), 28)
    draw.text((380, 360), "GRENOBLE", font=font, fill=(20, 20, 20))
    draw.text((60, 80), "Annecy", font=font, fill=(20, 20, 20))
    truth = draw.textbbox((380, 360), "GRENOBLE", font=font)
    path = tmp_path / "two.png"
    img.save(path)
    boxes = [Box(x0=0.05, y0=0.1, x1=0.4, y1=0.3), Box(x0=0.55, y0=0.7, x1=0.95, y1=0.85)]
    out = OcrTool(settings).run(OcrInput(path=str(path), boxes=boxes, whole_image=False))
    by_text = {line.text: line for line in out.lines}
    assert set(by_text) == {"Annecy", "GRENOBLE"}
    assert by_text["Annecy"].region == 0 and by_text["GRENOBLE"].region == 1
    word = next(w for w in out.words if w.text == "GRENOBLE")
    for got, want in zip(word.box, truth, strict=True):
        assert abs(got - want) <= 4, (word.box, truth)


@needs_tesseract
@needs_font
def test_missing_language_is_listed(tmp_path: Path, settings: Settings) -> None:
    absent = next(c for c in ("kor", "tha", "heb", "zzz") if c not in installed_languages())
    photo = _panel_image(tmp_path / "p.jpg", [("Sortie", 40), ("Parking", 40)], size=(320, 240))
    out = OcrTool(settings).run(OcrInput(path=str(photo), languages=["eng", absent]))
    assert out.languages == ["eng"] and out.missing_languages == [absent]
    assert f"{absent} not installed" in out.summary()
    # none installed: the configured defaults are used, and all requested are listed
    out = OcrTool(settings).run(OcrInput(path=str(photo), languages=[absent]))
    assert out.languages == ["eng", "fra"] and out.missing_languages == [absent]


def test_missing_tesseract_is_unavailable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, settings: Settings
) -> None:
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", str(tmp_path / "no-tesseract"))
    reason = OcrTool(settings).unavailable_reason()
    assert reason is not None and "apt-get install tesseract-ocr" in reason
    assert installed_languages() == []
    box = ToolBox(settings)
    try:
        out, call = box.call(
            "ocr", {"path": str(tmp_path / "x.jpg")}, stage="details", call_id="t2"
        )
    finally:
        box.close()
    assert out is None and not call.ok and call.skipped
    assert call.error is not None and "tesseract not found" in call.error and "\n" not in call.error


@needs_tesseract
def test_non_image_is_a_tool_error(tmp_path: Path, settings: Settings) -> None:
    bogus = tmp_path / "notes.jpg"
    bogus.write_text("this is not a photo\n")
    with pytest.raises(ToolError, match="not an image"):
        OcrTool(settings).run(OcrInput(path=str(bogus)))
    with pytest.raises(ToolError, match="no such file"):
        OcrTool(settings).run(OcrInput(path=str(tmp_path / "absent.jpg")))
    box = ToolBox(settings)
    try:
        out, call = box.call("ocr", {"path": str(bogus)}, stage="details", call_id="t3")
    finally:
        box.close()
    assert out is None and not call.ok and not call.skipped
    assert call.error is not None and "not an image" in call.error


@needs_tesseract
@needs_font
def test_nothing_to_read_and_time_limit(tmp_path: Path, settings: Settings) -> None:
    photo = _panel_image(tmp_path / "p.jpg", [("Sortie", 40), ("Parking", 40)])
    with pytest.raises(ToolError, match="nothing to read"):
        OcrTool(settings).run(OcrInput(path=str(photo), whole_image=False))
    hurried = settings.model_copy(update={"tool_timeout_s": 0.001})
    with pytest.raises(ToolTimeout):
        OcrTool(hurried).run(OcrInput(path=str(photo)))


def test_make_sign_falls_back_without_dejavu(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    module = _make_sign_module()
    monkeypatch.setattr(module, "FONT_PATH", tmp_path / "missing.ttf")
    with pytest.warns(RuntimeWarning, match="fonts-dejavu-core"):
        photo = module.make_sign(tmp_path / "fallback.jpg")
    with Image.open(photo) as img:
        assert img.size == (640, 480)
