"""write_exports: every export at once, each written atomically; OSError for a bad path."""

from __future__ import annotations

import csv
import json
import os
import stat
from pathlib import Path

import pytest

from gre.export import to_geojson, write_exports, write_json_atomic, write_text_atomic
from gre.records import Trace


def test_it_writes_every_export_asked_for(batch: list[Trace], tmp_path: Path) -> None:
    out = tmp_path / "new" / "dir"
    written = write_exports(
        batch,
        geojson=out / "runs.geojson",
        kml=out / "runs.kml",
        csv=str(out / "runs.csv"),
        html=out / "runs.html",
    )
    assert written == [out / "runs.geojson", out / "runs.kml", out / "runs.csv", out / "runs.html"]
    assert json.loads((out / "runs.geojson").read_text(encoding="utf-8")) == to_geojson(batch)
    assert (out / "runs.kml").read_text(encoding="utf-8").startswith("<?xml")
    with (out / "runs.csv").open(newline="", encoding="utf-8") as fh:
        assert len(list(csv.DictReader(fh))) == len(batch)
    assert (out / "runs.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in out.iterdir()) == [
        "runs.csv",
        "runs.geojson",
        "runs.html",
        "runs.kml",
    ]  # no temporary file left
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644  # readable by others, as exports are


def test_nothing_asked_writes_nothing(batch: list[Trace], tmp_path: Path) -> None:
    assert write_exports(batch) == []
    assert list(tmp_path.iterdir()) == []


def test_it_accepts_a_generator_of_traces(batch: list[Trace], tmp_path: Path) -> None:
    write_exports((t for t in batch), geojson=tmp_path / "a.geojson", csv=tmp_path / "a.csv")
    assert len((tmp_path / "a.csv").read_text(encoding="utf-8").splitlines()) == len(batch) + 1
    assert json.loads((tmp_path / "a.geojson").read_text(encoding="utf-8"))["features"]


@pytest.mark.parametrize("kind", ["geojson", "kml", "csv", "html"])
def test_an_unwritable_path_raises_oserror(kind: str, answered: Trace, tmp_path: Path) -> None:
    a_file = tmp_path / "plain-file"
    a_file.write_text("x")
    inside = a_file / "inside-a-file.out"
    with pytest.raises(OSError) as raised:
        write_exports([answered], **{kind: inside})  # type: ignore[arg-type]
    assert raised.value.filename == str(inside)  # the export's path, for a one-line error
    assert raised.value.strerror
    with pytest.raises(IsADirectoryError) as raised:
        write_exports([answered], **{kind: tmp_path})  # type: ignore[arg-type]
    assert raised.value.filename == str(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain-file"]


def test_a_failed_write_keeps_the_old_file(
    answered: Trace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "runs.csv"
    target.write_text("old\n")
    target.chmod(0o600)

    def fail(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="No space left"):
        write_exports([answered], csv=target)
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["runs.csv"]
    monkeypatch.undo()
    write_exports([answered], csv=target)
    assert target.read_text(encoding="utf-8").startswith("photo,status")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # a file's own mode is kept


def test_the_old_helpers_still_work(tmp_path: Path) -> None:
    write_json_atomic(tmp_path / "a.json", {"é": [1, 2]})
    assert (tmp_path / "a.json").read_text(encoding="utf-8") == '{\n "é": [\n  1,\n  2\n ]\n}\n'
    write_text_atomic(tmp_path / "b.txt", "line\r\n")
    assert (tmp_path / "b.txt").read_bytes() == b"line\r\n"  # written as given


def test_a_prediction_with_no_valid_point_is_written_as_one_without(
    answered: Trace, tmp_path: Path
) -> None:
    broken = answered.prediction.model_copy(
        update={"lat": float("nan"), "lon": 6.6, "radius_km": float("inf")}
    )
    runs = [answered.model_copy(update={"prediction": broken})]
    write_exports(
        runs,
        geojson=tmp_path / "a.geojson",
        kml=tmp_path / "a.kml",
        csv=tmp_path / "a.csv",
        html=tmp_path / "a.html",
    )
    fc = json.loads((tmp_path / "a.geojson").read_text(encoding="utf-8"))
    assert fc["features"][0]["geometry"] is None
    assert fc["features"][0]["properties"]["status"] == "abstained"
    with (tmp_path / "a.csv").open(newline="", encoding="utf-8") as fh:
        (row,) = csv.DictReader(fh)
    assert (row["status"], row["lat"], row["radius_km"]) == ("abstained", "", "")
