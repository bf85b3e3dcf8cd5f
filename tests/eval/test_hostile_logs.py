"""Bad run logs and bad options for `gre eval` and `gre report`: one `error:` line, never a
traceback, and nothing written to a file that is not a run log."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner, Result

from gre.cli import app
from gre.eval.log import LogLineError, RunHeader, RunLog, SampleResult, log_state, scan_log
from gre.graphs.locator import Locator
from gre.records import Prediction, Trace
from gre.tools.base import ToolRegistry

BenchMaker = Callable[..., Path]


class Answers(Locator):
    """Answers every photo at once, without tools or a model."""

    def __init__(self, settings: object) -> None:
        super().__init__(settings, registry=ToolRegistry())  # type: ignore[arg-type]

    def locate(self, path: Path, on_event: object = None, *, leak_terms: object = None) -> Trace:
        return Trace(backend="x", prediction=Prediction(lat=1.0, lon=2.0, level="city"))


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, session_cache: Path) -> CliRunner:
    monkeypatch.setenv("GRE_CACHE_DIR", str(session_cache))
    monkeypatch.setenv("COLUMNS", "160")
    monkeypatch.setattr("gre.eval.runner.Locator", Answers)
    return CliRunner()


def _one_error(result: Result, code: int) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    return result.stderr


@pytest.fixture
def good_log(cli: CliRunner, make_bench: BenchMaker, tmp_path: Path) -> Path:
    """A finished run of 4 photos: header, then start and result lines."""
    log = tmp_path / "good.jsonl"
    result = cli.invoke(app, ["eval", str(make_bench(4)), "--out", str(log), "--quiet"])
    assert result.exit_code == 0, result.output
    return log


def _eval(cli: CliRunner, bench: Path, *extra: str) -> Result:
    return cli.invoke(app, ["eval", str(bench), "--quiet", *extra])


# --- gre eval --out and options -----------------------------------------------------------------


def _text_file(tmp: Path) -> Path:
    path = tmp / "notes.txt"
    path.write_text("my notes, no newline at the end", encoding="utf-8")
    return path


def _png(tmp: Path) -> Path:
    path = tmp / "photo.png"
    Image.new("RGB", (8, 8), (1, 2, 3)).save(path)
    return path


@pytest.mark.parametrize("make", [_text_file, _png], ids=["text", "png"])
def test_eval_out_naming_a_file_that_is_no_log_leaves_it_untouched(
    cli: CliRunner, make_bench: BenchMaker, tmp_path: Path, make: Callable[[Path], Path]
) -> None:
    target = make(tmp_path)
    before = target.read_bytes()
    message = _one_error(_eval(cli, make_bench(2), "--out", str(target)), 2)
    assert "not a gre eval log" in message and "left untouched" in message
    assert target.read_bytes() == before


def test_eval_out_naming_a_folder_or_a_path_under_a_file(
    cli: CliRunner, make_bench: BenchMaker, tmp_path: Path
) -> None:
    bench = make_bench(2)
    folder = tmp_path / "runs"
    folder.mkdir()
    assert "is a folder" in _one_error(_eval(cli, bench, "--out", str(folder)), 2)
    blocker = tmp_path / "plain"
    blocker.write_text("x", encoding="utf-8")
    message = _one_error(_eval(cli, bench, "--out", str(blocker / "run.jsonl")), 2)
    assert "cannot create its folder" in message and "is a file" in message
    assert blocker.read_text(encoding="utf-8") == "x"


@pytest.mark.parametrize(
    ("flag", "value"), [("--concurrency", "0"), ("--max-attempts", "0"), ("--limit", "0")]
)
def test_eval_out_of_range_options_are_one_line(
    cli: CliRunner, make_bench: BenchMaker, tmp_path: Path, flag: str, value: str
) -> None:
    out = tmp_path / "run.jsonl"
    message = _one_error(_eval(cli, make_bench(2), "--out", str(out), flag, value), 2)
    assert message.startswith(f"error: {flag} 0: ") and "greater than or equal to 1" in message
    assert not out.exists()


# --- bad logs -----------------------------------------------------------------------------------


def _with_line(log: Path, line: str, at: int = 3) -> Path:
    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(at - 1, line + "\n")
    bad = log.with_name(f"bad-{abs(hash(line)) % 10_000}.jsonl")
    bad.write_text("".join(lines), encoding="utf-8")
    return bad


BAD_LINES = [
    ("not JSON", "garbage, not JSON"),
    ("not a JSON object", "[1, 2, 3]"),
    (
        "invalid record: status",
        '{"type": "result", "sample_id": "s09", "lat_true": 0, "lon_true": 0}',
    ),
    ("not JSON (nested too deeply)", "[" * 100_000 + "]" * 100_000),
    ("not JSON", '{"type": "result", "x": ' + "7" * 5000 + "}"),
    (
        "a second run header",
        '{"type": "header", "run_id": "x", "created_at": "", "gre_version": "0"}',
    ),
]


@pytest.mark.parametrize(
    ("why", "line"), BAD_LINES, ids=["text", "array", "invalid", "deep", "long-int", "header"]
)
def test_a_bad_line_in_the_middle_is_named_and_skip_bad_reports_the_rest(
    cli: CliRunner, good_log: Path, tmp_path: Path, make_bench: BenchMaker, why: str, line: str
) -> None:
    bad = _with_line(good_log, line)
    with pytest.raises(LogLineError, match=re.escape(f":3: {why}")) as info:
        scan_log(bad)
    assert info.value.line == 3
    result = cli.invoke(app, ["report", str(bad), "--out", str(tmp_path / "r")])
    message = _one_error(result, 2)
    assert f"{bad}:3: {why}" in message and "--skip-bad" in message
    assert result.stdout == ""  # nothing printed before the error
    # an eval on the same log refuses it too, naming the line, and writes nothing
    before = bad.read_bytes()
    assert f"{bad}:3: {why}" in _one_error(_eval(cli, make_bench(4), "--out", str(bad)), 2)
    assert bad.read_bytes() == before
    result = cli.invoke(app, ["report", str(bad), "--skip-bad", "--json", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith(f"warning: {bad}: skipped 1 bad line (first: line 3: {why}")
    assert result.stderr.count("\n") == 1
    data = json.loads(result.stdout)
    assert data["runs"][0]["summary"]["n"] == 4  # the good records stay usable
    assert len(data["skipped"]) == 1 and "skipped 1 bad line" in data["skipped"][0]


def test_a_torn_last_line_is_not_an_error(good_log: Path) -> None:
    with good_log.open("a", encoding="utf-8") as fh:
        fh.write('{"type": "result", "sample_id": "s0')
    assert len(scan_log(good_log).results) == 4


def test_a_torn_header_is_reported_and_a_new_eval_starts_over(
    cli: CliRunner, good_log: Path, make_bench: BenchMaker, tmp_path: Path
) -> None:
    torn = tmp_path / "torn.jsonl"
    torn.write_bytes(good_log.read_bytes()[:60])
    assert log_state(torn) == "torn_header"
    message = _one_error(cli.invoke(app, ["report", str(torn)]), 2)
    assert "torn run header" in message
    result = _eval(cli, make_bench(4), "--out", str(torn))
    assert result.exit_code == 0, result.output
    assert len(scan_log(torn).results) == 4


def test_a_log_of_a_newer_schema_is_refused(
    cli: CliRunner, good_log: Path, make_bench: BenchMaker, tmp_path: Path
) -> None:
    lines = good_log.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    header.update(schema_version=99, new_required_field={"x": 1})
    newer = tmp_path / "newer.jsonl"
    future = '{"type": "verdict", "sample_id": "s00"}'
    newer.write_text("\n".join([json.dumps(header), future, *lines[1:]]) + "\n", "utf-8")
    for args in (["report", str(newer)], ["eval", str(make_bench(4)), "--out", str(newer)]):
        message = _one_error(cli.invoke(app, args), 2)
        assert "log schema 99 is newer than this gre (reads 1); upgrade gre" in message


@pytest.mark.parametrize("kind", ["png", "folder", "missing", "empty"])
def test_report_of_something_that_is_no_log(cli: CliRunner, tmp_path: Path, kind: str) -> None:
    path = tmp_path / "thing"
    if kind == "png":
        path = _png(tmp_path)
    elif kind == "folder":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    message = _one_error(cli.invoke(app, ["report", str(path)]), 2)
    assert str(path) in message


def test_report_out_naming_a_file(cli: CliRunner, good_log: Path, tmp_path: Path) -> None:
    png = _png(tmp_path)
    message = _one_error(cli.invoke(app, ["report", str(good_log), "--out", str(png)]), 1)
    assert "exists and is not a folder" in message
    message = _one_error(cli.invoke(app, ["report", str(good_log), "--out", str(png / "r")]), 1)
    assert "cannot write the report" in message


def test_a_lone_surrogate_in_a_record_is_written_readably(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    writer = RunLog(log)
    writer.append(RunHeader(run_id="r", created_at="now", gre_version="0"))
    writer.append(
        SampleResult(sample_id="s1", status="abstained", lat_true=0, lon_true=0, error="x\ud800")
    )
    writer.close()
    assert b"\\ud800" in log.read_bytes()
    assert scan_log(log).results["s1"].error == "x\ud800"
