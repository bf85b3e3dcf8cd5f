"""HTML report: one self-contained page, checked as text and rendered by headless Chromium
with every connection beyond this machine refused (the page must draw without a network)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gre.export import to_html, write_exports
from gre.records import Trace

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
ANSWER_RED = (215, 25, 28)  # the answer marker's fill
BORDER_GREY = (122, 122, 122)  # Natural Earth outlines


def _chromium(page: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium on ``page``; all traffic goes to a closed port on loopback."""
    assert CHROMIUM is not None
    command = [
        CHROMIUM,
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--proxy-server=http://127.0.0.1:9",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--virtual-time-budget=5000",
        "--window-size=1200,900",
        *args,
        page.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def test_the_page_needs_no_other_file(batch: list[Trace]) -> None:
    page = to_html(batch)
    assert page.startswith("<!DOCTYPE html>")
    # no script, style sheet, image or frame is loaded from anywhere
    assert re.findall(r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=", page) == []
    assert "cdn.jsdelivr.net" not in page
    assert "code.jquery.com" not in page
    assert "Leaflet 1.9.3" in page  # inlined, with its licence header
    assert "url(images/" not in page  # Leaflet's CSS images are data URIs
    assert "tile.openstreetmap.org" in page  # the one thing fetched, when online


def test_text_from_photos_tools_and_models_is_escaped(answered: Trace) -> None:
    page = to_html([answered])
    assert "<script>document.title" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;document.title=&quot;pwned&quot;&lt;/script&gt;" in page
    assert "<title>gre: névache sign.jpg</title>" in page


def test_template_syntax_in_text_is_shown_never_run(answered: Trace) -> None:
    """folium compiles a layer's script, data and all, as a Jinja template: braces from a
    sign must not reach it as braces."""
    payload = "{{ 7*7 }} {{ cycler.__init__.__globals__.os.getpid() }} {% raw %} {# ${1+1}"
    prediction = answered.prediction.model_copy(update={"label": payload})
    assert answered.photo is not None
    photo = answered.photo.model_copy(update={"path": "photos/{{ 6*7 }}.jpg"})
    page = to_html([answered.model_copy(update={"prediction": prediction, "photo": photo})])
    # in the map's popups and tooltips (JSON, with & written \u0026)
    assert r"\u0026#123;\u0026#123; 7*7 \u0026#125;\u0026#125;" in page
    report = page[page.index("<main class='gre-report'>") :]
    assert payload in report  # the report shows it as written
    assert "<title>gre: {{ 6*7 }}.jpg</title>" in page
    assert "42.jpg" not in page
    assert ": 49 " not in page


def test_the_report_shows_the_staged_trace(answered: Trace) -> None:
    page = to_html([answered])
    start = page.index("<main class='gre-report'>")
    assert page.index('class="folium-map"') < start  # the map first, then the trace
    report = page[start:]
    for expected in (
        "Névache, Provence-Alpes-Côte d&#x27;Azur, FR",
        "<h3>Alternatives</h3>",
        "#1 Briançon",
        "Stages (2)",
        "details · round 0",
        "Tool calls (3)",
        "+0.50 s",  # the OCR call began half a second into the run
        "812 ms",
        "skipped: offline",
        "Candidates (3)",
        "Evidence (3)",
        "GeoNames (CC BY 4.0)",
        "Natural Earth",
    ):
        assert expected in report, expected
    assert "<details open>" in report  # one photo: everything unfolded


def test_a_batch_has_a_section_per_photo(batch: list[Trace]) -> None:
    page = to_html(batch)
    assert page.count("<section class='photo'") == len(batch)
    assert "4 answered, 1 abstained, 1 error" in page
    assert "<details open>" not in page  # a batch: folded
    assert "<title>gre: 6 photos</title>" in page


@needs_chromium
def test_chromium_draws_the_map_offline(batch: list[Trace], tmp_path: Path) -> None:
    (target,) = write_exports(batch, html=tmp_path / "report.html")
    dom = _chromium(target, tmp_path, "--dump-dom").stdout
    # Leaflet ran: it took over the map's div and drew the vector layers as SVG paths
    assert re.search(r'class="folium-map leaflet-container[^"]*"', dom)
    assert dom.count("leaflet-interactive") > 150  # country outlines, circles, markers
    assert "Natural Earth" in dom  # the borders layer's attribution
    assert "Provence-Alpes-Côte d'Azur" in dom
    assert "4 answered, 1 abstained, 1 error" in dom
    # the sign's markup stayed text: no element was made, no script changed the title
    assert "<title>gre: 6 photos</title>" in dom
    assert "pwned</title>" not in dom
    assert '<img src="x"' not in dom
    assert "&lt;script&gt;document.title" in dom


@needs_chromium
def test_chromium_screenshot_shows_the_answer_and_the_borders(
    answered: Trace, tmp_path: Path
) -> None:
    (target,) = write_exports([answered], html=tmp_path / "one.html")
    shot = tmp_path / "shot.png"
    _chromium(target, tmp_path, f"--screenshot={shot}")
    image = Image.open(shot).convert("RGB")
    assert image.size == (1200, 900)
    map_area = np.asarray(image.crop((0, 0, 1200, 500)), dtype=np.int16)

    def near(colour: tuple[int, int, int], tolerance: int = 30) -> int:
        return int((np.abs(map_area - np.array(colour)) <= tolerance).all(axis=2).sum())

    assert near(ANSWER_RED) > 30  # the answer's marker and circle
    assert near(BORDER_GREY, 12) > 100  # country outlines, drawn without tiles
