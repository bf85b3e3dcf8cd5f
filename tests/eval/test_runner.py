"""The evaluation runner: concurrency, durable logging, resume, retries, shards, leakage."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest
from PIL import Image

from gre.config import Settings
from gre.eval.datasets import load_dataset
from gre.eval.log import RunLog, SampleStart, scan_log
from gre.eval.runner import EvalConfig, EvalError, Runner, select
from gre.geo import haversine_km
from gre.graphs.locator import Locator
from gre.records import Prediction, Trace
from gre.testing.fake_openai import FakeOpenAI, Reply
from gre.tools.base import ToolRegistry
from gre.tools.exif import read_exif

PARIS = (48.8566, 2.3522)
ANSWER = f"<think>x</think><answer>Latitude: {PARIS[0]}, Longitude: {PARIS[1]}</answer>"
TRUTHS = [(40.0 + i, -3.0 + 2 * i) for i in range(12)]


def make_dataset(root: Path, n: int = 12) -> Path:
    """A GREval-style JSON dataset of n small images with known truths."""
    (root / "imgs").mkdir(parents=True, exist_ok=True)
    records = []
    for i in range(n):
        name = f"imgs/s{i:02d}.jpg"
        Image.new("RGB", (64, 48), (i * 20 % 255, 80, 120)).save(root / name)
        lat, lon = TRUTHS[i % len(TRUTHS)]
        records.append(
            {
                "sample_id": f"s{i:02d}",
                "image_path": name,
                "gt_cot": "",
                "gt_lat": lat,
                "gt_lon": lon,
            }
        )
    path = root / "bench.json"
    path.write_text(json.dumps(records))
    return path


def _settings(server: FakeOpenAI, cache: Path) -> Settings:
    return Settings(
        backend="openai",
        graph="direct",
        model_url=server.url,
        model="gre",
        cache_dir=cache,
        offline=True,
        ignore_metadata=True,
        model_retries=0,
    )


def _no_tools(settings: Settings) -> Locator:
    return Locator(settings, registry=ToolRegistry())


def test_results_match_the_scripted_distances(tmp_path: Path, session_cache: Path) -> None:
    data = load_dataset(make_dataset(tmp_path))
    log = tmp_path / "run.jsonl"
    with FakeOpenAI(responder=lambda body: Reply(text=ANSWER), latency_s=0.05) as server:
        runner = Runner(
            data,
            _settings(server, session_cache),
            EvalConfig(concurrency=4),
            log,
            locator_factory=_no_tools,
        )
        progress = asyncio.run(runner.run())
    assert progress.done == 12 and progress.failed == 0
    contents = scan_log(log)
    assert contents.header.config["graph"] == "direct"
    assert contents.header.dataset["content_hash"] == data.content_hash
    for sample in data.samples:
        result = contents.results[sample.id]
        assert result.status == "ok"
        assert result.error_km == pytest.approx(haversine_km(*PARIS, sample.lat, sample.lon))
    assert server.peak_in_flight <= 4 and server.peak_in_flight >= 2


def test_resume_runs_each_sample_exactly_once(tmp_path: Path, session_cache: Path) -> None:
    data = load_dataset(make_dataset(tmp_path))
    log = tmp_path / "run.jsonl"
    with FakeOpenAI(responder=lambda body: Reply(text=ANSWER)) as server:
        settings = _settings(server, session_cache)
        first = asyncio.run(
            Runner(
                data, settings, EvalConfig(concurrency=2, limit=5), log, locator_factory=_no_tools
            ).run()
        )
        again = asyncio.run(
            Runner(data, settings, EvalConfig(concurrency=2), log, locator_factory=_no_tools).run()
        )
        asyncio.run(
            Runner(data, settings, EvalConfig(concurrency=2), log, locator_factory=_no_tools).run()
        )
    assert first.done == 5 and again.done == 7 and again.skipped == 5
    ids = [
        json.loads(line)["sample_id"]
        for line in log.read_text().splitlines()
        if json.loads(line).get("type") == "result"
    ]
    assert sorted(ids) == sorted(s.id for s in data.samples)
    assert len(server.requests) == 12


class FlakyLocator(Locator):
    """Fails the first `fail` attempts of every photo with a run error."""

    def __init__(self, settings: Settings, fail: int) -> None:
        super().__init__(settings, registry=ToolRegistry())
        self.fail = fail
        self.seen: dict[str, int] = {}

    def locate(self, path: Path, on_event: Any = None, *, leak_terms: Any = None) -> Trace:
        self.seen[path.name] = self.seen.get(path.name, 0) + 1
        if self.seen[path.name] <= self.fail:
            return Trace(
                backend="x", prediction=Prediction(abstained=True), error="run failed: boom"
            )
        return Trace(backend="x", prediction=Prediction(lat=1.0, lon=2.0, level="city"))


@pytest.mark.parametrize(("fail", "status", "attempts"), [(1, "ok", 2), (5, "failed", 3)])
def test_crashed_photos_are_retried_then_failed(
    tmp_path: Path, settings: Settings, fail: int, status: str, attempts: int
) -> None:
    data = load_dataset(make_dataset(tmp_path, n=3))
    log = tmp_path / "run.jsonl"
    runner = Runner(
        data,
        settings,
        EvalConfig(max_attempts=3),
        log,
        locator_factory=lambda s: FlakyLocator(s, fail),
    )
    asyncio.run(runner.run())
    results = scan_log(log).results
    assert {r.status for r in results.values()} == {status}
    assert {r.attempts for r in results.values()} == {attempts}
    if status == "failed":
        assert all("boom" in (r.error or "") for r in results.values())


def test_a_sample_that_killed_the_runner_is_counted(tmp_path: Path, settings: Settings) -> None:
    data = load_dataset(make_dataset(tmp_path, n=2))
    log = tmp_path / "run.jsonl"
    runner = Runner(
        data,
        settings,
        EvalConfig(max_attempts=2),
        log,
        locator_factory=lambda s: FlakyLocator(s, 0),
    )
    runner.plan()  # writes the header
    writer = RunLog(log)
    for attempt in (1, 2):  # two earlier processes died while running s00
        writer.append(SampleStart(sample_id="s00", attempt=attempt))
    writer.close()
    with log.open("a") as fh:
        fh.write('{"type": "result", "sample_id": "s0')  # torn by a kill mid-write
    asyncio.run(
        Runner(
            data,
            settings,
            EvalConfig(max_attempts=2),
            log,
            locator_factory=lambda s: FlakyLocator(s, 0),
        ).run()
    )
    results = scan_log(log).results
    assert results["s00"].status == "failed" and "died" in (results["s00"].error or "")
    assert results["s01"].status == "ok"


def test_shards_partition_and_limits(tmp_path: Path) -> None:
    data = load_dataset(make_dataset(tmp_path))
    a = {s.id for s in select(data.samples, (1, 2), None)}
    b = {s.id for s in select(data.samples, (2, 2), None)}
    assert a | b == {s.id for s in data.samples} and not a & b
    assert len(select(data.samples, (1, 1), 3)) == 3
    with pytest.raises(EvalError):
        select(data.samples, (3, 2), None)


def test_a_log_of_another_run_is_refused(tmp_path: Path, settings: Settings) -> None:
    data = load_dataset(make_dataset(tmp_path))
    log = tmp_path / "run.jsonl"
    Runner(data, settings, EvalConfig(), log).plan()
    other = settings.model_copy(update={"graph": "direct"})
    with pytest.raises(EvalError, match="graph"):
        Runner(data, other, EvalConfig(), log).plan()


def test_model_urls_are_load_balanced(tmp_path: Path, session_cache: Path) -> None:
    data = load_dataset(make_dataset(tmp_path))
    log = tmp_path / "run.jsonl"
    with (
        FakeOpenAI(responder=lambda b: Reply(text=ANSWER), latency_s=0.05) as one,
        FakeOpenAI(responder=lambda b: Reply(text=ANSWER), latency_s=0.05) as two,
    ):
        settings = _settings(one, session_cache)
        config = EvalConfig(concurrency=4, model_urls=[one.url, two.url])
        asyncio.run(Runner(data, settings, config, log, locator_factory=_no_tools).run())
    assert len(one.requests) + len(two.requests) == 12
    assert len(one.requests) >= 3 and len(two.requests) >= 3


class SpyLocator(Locator):
    """Records what the agent was given."""

    given: ClassVar[list[Path]] = []

    def locate(self, path: Path, on_event: Any = None, *, leak_terms: Any = None) -> Trace:
        exif = read_exif(path)
        SpyLocator.given.append(path)
        assert exif.gps is None, "the agent must never see the photo's GPS"
        assert exif.tags == {} or not any("GPS" in k for k in exif.tags)
        assert leak_terms and any(t.endswith((".jpg", ".heif")) for t in leak_terms)
        return Trace(backend="x", prediction=Prediction(lat=1.0, lon=2.0, level="city"))


def test_geotagged_folder_hides_the_truth(
    tmp_path: Path, shared_data: Path, settings: Settings
) -> None:
    data = load_dataset(shared_data / "images" / "exif")
    assert data.strip_metadata and len(data.samples) == 5
    log = tmp_path / "run.jsonl"
    asyncio.run(
        Runner(
            data,
            settings.model_copy(update={"ignore_metadata": True}),
            EvalConfig(concurrency=2),
            log,
            locator_factory=lambda s: SpyLocator(s, registry=ToolRegistry()),
        ).run()
    )
    assert len(SpyLocator.given) == 5
    results = scan_log(log).results
    assert all(r.status == "ok" for r in results.values())


def test_sigkill_mid_run_then_resume_equals_an_uninterrupted_run(
    tmp_path: Path, session_cache: Path
) -> None:
    dataset = make_dataset(tmp_path / "data", n=12)
    env = {**os.environ, "GRE_CACHE_DIR": str(session_cache), "GRE_MODEL_RETRIES": "0"}
    with FakeOpenAI(responder=lambda body: Reply(text=ANSWER), latency_s=0.3) as server:
        cmd = [
            sys.executable,
            "-m",
            "gre.cli",
            "eval",
            str(dataset),
            "--graph",
            "direct",
            "--backend",
            "openai",
            "--model-url",
            server.url,
            "--model",
            "gre",
            "--concurrency",
            "2",
            "--quiet",
        ]
        killed = tmp_path / "killed.jsonl"
        proc = subprocess.Popen([*cmd, "--out", str(killed)], env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done = killed.exists() and killed.read_text().count('"type": "result"') >= 4
            if done:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        partial = scan_log(killed).results
        assert 4 <= len(partial) < 12
        subprocess.run([*cmd, "--out", str(killed)], env=env, check=True, capture_output=True)
        clean = tmp_path / "clean.jsonl"
        subprocess.run([*cmd, "--out", str(clean)], env=env, check=True, capture_output=True)
    records = [json.loads(line) for line in killed.read_text().splitlines() if line.strip()]
    ids = [r["sample_id"] for r in records if r.get("type") == "result"]
    assert sorted(ids) == [f"s{i:02d}" for i in range(12)]  # each exactly once
    a, b = scan_log(killed).results, scan_log(clean).results
    assert {k: (v.status, round(v.error_km or 0, 6)) for k, v in a.items()} == {
        k: (v.status, round(v.error_km or 0, 6)) for k, v in b.items()
    }
