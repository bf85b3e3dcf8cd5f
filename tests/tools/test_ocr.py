"""The ocr tool: real tesseract on the shared sign photos and on images drawn here."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest
from PIL import Image, ImageDraw, ImageFont
from rapidfuzz import fuzz

from gre.config import Settings
from gre.records import Box
from gre.testing.signs import FONT, KEYWORDS, NOTO, SIGNS, panel_image, script_sign
from gre.textnorm import fold
from gre.tools.base import ToolError, ToolTimeout, ToolUnavailable
from gre.tools.ocr import (
    OcrInput,
    OcrLine,
    OcrOutput,
    OcrTool,
    apt_package,
    installed_languages,
    merge_lines,
    missing_packs,
    osd_available,
)
from gre.tools.ocr import tesseract as ocr
from gre.tools.ocr.geometry import Region
from gre.tools.ocr.images import _scale_for, otsu_threshold
from gre.tools.ocr.lines import join_unspaced, lines_from_data, scaled_placer
from gre.tools.ocr.probes import ProbeScore, probe_winner
from gre.tools.ocr.scripts import letters, probe_languages, same_script, text_scripts
from gre.tools.ocr.tesseract import parse_osd
from gre.tools.toolbox import ToolBox

REPO = Path(__file__).resolve().parents[2]

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


def _needs_languages(*langs: str) -> None:
    have = set(installed_languages())
    missing = [lang for lang in langs if lang not in have]
    if missing or not osd_available():
        packs = " ".join(apt_package(lang) for lang in [*missing, "osd"])
        pytest.skip(f"tesseract language data missing: apt-get install {packs}")


def _squeezed(text: str) -> str:
    return "".join(fold(text).split())


# --- pure helpers (no tesseract needed) -------------------------------------------------------


def test_otsu_threshold_splits_a_bimodal_image() -> None:
    img = Image.new("L", (100, 10), 40)
    img.paste(200, (50, 0, 100, 10))
    assert 40 <= otsu_threshold(img) < 200


def _tsv(
    rows: list[tuple[int, int, int, str, float, int, int, int, int]],
) -> dict[str, list[object]]:
    columns = ("block_num", "par_num", "line_num", "text", "conf", "left", "top", "width", "height")
    data: dict[str, list[object]] = {
        k: list(col) for k, col in zip(columns, zip(*rows, strict=True), strict=True)
    }
    data["level"] = [5] * len(rows)  # tesseract's word level
    return data


def test_junk_is_dropped_and_lines_grouped() -> None:
    data = _tsv(
        [
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
    )
    place = scaled_placer(Region(-1, (0, 0, 1000, 1000)), 2.0)
    lines = lines_from_data(data, place, 55.0, "eng+fra")
    assert [ln.text for ln in lines] == ["Palais du LOUVRE"]
    assert lines[0].box == (50, 50, 140, 60)  # scaled back by 2
    assert lines[0].script == "Latin" and lines[0].language == "eng+fra"


def test_unspaced_scripts_are_joined_and_weighed() -> None:
    """Tesseract returns Thai and Chinese one character per "word"; they are one word."""
    chars = [
        ("ก", 95.0, (0, 0, 10, 20)),
        ("ร", 93.0, (11, 0, 20, 20)),
        ("ุ", 90.0, (12, 18, 16, 24)),
    ]
    assert [w[0] for w in join_unspaced(chars)] == ["กรุ"]
    spaced = [("Rue", 95.0, (0, 0, 30, 20)), ("de", 93.0, (40, 0, 60, 20))]
    assert join_unspaced(spaced) == spaced
    data = _tsv([(1, 1, 1, "北", 96.0, 0, 0, 40, 40), (1, 1, 1, "京", 95.0, 44, 0, 40, 40)])
    lines = lines_from_data(data, scaled_placer(Region(-1, (0, 0, 100, 100)), 1.0), 55.0)
    assert [ln.text for ln in lines] == ["北京"] and lines[0].script == "Han"
    assert letters("北京") == 4 and letters("Rue 3") == 4 and letters("दिल्ली") == 6


def test_text_scripts() -> None:
    assert text_scripts("Москва центр Moscow") == ["Cyrillic", "Latin"]
    assert text_scripts("東京駅 のりば") == ["Japanese"]  # kanji with kana
    assert text_scripts("北京 市中心") == ["Han"]
    assert text_scripts("서울역") == ["Hangul"] and text_scripts("12 — 3") == []


def test_osd_report_is_parsed() -> None:
    report = (
        "Page number: 0\nOrientation in degrees: 270\nRotate: 90\n"
        "Orientation confidence: 1.57\nScript: Korean\nScript confidence: 2.33\n"
    )
    osd = parse_osd(report)
    assert osd is not None
    assert (osd.script, osd.script_confidence, osd.rotate) == ("Hangul", 2.33, 90)
    assert osd.orientation_confidence == 1.57
    assert parse_osd("Too few characters. Skipping this page") is None


def test_packages_and_probe_languages() -> None:
    assert apt_package("chi_sim") == "tesseract-ocr-chi-sim"
    assert apt_package("rus") == "tesseract-ocr-rus"
    found = probe_languages(["ara", "chi_sim", "eng", "fra", "rus", "ukr"], ["fra", "eng"])
    assert found == {"Latin": "fra", "Cyrillic": "rus", "Arabic": "ara", "Han": "chi_sim"}


def test_probe_winner_rules() -> None:
    def s(confidence: float, n: int = 6, own: float = 1.0) -> ProbeScore:
        return ProbeScore(confidence, n, own)

    # a clear non-Latin reading wins; a confident Latin one does not lose
    assert probe_winner({"Latin": s(40), "Cyrillic": s(96), "Thai": s(70)}, None) == "Cyrillic"
    assert probe_winner({"Latin": s(90), "Cyrillic": s(96)}, None) is None
    # the first pass's Latin reading counts, except where OSD named the winner
    assert probe_winner({"Latin": s(66), "Cyrillic": s(81)}, None, first_pass=77) is None
    assert probe_winner({"Latin": s(71), "Cyrillic": s(96)}, "Cyrillic", first_pass=91) == (
        "Cyrillic"
    )
    # readings in another script, or of two letters, are no evidence
    assert probe_winner({"Latin": s(30), "Japanese": s(90, own=0.0)}, None) is None
    assert probe_winner({"Latin": s(30), "Thai": s(82, n=3)}, None) is None
    # OSD's script wins near ties ("出口" read as Hangul 94, as Han 91)
    assert probe_winner({"Latin": s(0), "Hangul": s(94, 4), "Han": s(91, 4)}, "Han") == "Han"


def test_regions_map_turned_boxes_back() -> None:
    img = Image.new("L", (200, 100), 255)
    img.paste(0, (150, 10, 190, 30))  # a dark mark at the top right
    for rotate in (90, 180, 270):
        turned = img.rotate(-rotate, expand=True)  # clockwise, as read by a turned region
        region = Region(-1, (0, 0, *turned.size), (360 - rotate) % 360)
        upright = region.pixels(turned)
        assert upright.size == img.size and upright.getpixel((170, 20)) == 0
        mark = region.to_original((150, 10, 190, 30))
        assert turned.crop(mark).getextrema() == (0, 0), rotate


def test_merge_lines_keeps_the_best_reading_of_each_place() -> None:
    first = OcrLine(text="Toutes directions", confidence=95.5, box=(98, 260, 368, 284), region=-1)
    partial = OcrLine(text="outes directions", confidence=94.0, box=(114, 262, 368, 283), region=-1)
    other = OcrLine(text="STRASBOURG", confidence=90.0, box=(198, 143, 470, 171), region=0)
    assert merge_lines([partial, other, first]) == [other, first]


def test_summary_is_one_line() -> None:
    out = OcrOutput(
        lines=[OcrLine(text=t, confidence=90, box=(0, 0, 1, 1), region=-1) for t in "ABCD"],
        missing_languages=["kor"],
        missing_packages=["tesseract-ocr-kor"],
    )
    assert out.summary() == (
        "4 lines: A | B | C | … (kor not installed: apt-get install tesseract-ocr-kor)"
    )
    assert OcrOutput().summary() == "no text read"
    out = OcrOutput(
        lines=[OcrLine(text="Москва", confidence=96, box=(0, 0, 1, 1), region=-1)],
        scripts=["Cyrillic"],
        orientation_deg=90,
    )
    assert out.summary() == "1 line [Cyrillic]: Москва (turned 90°)"


def test_small_crops_are_upscaled() -> None:
    assert _scale_for(640, 480, crop=False) == 2.0
    assert _scale_for(200, 60, crop=True) == 3.0
    assert _scale_for(2000, 1500, crop=False) == 1.0


# --- real tesseract -------------------------------------------------------------------------


@needs_tesseract
@pytest.mark.parametrize("engine", ["auto", "tesseract"])
def test_louvre_signpost(shared_data: Path, settings: Settings, engine: str) -> None:
    out = OcrTool(settings).run(
        OcrInput(
            path=str(shared_data / "images/signs/easyocr_french_louvre_signpost.jpg"),
            engine=engine,  # type: ignore[arg-type]
        )
    )
    text = out.text.upper()
    assert "LOUVRE" in text and "PALAIS" in text and "THÉÂTRE" in text
    assert out.engine.startswith("rapidocr" if engine == "auto" else "tesseract")
    assert out.languages == ["eng", "fra"]  # OSD says Cyrillic (10.0): the probe overrules it
    assert out.scripts == ["Latin"] and out.missing_languages == []
    assert out.text == "\n".join(line.text for line in out.lines)
    assert all(line.region == -1 and line.confidence >= 55 for line in out.lines)


@needs_tesseract
@pytest.mark.parametrize("engine", ["auto", "tesseract"])
def test_hiking_guidepost(shared_data: Path, settings: Settings, engine: str) -> None:
    """Both engines read every destination of the yellow panels."""
    out = OcrTool(settings).run(
        OcrInput(
            path=str(shared_data / "images/signs/hiking_1-guidepost-on-pole.jpg"),
            engine=engine,  # type: ignore[arg-type]
        )
    )
    folded = fold(out.text)
    for name in ("nevache", "granon", "cristol", "fortville"):
        assert name in folded, out.text
    assert out.scripts == ["Latin"] and out.orientation_deg == 0
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
    photo = panel_image(
        tmp_path / "panel.jpg",
        [("Rue de la République", 32), ("Boulangerie Française", 26), ("Hôtel de Ville", 30)],
    )
    out = OcrTool(settings).run(OcrInput(engine="tesseract", path=str(photo)))
    folded = fold(out.text)
    assert "rue de la republique" in folded
    assert "boulangerie" in folded
    assert "hotel de ville" in folded  # white on blue


@needs_tesseract
@pytest.mark.parametrize("script", list(SIGNS))
def test_each_script_is_detected_and_read(tmp_path: Path, settings: Settings, script: str) -> None:
    """A drawn sign per script, languages detected (OSD and the probe), read back."""
    lang, _, _, lines = SIGNS[script]
    _needs_languages("eng", lang)
    photo = script_sign(tmp_path / f"{script}.png", script)
    out = OcrTool(settings).run(OcrInput(engine="tesseract", path=str(photo)))
    assert out.scripts[:1] == [script], out.text
    assert lang in out.languages or script == "Latin", out.languages
    want, got = _squeezed(" ".join(lines)), _squeezed(out.text)
    assert fuzz.ratio(want, got) >= 70, out.text
    if script in KEYWORDS:
        assert fold(KEYWORDS[script]) in fold(out.text), out.text
    assert out.missing_languages == [] and out.orientation_deg == 0
    assert all(same_script(line.script, script) for line in out.lines), out.lines
    for line in out.lines:  # in the panel, in original pixels
        x0, y0, x1, y1 = line.box
        assert 90 <= x0 < x1 <= 550 and 120 <= y0 < y1 <= 370, line


@needs_tesseract
def test_missing_language_pack_is_reported(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _needs_languages("eng", "rus")
    have = installed_languages()
    monkeypatch.setattr(ocr, "installed_languages", lambda: [x for x in have if x != "rus"])
    photo = script_sign(tmp_path / "moscow.png", "Cyrillic")
    out = OcrTool(settings).run(OcrInput(engine="tesseract", path=str(photo)))
    assert out.missing_languages == ["rus"]
    assert out.missing_packages == ["tesseract-ocr-rus"]
    assert "tesseract-ocr-rus" in missing_packs() and "tesseract-ocr-osd" not in missing_packs()
    assert "rus not installed: apt-get install tesseract-ocr-rus" in out.summary()
    assert "rus" not in out.languages and "Cyrillic" not in out.scripts


@needs_tesseract
def test_turned_photo_is_read_upright(tmp_path: Path, settings: Settings) -> None:
    _needs_languages("eng")
    upright = script_sign(tmp_path / "upright.png", "Latin")
    with Image.open(upright) as img:
        img.rotate(90, expand=True).save(tmp_path / "turned.png")  # counter-clockwise
    out = OcrTool(settings).run(OcrInput(engine="tesseract", path=str(tmp_path / "turned.png")))
    assert out.orientation_deg == 90 and out.osd[0].applied
    assert "marseille" in fold(out.text) and "centre ville" in fold(out.text)
    for line in out.lines:  # vertical lines, in the turned (original) image's pixels
        x0, y0, x1, y1 = line.box
        assert y1 - y0 > x1 - x0 and x0 >= 0 and x1 <= 480 and y1 <= 640


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
    for languages in (["eng", "fra"], None):
        out = OcrTool(settings).run(
            OcrInput(
                engine="tesseract",
                path=str(path),
                boxes=boxes,
                whole_image=False,
                languages=languages,
            )
        )
        by_text = {line.text: line for line in out.lines}
        assert set(by_text) == {"Annecy", "GRENOBLE"}
        assert by_text["Annecy"].region == 0 and by_text["GRENOBLE"].region == 1
        word = next(w for w in out.words if w.text == "GRENOBLE")
        for got, want in zip(word.box, truth, strict=True):
            assert abs(got - want) <= 4, (word.box, truth)


@needs_tesseract
def test_small_non_latin_crop_is_read_in_place(tmp_path: Path, settings: Settings) -> None:
    """A small sign (18 px text) in a crop: upscaled x3, its script found, boxes mapped back."""
    _needs_languages("eng", "rus")
    font_path = NOTO / "NotoSans-Bold.ttf"
    if not font_path.is_file():
        pytest.skip(f"{font_path} missing (fonts-noto-core)")
    img = Image.new("RGB", (640, 480), (112, 140, 100))
    draw = ImageDraw.Draw(img)
    draw.rectangle([400, 300, 560, 350], fill=(240, 240, 236))
    font = ImageFont.truetype(str(font_path), 18)
    draw.text((480, 325), "Новосибирск", font=font, fill=(20, 20, 20), anchor="mm")
    truth = draw.textbbox((480, 325), "Новосибирск", font=font, anchor="mm")
    img.save(tmp_path / "small.png")
    crop = Box(x0=0.61, y0=0.6, x1=0.89, y1=0.75)  # the panel and a margin, 180x72 px
    out = OcrTool(settings).run(
        OcrInput(
            engine="tesseract", path=str(tmp_path / "small.png"), boxes=[crop], whole_image=False
        )
    )
    assert out.text == "Новосибирск" and out.scripts == ["Cyrillic"]
    line = out.lines[0]
    assert line.region == 0 and line.language == "rus+eng"
    for got, want in zip(line.box, truth, strict=True):
        assert abs(got - want) <= 4, (line.box, truth)


@needs_tesseract
@needs_font
def test_missing_language_is_listed(tmp_path: Path, settings: Settings) -> None:
    absent = next(c for c in ("kor", "tha", "heb", "zzz") if c not in installed_languages())
    photo = panel_image(tmp_path / "p.jpg", [("Sortie", 40), ("Parking", 40)], size=(320, 240))
    out = OcrTool(settings).run(
        OcrInput(engine="tesseract", path=str(photo), languages=["eng", absent])
    )
    assert out.languages == ["eng"] and out.missing_languages == [absent]
    assert out.missing_packages == [apt_package(absent)]
    assert f"{absent} not installed" in out.summary()
    assert out.osd == []  # languages given: no detection
    # none installed: the configured defaults are used, and all requested are listed
    out = OcrTool(settings).run(OcrInput(engine="tesseract", path=str(photo), languages=[absent]))
    assert out.languages == ["eng", "fra"] and out.missing_languages == [absent]


def test_missing_tesseract_is_unavailable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, settings: Settings
) -> None:
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", str(tmp_path / "no-tesseract"))
    assert OcrTool(settings).unavailable_reason() is None  # the scene reader still reads
    with pytest.raises(ToolUnavailable, match="apt-get install tesseract-ocr"):
        OcrTool(settings).run(OcrInput(path=str(tmp_path / "x.jpg"), engine="tesseract"))
    assert installed_languages() == [] and not osd_available()
    assert missing_packs(["Latin", "Han"]) == [
        "tesseract-ocr-osd",
        "tesseract-ocr-eng",
        "tesseract-ocr-chi-sim",
    ]
    box = ToolBox(settings)
    try:
        out, call = box.call(
            "ocr",
            {"path": str(tmp_path / "x.jpg"), "engine": "tesseract"},
            stage="details",
            call_id="t2",
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
    photo = panel_image(tmp_path / "p.jpg", [("Sortie", 40), ("Parking", 40)])
    with pytest.raises(ToolError, match="nothing to read"):
        OcrTool(settings).run(OcrInput(engine="tesseract", path=str(photo), whole_image=False))
    hurried = settings.model_copy(update={"tool_timeout_s": 0.001})
    with pytest.raises(ToolTimeout):
        OcrTool(hurried).run(OcrInput(engine="tesseract", path=str(photo)))
    with pytest.raises(ToolTimeout):
        OcrTool(hurried).run(OcrInput(engine="tesseract", path=str(photo), languages=["eng"]))


def test_make_sign_falls_back_without_dejavu(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    module = _make_sign_module()
    monkeypatch.setattr(module, "FONT_PATH", tmp_path / "missing.ttf")
    with pytest.warns(RuntimeWarning, match="fonts-dejavu-core"):
        photo = module.make_sign(tmp_path / "fallback.jpg")
    with Image.open(photo) as img:
        assert img.size == (640, 480)
