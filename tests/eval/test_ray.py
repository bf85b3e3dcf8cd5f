"""`gre eval --ray`: photos on a local Ray cluster (2 CPUs, loopback only).

The Ray runner must give the thread runner's results, lose nothing when a worker
dies, record a photo that kills its worker as failed, and resume exactly after
the driver is killed.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_runner import ANSWER, make_dataset

from gre.config import Settings
from gre.eval.datasets import load_dataset
from gre.eval.log import SampleResult, scan_log
from gre.eval.metrics import summarize
from gre.eval.runner import EvalConfig, Progress, Runner
from gre.testing.crashing import crashing_factory
from gre.testing.fake_openai import FakeOpenAI, Reply
from gre.tools.support.sqlite_index import ensure_built

ray = pytest.importorskip("ray")
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A local Ray cluster of 2 CPUs for this module; yields its address."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield str(ray.get_runtime_context().gcs_address)
    finally:
        ray.shutdown()


def _model_settings(server: FakeOpenAI, cache: Path) -> Settings:
    return Settings(
        backend="openai",
        graph="direct",
        model_url=server.url,
        model="gre",
        offline=True,
        ignore_metadata=True,
        model_retries=0,
        cache_dir=cache,
    )


def _results(log: Path) -> list[dict[str, Any]]:
    lines = log.read_text(encoding="utf-8").splitlines()
    return [r for r in map(json.loads, lines) if r.get("type") == "result"]


def _worker_pids() -> list[int]:
    out = subprocess.run(["pgrep", "-f", "ray::PhotoWorker"], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def test_ray_gives_the_thread_runners_results(
    cluster: str,
    session_cache: Path,
    shared_data: Path,
    example_sign: Path,
    tmp_path: Path,
) -> None:
    """The tools-only agent on real photos: the same answer per photo, the same metrics."""
    devset = shared_data / "images" / "devset"
    truths = {r["file"]: r["truth"] for r in json.loads((devset / "manifest.json").read_text())}
    chosen = sorted(truths)[:3]
    (tmp_path / "imgs").mkdir()
    records = []
    for name in chosen:
        shutil.copyfile(devset / name, tmp_path / "imgs" / name)
        t = truths[name]
        records.append({"sample_id": name[:-4], "image_path": f"imgs/{name}", **_gt(t)})
    shutil.copyfile(example_sign, tmp_path / "imgs" / "sign.jpg")
    records.append({"sample_id": "sign", "image_path": "imgs/sign.jpg", **_gt(_STRASBOURG)})
    (tmp_path / "bench.json").write_text(json.dumps(records))
    data = load_dataset(tmp_path / "bench.json")
    settings = Settings(cache_dir=session_cache, offline=True, ignore_metadata=True)

    threads = Runner(data, settings, EvalConfig(concurrency=2), tmp_path / "threads.jsonl")
    asyncio.run(threads.run())
    on_ray = Runner(data, settings, EvalConfig(concurrency=2, ray="local"), tmp_path / "ray.jsonl")
    asyncio.run(on_ray.run())

    a, b = scan_log(tmp_path / "threads.jsonl"), scan_log(tmp_path / "ray.jsonl")

    def answers(results: dict[str, SampleResult]) -> dict[str, tuple[Any, ...]]:
        return {k: (r.status, r.lat, r.lon, r.level, r.error) for k, r in results.items()}

    assert len(a.results) == 4
    assert answers(b.results) == answers(a.results)
    assert any(r.status == "ok" for r in a.results.values())
    ma, mb = summarize(a.results.values()), summarize(b.results.values())
    assert mb.model_dump() == ma.model_dump()


_STRASBOURG = {"lat": 48.5734, "lon": 7.7521}


def _gt(t: dict[str, float]) -> dict[str, float]:
    return {"gt_lat": t["lat"], "gt_lon": t["lon"]}


def test_killing_a_worker_mid_run_loses_nothing(
    cluster: str, session_cache: Path, tmp_path: Path
) -> None:
    data = load_dataset(make_dataset(tmp_path / "data", 12))
    killed: list[int] = []

    def hook(progress: Progress, result: SampleResult | None) -> None:
        if result is not None and not killed:
            pids = _worker_pids()
            assert pids, "no Ray worker process found"
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])

    with FakeOpenAI(responder=lambda b: Reply(text=ANSWER), latency_s=0.4) as server:
        settings = _model_settings(server, session_cache)
        config = EvalConfig(concurrency=4, max_attempts=2, ray="local")
        runner = Runner(data, settings, config, tmp_path / "run.jsonl")
        progress = asyncio.run(runner.run(hook))
    assert killed
    results = _results(tmp_path / "run.jsonl")
    assert sorted(r["sample_id"] for r in results) == sorted(s.id for s in data.samples)
    assert progress.failed == 0 and all(r["status"] == "ok" for r in results)
    # The photos the kill took down were not blamed for it: one counted attempt each.
    assert all(r["attempts"] == 1 for r in results)


def test_a_photo_that_kills_its_worker_is_recorded_failed(
    cluster: str, session_cache: Path, tmp_path: Path
) -> None:
    data = load_dataset(make_dataset(tmp_path / "data", 8))
    with FakeOpenAI(responder=lambda b: Reply(text=ANSWER), latency_s=0.2) as server:
        settings = _model_settings(server, session_cache)
        config = EvalConfig(concurrency=4, max_attempts=2, ray="local")
        factory = crashing_factory("s03", no_tools=True)
        runner = Runner(data, settings, config, tmp_path / "run.jsonl", locator_factory=factory)
        progress = asyncio.run(runner.run())
    by_id = {r["sample_id"]: r for r in _results(tmp_path / "run.jsonl")}
    assert sorted(by_id) == sorted(s.id for s in data.samples)
    bad = by_id.pop("s03")
    assert bad["status"] == "failed" and bad["attempts"] == 2
    assert "worker died" in bad["error"]
    assert all(r["status"] == "ok" and r["attempts"] == 1 for r in by_id.values())
    assert progress.failed == 1


def test_killing_the_driver_then_rerunning_resumes_exactly(
    cluster: str, session_cache: Path, tmp_path: Path
) -> None:
    dataset = make_dataset(tmp_path / "data", 12)
    log = tmp_path / "run.jsonl"
    with FakeOpenAI(responder=lambda b: Reply(text=ANSWER), latency_s=0.5) as server:
        cmd = [
            sys.executable,
            "-m",
            "gre.cli",
            "eval",
            str(dataset),
            "--backend",
            "openai",
            "--graph",
            "direct",
            "--model-url",
            server.url,
            "--model",
            "gre",
            "--concurrency",
            "4",
            "--ray",
            cluster,
            "--out",
            str(log),
            "--quiet",
        ]
        env = {**os.environ, "GRE_CACHE_DIR": str(session_cache), "GRE_MODEL_RETRIES": "0"}
        first = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and first.poll() is None:
            if log.exists() and len(_results(log)) >= 3:
                break
            time.sleep(0.05)
        assert first.poll() is None, first.communicate()[1].decode()[-2000:]
        first.kill()
        first.wait()
        before = {r["sample_id"]: r for r in _results(log)}
        assert 3 <= len(before) < 12
        second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-2000:]
    results = _results(log)
    ids = [r["sample_id"] for r in results]
    assert sorted(ids) == sorted(f"s{i:02d}" for i in range(12)), "one result per photo"
    assert all(r["status"] == "ok" for r in results)
    assert {r["sample_id"]: r for r in results[: len(before)]} == before
    assert f"({len(before)} from an earlier run)" in second.stdout


@ray.remote(num_cpus=1)  # type: ignore[untyped-decorator]
def _build_in_a_worker(index: str, builds: str) -> str:
    path = Path(index)

    def build() -> None:
        with open(builds, "a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()}\n")
        time.sleep(0.5)
        path.write_text("index")

    ensure_built(path, lambda p: p.exists(), build, lambda: [])
    return path.read_text()


def test_an_index_is_built_once_per_node_by_concurrent_workers(
    cluster: str, tmp_path: Path
) -> None:
    index, builds = tmp_path / "idx" / "gazetteer.sqlite", tmp_path / "builds.txt"
    refs = [_build_in_a_worker.remote(str(index), str(builds)) for _ in range(2)]
    assert ray.get(refs) == ["index", "index"]
    assert len(builds.read_text().splitlines()) == 1
