"""`gre locate --hint/--country/--bbox/--near`: recorded, enforced, and bad ones refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont
from typer.testing import CliRunner

from gre.cli import app

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


@pytest.fixture
def sign(tmp_path: Path) -> Path:
    if not FONT.exists():
        pytest.skip("DejaVu fonts not installed")
    image = Image.new("RGB", (700, 200), (250, 250, 245))
    font = ImageFont.truetype(str(FONT), 48)
    ImageDraw.Draw(image).text((30, 70), "STRASBOURG", fill=(10, 10, 10), font=font)
    path = tmp_path / "sign.png"
    image.save(path)
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bbox", "1,2,3"], "--bbox '1,2,3': give four numbers"),
        (["--bbox", "50,0,40,10"], "--bbox: "),
        (["--bbox", "0,0,95,10"], "--bbox: "),
        (["--country", "XX"], "unknown country code 'XX'"),
        (["--hint", "a\x1b[2Jb"], "--hint: hint text must not contain control characters"),
        (["--near", "Lyon"], 'give "PLACE, RADIUS_KM"'),
        (["--near", "Lyon, 0"], 'give "PLACE, RADIUS_KM"'),
        (["--near", "Qwxzvbnm, 10"], "no place named 'Qwxzvbnm'"),
    ],
)
def test_bad_hints_are_one_line_usage_errors(
    runner: CliRunner, args: list[str], message: str
) -> None:
    result = runner.invoke(app, ["locate", *args, "x.jpg"])
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1 and message in result.stderr
    assert "\x1b" not in result.stderr


def test_hints_are_recorded_and_rule_out_what_lies_outside(runner: CliRunner, sign: Path) -> None:
    near = runner.invoke(app, ["locate", "--json", "--near", "Strasbourg, 30", str(sign)])
    assert near.exit_code == 0, near.output
    trace = json.loads(near.stdout.splitlines()[0])
    assert trace["hints"]["near"]["label"] == "Strasbourg, FR"
    assert trace["prediction"]["label"].startswith("Strasbourg")
    spain = runner.invoke(app, ["locate", "--json", "--country", "es", str(sign)])
    trace = json.loads(spain.stdout.splitlines()[0])
    assert trace["hints"]["countries"] == ["ES"]
    assert trace["prediction"]["abstained"]
    assert "hints ruled out every candidate" in trace["prediction"]["reason"]
