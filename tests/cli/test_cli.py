"""The command line, through typer's runner with output captured."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from gre.cli import app
from gre.geo import haversine_km

NEVACHE = (45.0197, 6.6036)
PARIS = (48.8566, 2.3522)
STRASBOURG = (48.5734, 7.7521)


def _traces(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def _distance(trace: dict[str, Any], point: tuple[float, float]) -> float:
    pred = trace["prediction"]
    assert pred["lat"] is not None, pred
    return haversine_km(pred["lat"], pred["lon"], *point)


def test_help_and_version(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "locate" in result.stdout and "tools" in result.stdout
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.startswith("gre ")


def test_tools_list_shows_builtins(runner: CliRunner) -> None:
    result = runner.invoke(app, ["tools", "list", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    names = {t["name"]: t for t in data["tools"]}
    assert {"exif", "ocr", "text_clues", "gazetteer"} <= set(names)
    assert names["exif"]["package"] == "gre-suite"
    assert data["errors"] == []
    table = runner.invoke(app, ["tools", "list"])
    assert "gazetteer" in table.stdout and "gre-suite" in table.stdout


def test_exif_photo_within_1_km(runner: CliRunner, shared_data: Path) -> None:
    photo = shared_data / "images/exif/exifsamples_arezzo_DSCN0010.jpg"
    result = runner.invoke(app, ["locate", "--json", str(photo)])
    assert result.exit_code == 0, result.output
    (trace,) = _traces(result.stdout)
    assert _distance(trace, (43.4674483, 11.8851267)) < 1.0
    pred = trace["prediction"]
    assert pred["level"] == "street"
    assert pred["nearest_place"]["name"] == "Arezzo"
    assert pred["country_code"] == "IT"
    tools = [c["tool"] for c in trace["tool_calls"]]
    assert tools[0] == "exif"
    exif = next(e for e in trace["evidence"] if e["tool"] == "exif")
    assert exif["supports"], "the GPS evidence must support the answer's candidate"
    nodes = {t["node"] for t in trace["timings"]}
    assert nodes >= {"ingest", "verify", "answer"}
    assert not nodes & {"scene", "details", "semantic"}, "a GPS fix answers without the stages"


def test_exif_photo_corroborated_runs_the_stages(runner: CliRunner, shared_data: Path) -> None:
    photo = shared_data / "images/exif/exifsamples_arezzo_DSCN0010.jpg"
    result = runner.invoke(app, ["locate", "--json", "--corroborate-gps", str(photo)])
    assert result.exit_code == 0, result.output
    (trace,) = _traces(result.stdout)
    assert _distance(trace, (43.4674483, 11.8851267)) < 1.0
    assert {t["node"] for t in trace["timings"]} >= {"ingest", "scene", "details", "semantic"}


def test_louvre_sign_without_metadata_is_france(runner: CliRunner, shared_data: Path) -> None:
    photo = shared_data / "images/signs/easyocr_french_louvre_signpost.jpg"
    result = runner.invoke(app, ["locate", "--json", "--ignore-metadata", str(photo)])
    assert result.exit_code == 0, result.output
    (trace,) = _traces(result.stdout)
    assert _distance(trace, PARIS) < 750
    assert trace["prediction"]["country_code"] == "FR"
    assert "exif" not in [c["tool"] for c in trace["tool_calls"]]
    text = " ".join(c["value"] for c in trace["clues"] if c["kind"] == "text").upper()
    assert "LOUVRE" in text


def test_hiking_sign_is_france_not_a_homonym_abroad(runner: CliRunner, shared_data: Path) -> None:
    """Its names are hamlets, passes and lakes; "Fortville" is also a town in Indiana.

    The place words (col, lacs, pont, du) say French, so a US homonym counts little
    and the honest tools-only answer is France.
    """
    photo = shared_data / "images/signs/hiking_1-guidepost-on-pole.jpg"
    args = ["locate", "--json", "--ignore-metadata", "--offline", str(photo)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    (trace,) = _traces(result.stdout)
    assert trace["prediction"]["country_code"] == "FR"
    assert _distance(trace, NEVACHE) < 750
    clues = next(e for e in trace["evidence"] if e["tool"] == "text_clues")["result"]
    assert clues["languages"][0]["code"] == "fr"
    # France and Congo (both French-speaking) disagree, but without a model a second look
    # at the scene cannot separate them: the tools-only run never goes back to it
    assert [s["stage"] for s in trace["stages"]].count("scene") == 1


def test_generated_example_names_its_city(runner: CliRunner, example_sign: Path) -> None:
    result = runner.invoke(app, ["locate", "--json", "--ignore-metadata", str(example_sign)])
    assert result.exit_code == 0, result.output
    (trace,) = _traces(result.stdout)
    assert _distance(trace, STRASBOURG) < 25
    assert trace["prediction"]["level"] == "city"
    assert trace["prediction"]["label"].startswith("Strasbourg")


def test_live_output_and_geojson(runner: CliRunner, example_sign: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "cands.geojson"
    result = runner.invoke(app, ["locate", str(example_sign), "--geojson", str(out)])
    assert result.exit_code == 0, result.output
    text = result.stdout
    for needle in ("ingest", "scene", "details", "semantic", "verify", "converge", "ocr", "answer"):
        assert needle in text
    assert "STRASBOURG" in text
    assert "No model configured" in text
    data = json.loads(out.read_text())
    assert data["type"] == "FeatureCollection"
    answer = data["features"][0]
    assert answer["properties"]["role"] == "answer"
    lon, lat = answer["geometry"]["coordinates"]
    assert haversine_km(lat, lon, *STRASBOURG) < 25
    assert any(f["geometry"]["type"] == "Polygon" for f in data["features"])


def test_bad_inputs_fail_cleanly_and_the_batch_goes_on(
    runner: CliRunner, tmp_path: Path, shared_data: Path
) -> None:
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.jpg"
    text.write_text("hello")
    good_src = shared_data / "images/exif/exifsamples_arezzo_DSCN0010.jpg"
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(good_src.read_bytes()[:20000])
    missing = tmp_path / "missing.jpg"
    args = ["locate", "--json", str(empty), str(text), str(good_src), str(truncated), str(missing)]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 4
    assert any("empty file" in e for e in errors)
    assert any("not an image" in e for e in errors)
    assert any("truncated or corrupt" in e for e in errors)
    assert any("no such file" in e for e in errors)
    traces = _traces(result.stdout)
    assert len(traces) == 5
    assert _distance(traces[2], (43.4674483, 11.8851267)) < 1.0
    assert all(t["prediction"]["abstained"] for i, t in enumerate(traces) if i != 2)


def test_bomb_is_refused(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photo = tmp_path / "big.png"
    Image.new("RGB", (200, 200)).save(photo)
    monkeypatch.setenv("GRE_MAX_IMAGE_PIXELS", "1000")
    result = runner.invoke(app, ["locate", str(photo)])
    assert result.exit_code == 1
    assert "decompression-bomb guard" in result.stderr


def test_bad_configuration_is_one_line(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRE_MAX_STEPS", "1")
    result = runner.invoke(app, ["locate", "x.jpg"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "max_steps" in result.stderr
    monkeypatch.delenv("GRE_MAX_STEPS")
    result = runner.invoke(app, ["locate", "--backend", "openai", "x.jpg"])
    assert result.exit_code == 2
    assert "GRE_MODEL_URL" in result.stderr and "Traceback" not in result.output
    result = runner.invoke(app, ["locate", "--backend", "vllm", "--model", "m", "x.jpg"])
    assert result.exit_code == 2
    assert "needs vLLM" in result.stderr


def test_config_file_is_read(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('backend = "scripted"\n')
    monkeypatch.setenv("GRE_CONFIG", str(cfg))
    result = runner.invoke(app, ["locate", "x.jpg"])
    assert result.exit_code == 2
    assert "needs a script file" in result.stderr
