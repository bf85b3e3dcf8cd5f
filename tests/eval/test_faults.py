"""Faults during evaluation runs: a second writer, a full disk, outside kills, a model outage,
and a resume with other settings."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gre.cli import app
from gre.config import Settings
from gre.eval.datasets import Dataset, load_dataset
from gre.eval.log import (
    LogBusy,
    LogWriteError,
    RunHeader,
    RunLog,
    SampleStart,
    scan_log,
)
from gre.eval.runner import EvalConfig, EvalError, Progress, Runner, blame, model_failure
from gre.graphs.locator import Locator
from gre.records import Generation, Prediction, StageResult, Trace
from gre.testing.fake_openai import FakeOpenAI, Reply
from gre.tools.base import ToolRegistry

BenchMaker = Callable[..., Path]

PARIS = (48.8566, 2.3522)
ANSWER = f"<think>x</think><answer>Latitude: {PARIS[0]}, Longitude: {PARIS[1]}</answer>"


class OkLocator(Locator):
    """Answers every photo at once; records how many photos were in flight at each start."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, registry=ToolRegistry())
        self.lock = threading.Lock()
        self.in_flight = 0
        self.seen: dict[str, int] = {}

    def locate(self, path: Path, on_event: Any = None, *, leak_terms: Any = None) -> Trace:
        with self.lock:
            self.in_flight += 1
            self.seen[path.stem] = self.in_flight
        time.sleep(0.02)
        with self.lock:
            self.in_flight -= 1
        return Trace(backend="x", prediction=Prediction(lat=1.0, lon=2.0, level="city"))


def _run(
    data: Dataset,
    settings: Settings,
    log: Path,
    locator: Callable[[Settings], Locator] = OkLocator,
    **config: Any,
) -> tuple[Progress, Any]:
    made: list[Locator] = []

    def factory(s: Settings) -> Locator:
        made.append(locator(s))
        return made[-1]

    runner = Runner(data, settings, EvalConfig(**config), log, locator_factory=factory)
    progress = asyncio.run(runner.run())
    return progress, made[0] if made else None


def _lines(log: Path) -> list[dict[str, Any]]:
    text = log.read_text(encoding="utf-8")
    assert text == "" or text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def _result_ids(log: Path) -> list[str]:
    return sorted(r["sample_id"] for r in _lines(log) if r["type"] == "result")


# --- one writer per log -------------------------------------------------------------------------


def test_a_second_runner_on_a_log_in_use_is_refused(
    tmp_path: Path, settings: Settings, make_bench: BenchMaker
) -> None:
    data = load_dataset(make_bench(3))
    log = tmp_path / "run.jsonl"
    entered, gate = threading.Event(), threading.Event()

    class Held(OkLocator):
        def locate(self, path: Path, on_event: Any = None, *, leak_terms: Any = None) -> Trace:
            entered.set()
            gate.wait(20)
            return super().locate(path, on_event, leak_terms=leak_terms)

    first = Runner(data, settings, EvalConfig(concurrency=1), log, locator_factory=Held)
    thread = threading.Thread(target=lambda: asyncio.run(first.run()))
    thread.start()
    try:
        assert entered.wait(20)
        second = Runner(data, settings, EvalConfig(), log, locator_factory=OkLocator)
        with pytest.raises(LogBusy, match=rf"another gre eval \(pid {os.getpid()}\)"):
            asyncio.run(second.run())
    finally:
        gate.set()
        thread.join(20)
    assert _result_ids(log) == ["s00", "s01", "s02"]  # the second runner wrote nothing
    assert not (tmp_path / "run.jsonl.lock").exists()
    progress, _ = _run(data, settings, log)  # free again once the first is done
    assert progress.skipped == 3 and progress.done == 0


HOLD = """
import sys, time
from pathlib import Path
from gre.eval.log import LogLock
LogLock(Path(sys.argv[1])).acquire()
print("held", flush=True)
time.sleep(120)
"""


def test_a_log_locked_by_another_process_is_refused_and_a_dead_lock_is_not(
    tmp_path: Path, settings: Settings, make_bench: BenchMaker
) -> None:
    bench = make_bench(2)
    log = tmp_path / "run.jsonl"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(log)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        result = CliRunner().invoke(
            app, ["eval", str(bench), "--out", str(log), "--quiet", "--graph", "direct"]
        )
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert result.exit_code == 1, result.output
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
    assert f"another gre eval (pid {holder.pid}) is writing this log" in result.stderr
    assert not log.exists()
    assert (tmp_path / "run.jsonl.lock").exists()  # left behind by the killed holder
    progress, _ = _run(load_dataset(bench), settings, log)
    assert progress.done == 2 and _result_ids(log) == ["s00", "s01"]


# --- a full disk --------------------------------------------------------------------------------


class DiskFull:
    """Replaces RunLog._write_all: from the ``at``-th write on, half the bytes land, then ENOSPC."""

    def __init__(self, at: int) -> None:
        self.at = at
        self.calls = 0
        self.real = RunLog._write_all

    def __call__(self, fd: int, data: bytes) -> None:
        self.calls += 1
        if self.calls >= self.at:
            os.write(fd, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.real(fd, data)


def test_disk_full_at_the_header_leaves_an_empty_log_that_starts_again(
    tmp_path: Path, settings: Settings, make_bench: BenchMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = load_dataset(make_bench(3))
    log = tmp_path / "run.jsonl"
    monkeypatch.setattr(RunLog, "_write_all", staticmethod(DiskFull(at=1)))
    with pytest.raises(LogWriteError, match="No space left on device"):
        _run(data, settings, log)
    assert log.read_bytes() == b""  # the torn header was cut off again
    monkeypatch.undo()
    progress, _ = _run(data, settings, log)
    assert progress.done == 3 and _result_ids(log) == ["s00", "s01", "s02"]


@pytest.mark.parametrize("cut_fails", [False, True])
def test_disk_full_mid_run_stops_keeps_the_log_readable_and_resumes(
    tmp_path: Path,
    settings: Settings,
    make_bench: BenchMaker,
    monkeypatch: pytest.MonkeyPatch,
    cut_fails: bool,
) -> None:
    data = load_dataset(make_bench(4))
    log = tmp_path / "run.jsonl"
    # writes: 1 header, 2 start s00, 3 result s00, 4 start s01, 5 result s01 (torn)
    monkeypatch.setattr(RunLog, "_write_all", staticmethod(DiskFull(at=5)))
    if cut_fails:  # the torn half line stays at the end of the file
        monkeypatch.setattr(RunLog, "_cut", staticmethod(lambda fd, size: None))
    with pytest.raises(LogWriteError, match="cannot write the run log"):
        _run(data, settings, log, concurrency=1)
    assert log.read_bytes().endswith(b"\n") != cut_fails
    assert set(scan_log(log).results) == {"s00"}  # no torn record is counted
    monkeypatch.undo()
    progress, _ = _run(data, settings, log, concurrency=1)
    assert progress.skipped == 1 and progress.done == 3 and progress.failed == 0
    assert _result_ids(log) == ["s00", "s01", "s02", "s03"]  # each exactly once, all lines JSON
    assert {r.status for r in scan_log(log).results.values()} == {"ok"}


def test_fsync_failing_stops_the_run_with_one_line(
    tmp_path: Path,
    make_bench: BenchMaker,
    monkeypatch: pytest.MonkeyPatch,
    session_cache: Path,
) -> None:
    bench = make_bench(3)
    log = tmp_path / "run.jsonl"
    calls = {"n": 0}

    def sync(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] >= 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        os.fsync(fd)

    monkeypatch.setattr(RunLog, "_sync", staticmethod(sync))
    monkeypatch.setattr("gre.eval.runner.Locator", OkLocator)
    monkeypatch.setenv("GRE_CACHE_DIR", str(session_cache))
    result = CliRunner().invoke(
        app, ["eval", str(bench), "--out", str(log), "--quiet", "--concurrency", "1"]
    )
    assert result.exit_code == 1, result.output
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
    assert "No space left on device" in result.stderr and "run it again" in result.stderr
    assert scan_log(log).results == {}  # the result whose fsync failed was cut off
    monkeypatch.setattr(RunLog, "_sync", staticmethod(os.fsync))
    result = CliRunner().invoke(app, ["eval", str(bench), "--out", str(log), "--quiet"])
    assert result.exit_code == 0, result.output
    assert _result_ids(log) == ["s00", "s01", "s02"]


# --- outside kills ------------------------------------------------------------------------------


def _orphans(log: Path, session: str, ids: list[str], attempt: int = 1) -> None:
    """Start records of a process that died with ``ids`` in flight."""
    writer = RunLog(log)
    for sample_id in ids:
        writer.append(SampleStart(sample_id=sample_id, attempt=attempt, session=session))
    writer.close()


def test_kills_with_several_photos_in_flight_blame_none_of_them(
    tmp_path: Path, settings: Settings, make_bench: BenchMaker
) -> None:
    data = load_dataset(make_bench(5))
    log = tmp_path / "run.jsonl"
    Runner(data, settings, EvalConfig(), log).plan()
    _orphans(log, "first", ["s00", "s01", "s02"], attempt=1)
    _orphans(log, "second", ["s00", "s01", "s02"], attempt=2)
    attempts, suspects = blame(scan_log(log))
    assert attempts == {"s00": 0, "s01": 0, "s02": 0}
    assert suspects == {"s00", "s01", "s02"}
    progress, locator = _run(data, settings, log, concurrency=4, max_attempts=2)
    assert progress.done == 5 and progress.failed == 0
    results = scan_log(log).results
    assert {r.status for r in results.values()} == {"ok"}
    assert {sid: locator.seen[sid] for sid in suspects} == {"s00": 1, "s01": 1, "s02": 1}


def test_a_photo_that_kills_the_run_alone_is_failed_after_max_attempts(
    tmp_path: Path, settings: Settings, make_bench: BenchMaker
) -> None:
    data = load_dataset(make_bench(3))
    log = tmp_path / "run.jsonl"
    Runner(data, settings, EvalConfig(), log).plan()
    _orphans(log, "first", ["s00", "s01"])  # died with two in flight: no blame
    _orphans(log, "second", ["s00"], attempt=2)  # s00 alone: counted
    _orphans(log, "third", ["s00"], attempt=3)  # alone again: its second
    assert blame(scan_log(log)) == ({"s00": 2, "s01": 0}, {"s00", "s01"})
    progress, locator = _run(data, settings, log, max_attempts=2)
    results = scan_log(log).results
    assert results["s00"].status == "failed" and "died" in (results["s00"].error or "")
    assert results["s01"].status == "ok" and results["s02"].status == "ok"
    assert "s00" not in locator.seen and progress.failed == 1


def test_an_attempt_that_failed_before_the_kill_still_counts(
    tmp_path: Path, settings: Settings, make_bench: BenchMaker
) -> None:
    data = load_dataset(make_bench(2))
    log = tmp_path / "run.jsonl"
    Runner(data, settings, EvalConfig(), log).plan()
    _orphans(log, "first", ["s00", "s01"], attempt=1)
    _orphans(log, "first", ["s00"], attempt=2)  # s00's first attempt failed, it was retried
    assert blame(scan_log(log)) == ({"s00": 1, "s01": 0}, {"s00", "s01"})


HANG = """
import asyncio, sys, time
from pathlib import Path
from gre.config import Settings
from gre.eval.datasets import load_dataset
from gre.eval.runner import EvalConfig, Runner
from gre.graphs.locator import Locator
from gre.tools.base import ToolRegistry

class Hang(Locator):
    def locate(self, path, on_event=None, *, leak_terms=None):
        time.sleep(300)

settings = Settings(cache_dir=Path(sys.argv[3]), offline=True)
factory = lambda s: Hang(s, registry=ToolRegistry())
runner = Runner(load_dataset(Path(sys.argv[1])), settings, EvalConfig(concurrency=3),
                Path(sys.argv[2]), locator_factory=factory)
asyncio.run(runner.run())
"""


def test_two_sigkills_with_photos_in_flight_fail_none_of_them(
    tmp_path: Path, settings: Settings, make_bench: BenchMaker
) -> None:
    """The first kill takes three photos down together: none is blamed, all three become
    suspects, and the next run starts them one at a time, so the second kill catches s00
    alone and counts one attempt against it, no more."""
    bench = make_bench(5)
    log = tmp_path / "run.jsonl"
    for starts in (3, 4):
        proc = subprocess.Popen(
            [sys.executable, "-c", HANG, str(bench), str(log), str(settings.cache_dir)]
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if log.exists() and log.read_text(encoding="utf-8").count('"start"') >= starts:
                break
            time.sleep(0.05)
        time.sleep(0.2)  # nothing else starts
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    records = _lines(log)
    starts = [(r["sample_id"], r["session"]) for r in records if r["type"] == "start"]
    assert len(starts) == 4 and len({session for _, session in starts}) == 2
    assert [sid for sid, _ in starts][3] == "s00"
    assert blame(scan_log(log)) == ({"s00": 1, "s01": 0, "s02": 0}, {"s00", "s01", "s02"})
    progress, _ = _run(load_dataset(bench), settings, log, concurrency=3, max_attempts=2)
    results = scan_log(log).results
    assert progress.failed == 0 and {r.status for r in results.values()} == {"ok"}
    assert [results[sid].attempts for sid in ("s00", "s01", "s02", "s03")] == [2, 1, 1, 1]


# --- a model outage -----------------------------------------------------------------------------


def _no_tools(settings: Settings) -> Locator:
    return Locator(settings, registry=ToolRegistry())


def _model_settings(server: FakeOpenAI, cache: Path, graph: str) -> Settings:
    return Settings(
        backend="openai",
        graph=graph,
        model_url=server.url,
        model="gre",
        cache_dir=cache,
        offline=True,
        ignore_metadata=True,
        model_retries=0,
    )


@pytest.mark.parametrize("graph", ["direct", "staged"])
def test_a_model_outage_fails_the_photos_and_a_rerun_retries_them(
    tmp_path: Path, session_cache: Path, make_bench: BenchMaker, graph: str
) -> None:
    data = load_dataset(make_bench(3))
    log = tmp_path / "run.jsonl"
    up = threading.Event()

    def respond(body: dict[str, Any]) -> Reply:
        if not up.is_set():
            return Reply(status=503)
        return Reply(text=ANSWER if graph == "direct" else '{"summary": "a street"}')

    with FakeOpenAI(responder=respond) as server:
        settings = _model_settings(server, session_cache, graph)
        down, _ = _run(data, settings, log, _no_tools, max_attempts=2)
        assert (down.done, down.failed, down.retryable) == (3, 3, 3)
        results = scan_log(log).results
        for r in results.values():
            assert r.status == "failed" and r.retryable
            assert (r.error or "").startswith("model unavailable: ") and "503" in (r.error or "")
        up.set()
        again, _ = _run(data, settings, log, _no_tools, max_attempts=2)
    assert again.skipped == 0 and again.done == 3 and again.failed == 0
    results = scan_log(log).results
    assert all(r.status != "failed" and not r.retryable for r in results.values())
    if graph == "direct":
        assert {r.status for r in results.values()} == {"ok"}


def test_gre_eval_exits_non_zero_when_the_model_is_down(
    tmp_path: Path, session_cache: Path, make_bench: BenchMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = make_bench(2)
    log = tmp_path / "run.jsonl"
    monkeypatch.setattr("gre.eval.runner.Locator", _no_tools)
    monkeypatch.setenv("GRE_CACHE_DIR", str(session_cache))
    monkeypatch.setenv("GRE_MODEL_RETRIES", "0")
    with FakeOpenAI(responder=lambda body: Reply(status=500)) as server:
        args = ["eval", str(bench), "--graph", "direct", "--backend", "openai"]
        args += ["--model-url", server.url, "--model", "gre", "--out", str(log), "--quiet"]
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: 2 of 2 photos failed; 2 could not reach the model")


def _trace(
    *,
    gens: list[Generation] | None = None,
    stages: list[StageResult] | None = None,
    answered: bool,
) -> Trace:
    pred = Prediction(lat=1.0, lon=2.0) if answered else Prediction(abstained=True)
    return Trace(backend="openai", generations=gens or [], stages=stages or [], prediction=pred)


def test_model_failure_rule() -> None:
    down = StageResult(stage="scene", ok=False, error="HTTP 503")
    invalid = StageResult(stage="details", ok=False, error="invalid output", raw="{oops")
    fine = StageResult(stage="semantic")
    assert model_failure(_trace(gens=[Generation(ok=False, error="x")], answered=False)) == "x"
    assert model_failure(_trace(stages=[down, down], answered=True)) == "HTTP 503"
    assert model_failure(_trace(stages=[down, fine], answered=False)) == "HTTP 503"
    assert model_failure(_trace(stages=[down, fine], answered=True)) is None
    assert model_failure(_trace(stages=[invalid, invalid], answered=False)) is None
    tools_only = StageResult(stage="scene", backend="none")
    assert model_failure(_trace(stages=[tools_only], answered=False)) is None
    assert model_failure(_trace(answered=False)) is None


# --- resuming with other settings ---------------------------------------------------------------


def test_resume_refuses_every_setting_that_changes_results(
    tmp_path: Path, settings: Settings, make_bench: BenchMaker
) -> None:
    data = load_dataset(make_bench(2))
    log = tmp_path / "run.jsonl"
    Runner(data, settings, EvalConfig(), log).plan()
    web = settings.model_copy(update={"offline": False})
    with pytest.raises(EvalError) as info:
        Runner(data, web, EvalConfig(max_attempts=3), log).plan()
    message = str(info.value)
    assert "offline=True (now False, --web)" in message
    assert "max_attempts=2 (now 3, --max-attempts)" in message and "\n" not in message
    for change in (
        {"temperature": 0.7},
        {"disabled_tools": ["ocr"]},
        {"max_tool_requests": 2},
        {"ignore_metadata": True},
        {"model_max_tokens": 64},
    ):
        with pytest.raises(EvalError, match=next(iter(change))):
            Runner(data, settings.model_copy(update=change), EvalConfig(), log).plan()
    speed_only = settings.model_copy(update={"model_timeout_s": 5.0, "model_concurrency": 2})
    config = EvalConfig(concurrency=9, model_urls=["http://127.0.0.1:1/v1"])
    assert Runner(data, speed_only, config, log).plan().done == 0


def test_a_setting_an_older_log_did_not_record_is_not_compared(
    tmp_path: Path, settings: Settings, make_bench: BenchMaker
) -> None:
    data = load_dataset(make_bench(2))
    log = tmp_path / "run.jsonl"
    header = Runner(data, settings, EvalConfig(), log).header
    old = {k: header.config[k] for k in ("graph", "backend", "model", "max_steps")}
    writer = RunLog(log)
    writer.append(RunHeader.model_validate({**header.model_dump(), "config": old}))
    writer.close()
    hotter = settings.model_copy(update={"temperature": 0.5})
    assert len(Runner(data, hotter, EvalConfig(), log).plan().todo) == 2
