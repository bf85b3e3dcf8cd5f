"""The example plugin under examples/, installed for real, is found and used like a built-in."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from gre.agent.vlm.scripted import ScriptedBackend
from gre.config import Settings
from gre.graphs.locator import Locator
from gre.testing.plugins import install_plugin, on_path
from gre.testing.tool_contract import check_tool
from gre.tools.base import ToolRegistry

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "examples" / "gre-utc-offset"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """pip-install the plugin (its own pyproject) into a private directory on sys.path."""
    plugin = install_plugin(PLUGIN, tmp_path_factory.mktemp("plugin-site"))
    assert plugin.modules == ("gre_utc_offset",)
    with on_path(plugin):
        yield plugin.target


def test_registry_finds_the_plugin(installed: Path) -> None:
    registry = ToolRegistry.discover()
    spec = registry.get("utc_offset")
    assert spec.package == "gre-utc-offset"
    assert not spec.needs_network
    assert "gazetteer" in registry.names() and registry.load_errors == []


def test_plugin_keeps_the_contract(installed: Path, tmp_path: Path) -> None:
    cls = ToolRegistry.discover().get("utc_offset").cls
    calls = check_tool(
        cls,
        valid=[
            {"offset": "+02:00", "date": "2024-07-01"},
            {"offset": "-0500", "date": "2024-01-15"},
        ],
        invalid=[{"offset": "+99:00"}, {"offset": "+02:00", "date": "yesterday"}, {}],
        cache_dir=tmp_path,
    )
    summer = calls[0]
    assert summer.ok and "UTC+2" in summer.summary


def test_cli_lists_and_runs_the_plugin(installed: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(installed), "GRE_CACHE_DIR": str(tmp_path)}
    gre = [sys.executable, "-m", "gre.cli"]
    listed = subprocess.run(
        [*gre, "tools", "list", "--json"], env=env, capture_output=True, text=True, check=True
    )
    tools = {t["name"]: t for t in json.loads(listed.stdout)["tools"]}
    assert tools["utc_offset"]["package"] == "gre-utc-offset"
    ran = subprocess.run(
        [*gre, "tools", "run", "utc_offset", "--arg", "offset=+02:00", "--arg", "date=2024-07-01"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    out = json.loads(ran.stdout)
    assert "Europe/Paris" in out["zones"] and "Africa/Johannesburg" in out["zones"]
    assert (out["lon_min"], out["lon_max"]) == (15.0, 45.0)
    bad = subprocess.run(
        [*gre, "tools", "run", "utc_offset", "--arg", "offset=noon"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "offset" in bad.stderr


def _city(name: str, cc: str, lat: float, lon: float) -> dict[str, object]:
    return {
        "level": "city",
        "name": name,
        "country_code": cc,
        "lat": lat,
        "lon": lon,
        "confidence": 0.6,
    }


def test_the_offset_contradicts_a_place_3000_km_east_of_its_band(
    installed: Path, photo: Path, settings: Settings
) -> None:
    """A winter photo at UTC+1: Dijon fits; Karaganda, 3,000 km east of the band, does not."""
    band_edge = 30.0  # UTC+1: 15 ± 15 degrees
    lat, east = 49.80, 73.10  # Karaganda, Kazakhstan (UTC+5)
    beyond_km = (east - band_edge) * 111.32 * math.cos(math.radians(lat))
    assert 2900 < beyond_km < 3200
    script = [
        {
            "stage": "scene",
            "tool_requests": [
                {"tool": "utc_offset", "input": {"offset": "+01:00", "date": "2024-01-15"}}
            ],
        },
        {
            "stage": "semantic",
            "hypotheses": [
                _city("Dijon", "FR", 47.32, 5.04),
                _city("Far East", "KZ", lat, east),
                _city("Far East, no country", None, lat, east),  # type: ignore[arg-type]
            ],
        },
    ]
    with Locator(settings, backend=ScriptedBackend.from_data(script)) as loc:
        trace = loc.locate(photo)
    offset = next(e for e in trace.evidence if e.tool == "utc_offset")
    assert (
        offset.ok and "FR" in offset.result["countries"] and "KZ" not in offset.result["countries"]
    )
    by_label = {c.label: c for c in trace.candidates}
    dijon, far, unknown = (by_label[n] for n in ("Dijon", "Far East", "Far East, no country"))
    assert far.id in offset.contradicts and unknown.id in offset.contradicts
    assert dijon.id in offset.supports and dijon.id not in offset.contradicts
    assert far.weight == pytest.approx(0.6 * 0.4) and dijon.weight == pytest.approx(0.6)
    assert trace.prediction.label == "Dijon"


def test_without_a_model_the_plugin_is_used_when_it_suggests_itself(
    installed: Path, tmp_path: Path, settings: Settings
) -> None:
    """Tools only: EXIF records UTC+9, so the planner runs utc_offset, which checks the text."""
    font = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
    if not font.exists():
        pytest.skip("DejaVu fonts not installed")
    image = Image.new("RGB", (900, 220), (250, 250, 245))
    ImageDraw.Draw(image).text(
        (40, 80), "STRASBOURG", fill=(10, 10, 10), font=ImageFont.truetype(str(font), 64)
    )
    exif = Image.Exif()
    sub = exif.get_ifd(0x8769)  # the Exif IFD: capture time and its UTC offset
    sub[0x9003], sub[0x9011] = "2024:01:15 10:00:00", "+09:00"
    photo = tmp_path / "sign.jpg"
    image.save(photo, exif=exif)
    with Locator(settings) as loc:
        trace = loc.locate(photo)
    offset = next(e for e in trace.evidence if e.tool == "utc_offset")
    assert offset.requested_by == "planner" and offset.query == {
        "offset": "+09:00",
        "date": "2024-01-15",
    }
    strasbourg = next(c for c in trace.candidates if c.label == "Strasbourg")
    assert strasbourg.id in offset.contradicts  # France was not at UTC+9 that day
    assert strasbourg.weight == pytest.approx((strasbourg.prior or 0) * 0.4)
    assert [e.tool for e in trace.evidence].count("utc_offset") == 1  # suggested once
