"""Scene-text OCR (RapidOCR, models inside its wheel) on real photos, with tesseract for the
scripts its recogniser lacks. The socket guard is on: nothing is downloaded."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from gre.config import Settings
from gre.testing.signs import KEYWORDS, panel_image, script_sign
from gre.textnorm import fold
from gre.tools.ocr import OcrInput, OcrTool, scene
from gre.tools.ocr.geometry import Region
from gre.tools.ocr.scene import SceneLine, foreign, to_lines
from gre.tools.toolbox import ToolBox

pytest.importorskip("rapidocr")
needs_tesseract = pytest.mark.skipif(
    shutil.which("tesseract") is None, reason="tesseract is not installed"
)

# Words on the shared photos that the scene reader must read (as printed on the sign).
KEY_WORDS = {
    "devset/funmap_barcelona-espai-gossos-sign.jpg": ["Campo Sagrado", "GOSSOS"],
    "devset/funmap_paris-ville-de-paris-rats-poster.jpg": ["VILLE DE", "PARIS", "RATS"],
    "devset/funmap_tokyo-inokashira-park-leash-sign.jpg": ["井の頭恩賜公園", "Inokashira"],
    "devset/funmap_denhaag-aanlijnplicht-sign.jpg": ["aanlijnplicht"],
    "devset/funmap_munich-hunde-anleinen.jpg": ["Hunde anleinen"],
    "devset/funmap_copenhagen-christiania-bryghus-window.jpg": ["Christiania", "BRYGHUS"],
    "signs/easyocr_french_louvre_signpost.jpg": ["Palais du LOUVRE", "Musée du LOUVRE"],
    "signs/hiking_1-guidepost-on-pole.jpg": ["Névache", "Pont de Fortville"],
}


@pytest.fixture(scope="module")
def tool(session_cache: Path) -> OcrTool:
    ocr = OcrTool(Settings(cache_dir=session_cache, offline=True))
    ocr.prepare()
    return ocr


@pytest.mark.parametrize("name", list(KEY_WORDS))
def test_shared_photos_key_words_are_read(shared_data: Path, tool: OcrTool, name: str) -> None:
    out = tool.run(OcrInput(path=str(shared_data / "images" / name)))
    for word in KEY_WORDS[name]:
        assert fold(word) in fold(out.text), out.text
    assert out.engine.startswith("rapidocr")
    assert all(line.region == -1 for line in out.lines)


def test_a_pictogram_read_as_one_character_is_not_text(shared_data: Path, tool: OcrTool) -> None:
    """The Louvre's arrows come out as a lone 穴 (0.6-0.9): a line needs three letters."""
    out = tool.run(
        OcrInput(path=str(shared_data / "images/signs/easyocr_french_louvre_signpost.jpg"))
    )
    assert out.scripts == ["Latin"], out.text


@needs_tesseract
@pytest.mark.parametrize("script", ["Japanese", "Hangul", "Thai", "Arabic", "Cyrillic"])
def test_each_script_reads_its_own_script(tmp_path: Path, tool: OcrTool, script: str) -> None:
    """Japanese by the recogniser itself; Korean, Thai, Arabic, Cyrillic by tesseract's pack
    for the line, chosen by the line's probe (OSD only hints)."""
    out = tool.run(OcrInput(path=str(script_sign(tmp_path / f"{script}.png", script))))
    assert out.scripts[0] == script, out.text
    if script in ("Japanese", "Hangul", "Thai"):  # the place name itself, exactly
        assert fold(KEYWORDS[script]) in fold(out.text), out.text


@needs_tesseract
def test_look_alike_greek_is_read_as_greek(shared_data: Path, tool: OcrTool) -> None:
    """The recogniser reads ΣΚΥΛΟΣ as "ZKYAOΣ": a line with letters it does not read is
    read again by the Greek pack."""
    out = tool.run(
        OcrInput(path=str(shared_data / "images/devset/funmap_crete-greek-dog-warning.jpg"))
    )
    assert "Greek" in out.scripts and "ΚΥΛΟΣ" in out.text, out.text
    assert "tesseract" in out.engine


def test_a_12_megapixel_photo_is_read_within_its_limit(tmp_path: Path, session_cache: Path) -> None:
    """Text is detected on a copy at most 1600 px wide; small lines are read at full size."""
    photo = panel_image(
        tmp_path / "big.jpg", [("Boulevard Haussmann", 180), ("Sortie", 160)], size=(4000, 3000)
    )
    settings = Settings(cache_dir=session_cache, offline=True, tool_timeout_s=30)
    box = ToolBox(settings)
    try:
        out, call = box.call("ocr", {"path": str(photo)}, stage="details", call_id="t1")
    finally:
        box.close()
    assert call.ok, call.error
    assert out is not None and "haussmann" in fold(out.text)  # type: ignore[attr-defined]


def test_look_alikes_and_unsure_lines_are_probed_sure_ones_kept() -> None:
    assert foreign("NPOΣOXH") and foreign("TθB") and not foreign("Névache 4,2 km")
    assert not foreign("井の頭恩賜公園") and not foreign("Straße")
    region = Region(-1, (0, 0, 400, 300))
    found = [
        SceneLine("Palais du LOUVRE", 0.99, (10, 10, 200, 40)),
        SceneLine("ZKYAOΣ", 0.91, (10, 60, 120, 90)),
        SceneLine("V vi5o", 0.45, (10, 100, 90, 120)),
        SceneLine("Centre", 0.7, (10, 130, 90, 150)),
    ]
    lines, probes = to_lines(found, region)
    assert [ln.text for ln in lines] == ["Palais du LOUVRE", "Centre"]  # look-alike, junk out
    assert all(ln.language == scene.SCENE_LANGUAGE for ln in lines)
    assert [p.core for p in probes] == [(10, 60, 120, 90), (10, 100, 90, 120), (10, 130, 90, 150)]
    assert probes[0].confidence == 0.0  # a look-alike is no reading to beat
    assert probes[2].confidence == pytest.approx(70.0)
    assert all(p.box[1] < p.core[1] for p in probes if p.core)  # a margin around the line


def test_without_tesseract_the_scene_reader_still_reads(
    tmp_path: Path, session_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytesseract = pytest.importorskip("pytesseract")
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", str(tmp_path / "none"))
    photo = panel_image(tmp_path / "p.jpg", [("Rue de Rivoli", 40), ("Sortie", 40)])
    out = OcrTool(Settings(cache_dir=session_cache, offline=True)).run(OcrInput(path=str(photo)))
    assert "rivoli" in fold(out.text) and out.engine.startswith("rapidocr")
    assert "tesseract" not in out.engine


def test_images_are_downscaled_for_detection() -> None:
    small, large = Image.new("RGB", (800, 600)), Image.new("RGB", (4608, 1976))
    reader = scene.shared_reader()
    assert reader.read(small) == [] and reader.read(large) == []  # no text, and fast


def test_a_small_lines_full_size_reread_leaves_the_engine_detecting(
    tmp_path: Path, session_cache: Path
) -> None:
    """RapidOCR keeps a call's switches: after a re-read without detection, the next photo
    must still be detected."""
    small_text = panel_image(tmp_path / "wide.jpg", [("Rue", 14), ("Sortie", 12)], size=(4000, 900))
    other = panel_image(tmp_path / "next.jpg", [("Boulevard Haussmann", 40), ("Parking", 40)])
    tool = OcrTool(Settings(cache_dir=session_cache, offline=True))
    tool.run(OcrInput(path=str(small_text)))
    assert "haussmann" in fold(tool.run(OcrInput(path=str(other))).text)
