"""Drawn signs through the whole tools-only graph: OCR, text clues, gazetteer, answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from gre.config import Settings
from gre.graphs.locator import Locator
from gre.testing.signs import guide_sign, panel_image
from gre.tools.ocr import scene

pytestmark = pytest.mark.skipif(not scene.available(), reason="rapidocr is not installed")


def test_a_hangul_and_latin_place_name_sign_gives_korea(tmp_path: Path, settings: Settings) -> None:
    lines = [("서울", "Hangul"), ("Seoul  56 km", "Latin"), ("부산", "Hangul")]
    photo = guide_sign(tmp_path / "guide.jpg", [*lines, ("Busan  205 km", "Latin")])
    with Locator(settings) as loc:
        trace = loc.locate(photo)
    pred = trace.prediction
    assert not pred.abstained and pred.country_code == "KR"
    assert "Seoul" in pred.reason or "Busan" in pred.reason


def test_dictionary_words_name_no_place(tmp_path: Path, settings: Settings) -> None:
    photo = panel_image(tmp_path / "rules.jpg", [("NO LITTER", 64), ("CROSS HERE", 56)])
    with Locator(settings) as loc:
        trace = loc.locate(photo)
    read = " ".join(ev.text for ev in trace.evidence if ev.tool == "ocr")
    assert "LITTER" in read.upper()  # the words were read, and still name nothing
    pred = trace.prediction
    assert pred.abstained, pred.label
    assert "LITTER" in pred.reason.upper()


def test_an_abstention_names_the_tool_that_timed_out(tmp_path: Path, settings: Settings) -> None:
    photo = panel_image(tmp_path / "sign.jpg", [("Marseille", 64), ("centre ville", 56)])
    hurried = settings.model_copy(update={"tool_timeout_s": 0.01})
    with Locator(hurried) as loc:
        trace = loc.locate(photo)
    pred = trace.prediction
    assert pred.abstained and "ocr" in pred.reason and "timed out" in pred.reason
