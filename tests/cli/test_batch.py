"""Batches at the command line: folders, patterns, progress, a summary; early input errors."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from gre.cli import app
from gre.cli.photos import expand


@pytest.fixture
def album(tmp_path: Path) -> Path:
    """Three photos (one in a sub-folder, one PNG), a text file and a hidden folder."""
    root = tmp_path / "album"
    (root / "day2").mkdir(parents=True)
    (root / ".thumbs").mkdir()
    for path, colour in (
        (root / "a.jpg", (120, 130, 140)),
        (root / "b.PNG", (90, 100, 60)),
        (root / "day2" / "c.jpeg", (200, 190, 180)),
        (root / ".thumbs" / "t.jpg", (0, 0, 0)),
    ):
        Image.new("RGB", (96, 64), colour).save(path)
    (root / "notes.txt").write_text("not a photo")
    return root


def test_folders_and_patterns_name_their_images_only(album: Path) -> None:
    photos, errors = expand([album])
    assert [p.name for p in photos] == ["a.jpg", "b.PNG", "c.jpeg"] and errors == []
    photos, errors = expand([f"{album}/**/*.jp*g", album / "a.jpg"])
    assert [p.name for p in photos] == ["a.jpg", "c.jpeg"]  # repeats named once
    empty = album / "day2" / "empty"
    empty.mkdir()
    photos, errors = expand([empty, f"{album}/*.tif", album / "missing.jpg"])
    assert [p.name for p in photos] == ["missing.jpg"]  # reported when it is opened
    assert len(errors) == 2 and errors[0] == f"no photos in {empty} (no files)"
    assert "no photos match" in errors[1]


def test_a_folder_is_a_batch_with_progress_and_a_summary(runner: CliRunner, album: Path) -> None:
    result = runner.invoke(app, ["locate", str(album)])
    assert result.exit_code == 0, result.output
    assert "photo 1/3" in result.stdout and "photo 3/3" in result.stdout
    assert "3 photos" in result.stdout  # the summary table
    for name in ("a.jpg", "b.PNG", "c.jpeg"):
        assert name in result.stdout.split("3 photos")[1]


def test_jobs_run_a_batch_at_once_and_json_progress_goes_to_stderr(
    runner: CliRunner, album: Path
) -> None:
    result = runner.invoke(app, ["locate", "--json", "--jobs", "2", str(album)])
    assert result.exit_code == 0, result.output
    traces = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert sorted(Path(t["photo"]["path"]).name for t in traces) == ["a.jpg", "b.PNG", "c.jpeg"]
    progress = [ln for ln in result.stderr.splitlines() if ln.startswith("[")]
    assert sorted(ln[:5] for ln in progress) == ["[1/3]", "[2/3]", "[3/3]"]


def test_nothing_to_locate_is_said_before_any_tool_starts(
    runner: CliRunner, tmp_path: Path
) -> None:
    result = runner.invoke(app, ["locate", str(tmp_path / "missing.jpg")])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: {tmp_path / 'missing.jpg'}: no such file"
    assert result.stdout == ""  # no gazetteer, OCR or model was started
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["locate", str(empty)])
    assert result.exit_code == 1
    assert result.stderr == f"error: no photos in {empty} (no files)\n"


def test_a_folder_of_many_files_that_are_not_photos_is_one_quick_line(
    runner: CliRunner, tmp_path: Path
) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    for i in range(10_000):
        (folder / f"row{i}.{('txt', 'csv', 'json', 'jpg.part')[i % 4]}").touch()
    (folder / ".hidden.jpg").touch()  # hidden: neither a photo nor counted
    t0 = time.perf_counter()
    result = runner.invoke(app, ["locate", str(folder)])
    took = time.perf_counter() - t0
    assert result.exit_code == 1 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: no photos in {folder} (10,000 files, none an image type: ")
    assert "jpg" in line and isinstance(result.exception, SystemExit)  # an exit, no traceback
    assert took < 2.0, f"{took:.2f} s"


def test_misspelt_settings_and_a_missing_config_file_are_one_line_errors(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRE_OFLINE", "1")
    result = runner.invoke(app, ["locate", "x.jpg"])
    assert result.exit_code == 2
    assert "GRE_OFLINE (did you mean GRE_OFFLINE?)" in result.stderr
    monkeypatch.delenv("GRE_OFLINE")
    config = tmp_path / "config.toml"
    config.write_text("ofline = true\n")
    monkeypatch.setenv("GRE_CONFIG", str(config))
    result = runner.invoke(app, ["doctor", "--offline"])
    assert result.exit_code == 2 and "ofline (did you mean offline?)" in result.stderr
    monkeypatch.setenv("GRE_CONFIG", str(tmp_path / "nowhere.toml"))
    result = runner.invoke(app, ["doctor", "--offline"])
    assert result.exit_code == 2 and "which is not a file" in result.stderr
    assert all(len(r.stderr.splitlines()) == 1 for r in [result])


def test_tools_run_refuses_unknown_fields_and_lists_network_use(runner: CliRunner) -> None:
    args = ["tools", "run", "gazetteer", "--arg", "mode=lookup", "--arg", "nme=Paris"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "unknown input field(s): nme (did you mean name?)" in result.stderr
    listing = runner.invoke(app, ["tools", "list", "--json"])
    network = {t["name"]: t["network"] for t in json.loads(listing.stdout)["tools"]}
    assert network["geocode"] == "optional" and network["overpass"] == "yes"
    assert network["gazetteer"] == "no"


def test_a_spinner_names_the_running_tool_on_a_terminal() -> None:
    import io

    from rich.console import Console

    from gre.events import NodeStart, ToolStart
    from gre.render import LiveRenderer

    buffer = io.StringIO()
    terminal = Console(file=buffer, force_terminal=True, width=80)
    live = LiveRenderer(terminal)
    live(ToolStart(node="details", tool="ocr", params={}))
    assert live._status is not None  # a spinner runs while OCR does
    live(NodeStart(node="semantic"))
    assert live._status is None  # any other event stops it before printing
    live.close()
    assert "ocr running" in buffer.getvalue()
    plain = LiveRenderer(Console(file=io.StringIO(), force_terminal=False))
    plain(ToolStart(node="details", tool="ocr", params={}))
    assert plain._status is None  # no spinner in a pipe or a log file


def test_every_export_is_written_from_one_batch(
    runner: CliRunner, album: Path, tmp_path: Path
) -> None:
    import csv
    import io

    from fastkml import kml

    out = tmp_path / "out"
    out.mkdir()
    args = ["locate", str(album)]
    for flag, name in (("--geojson", "a.geojson"), ("--kml", "a.kml"), ("--csv", "a.csv")):
        args += [flag, str(out / name)]
    args += ["--html", str(out / "a.html")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads((out / "a.geojson").read_text())
    assert data["type"] == "FeatureCollection"
    assert sum(f["properties"].get("role") == "abstained" for f in data["features"]) == 3
    rows = list(csv.DictReader(io.StringIO((out / "a.csv").read_text())))
    assert [Path(r["photo"]).name for r in rows] == ["a.jpg", "b.PNG", "c.jpeg"]
    assert kml.KML.from_string((out / "a.kml").read_bytes()) is not None
    page = (out / "a.html").read_text()
    assert "<html" in page.lower() and "c.jpeg" in page


def test_an_export_that_cannot_be_written_is_refused_before_the_batch(
    runner: CliRunner, album: Path, tmp_path: Path
) -> None:
    under_a_file = album / "notes.txt" / "x.kml"
    result = runner.invoke(app, ["locate", str(album), "--kml", str(under_a_file)])
    assert result.exit_code == 2
    assert "is a file, not a folder" in result.stderr and result.stdout == ""
    result = runner.invoke(app, ["locate", str(album), "--csv", str(tmp_path)])
    assert result.exit_code == 2 and "is a folder" in result.stderr
