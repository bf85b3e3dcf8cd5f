"""P1: evaluation-runner throughput against a local OpenAI-compatible server.

The server runs in its own process, as a model server does (in the runner's process it would
compete for the runner's GIL); it sleeps a fixed latency per request and accepts up to 128
requests at a time; the
dataset has 1,280 synthetic photos; the graph is GRE's single pass (one request per photo), so
the per-photo model time is the latency. Throughput at concurrency 1, 16, 32, 64 and 128 is
printed as a ratio of the ideal (concurrency / latency) and as a ratio to a plain sequential
loop over the same Locator. Goals: ≥ 0.9 of ideal at 64 in flight, ≥ 10x sequential at 16.
Concurrency 1 and the sequential loop run on the first 40 photos (a rate), concurrency 16 and
32 on the first 320 and 640. ``python bench/bench_eval_runner.py 64 128`` runs only those.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

from PIL import Image

from gre.config import Settings
from gre.eval.datasets import load_dataset
from gre.eval.log import SampleResult
from gre.eval.runner import EvalConfig, Progress, Runner
from gre.graphs.locator import Locator
from gre.testing.fake_openai import FakeOpenAI, Reply
from gre.tools.base import ToolRegistry

LATENCY_S = 0.5
SAMPLES = 1280
SLOW_SAMPLES = 40
LEVELS = (1, 16, 32, 64, 128)
RAY = False
ANSWER = "<think>x</think><answer>Latitude: 48.8566, Longitude: 2.3522</answer>"


def _dataset(root: Path) -> Path:
    (root / "imgs").mkdir()
    records = []
    for i in range(SAMPLES):
        Image.new("RGB", (320, 240), (i % 255, 90, 150)).save(root / f"imgs/{i:03d}.jpg")
        records.append(
            {
                "sample_id": f"{i:03d}",
                "image_path": f"imgs/{i:03d}.jpg",
                "gt_cot": "",
                "gt_lat": 40.0,
                "gt_lon": 2.0,
            }
        )
    (root / "bench.json").write_text(json.dumps(records))
    return root / "bench.json"


class Stamps:
    """A progress hook that notes when each result arrived."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def __call__(self, progress: Progress, result: SampleResult | None) -> None:
        if result is not None:
            self.times.append(time.perf_counter())


def _answer(body: dict[str, object]) -> Reply:
    return Reply(text=ANSWER)


def _serve(conn: Connection, latency_s: float) -> None:
    """The latency server's process: sends its URL, then answers "peak" until "stop"."""
    with FakeOpenAI(responder=_answer, latency_s=latency_s, max_concurrency=128) as fake:
        fake.requests = _Forgetful()
        conn.send(fake.url)
        while (command := conn.recv()) != "stop":
            if command == "peak":
                conn.send(fake.peak_in_flight)
                fake.peak_in_flight = 0


class _Forgetful(list[dict[str, object]]):
    """A request list that keeps nothing (a thousand base64 photos add up)."""

    def append(self, item: dict[str, object]) -> None:
        return None


class _Server:
    """The latency server in its own process."""

    def __init__(self, latency_s: float = LATENCY_S) -> None:
        self._conn, child = mp.get_context("spawn").Pipe()
        self._proc = mp.get_context("spawn").Process(
            target=_serve, args=(child, latency_s), daemon=True
        )
        self._proc.start()
        self.url: str = self._conn.recv()

    def peak(self) -> int:
        self._conn.send("peak")
        return int(self._conn.recv())

    def stop(self) -> None:
        self._conn.send("stop")
        self._proc.join(10)


def main() -> None:
    global LEVELS, RAY
    RAY = "--ray" in sys.argv
    LEVELS = tuple(int(a) for a in sys.argv[1:] if a != "--ray") or LEVELS
    server = _Server()
    try:
        _run(server)
    finally:
        server.stop()


def _run(server: _Server) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = load_dataset(_dataset(Path(tmp)))
        settings = Settings(
            backend="openai",
            graph="direct",
            model_url=server.url,
            model="gre",
            offline=True,
            ignore_metadata=True,
            model_retries=0,
        )

        def factory(s: Settings) -> Locator:
            return Locator(s, registry=ToolRegistry())

        with factory(settings) as loc:
            t0 = time.perf_counter()
            for sample in data.samples[:SLOW_SAMPLES]:
                loc.locate(sample.image)
            sequential = SLOW_SAMPLES / (time.perf_counter() - t0)
        print(f"sequential loop: {sequential:.2f} photos/s (ideal {1 / LATENCY_S:.2f})")
        for concurrency in LEVELS:
            limit = min(SAMPLES, max(SLOW_SAMPLES, concurrency * 20)) if concurrency < 64 else None
            log = Path(tmp) / f"run-{concurrency}.jsonl"
            config = EvalConfig(concurrency=concurrency, limit=limit, ray="local" if RAY else None)
            runner = Runner(data, settings, config, log, locator_factory=factory)
            t0, cpu0 = time.perf_counter(), time.process_time()
            stamps = Stamps()
            progress = asyncio.run(runner.run(stamps))
            wall = time.perf_counter() - t0
            cpu = (time.process_time() - cpu0) / wall
            rate = progress.done / wall
            ideal = concurrency / LATENCY_S
            print(
                f"concurrency {concurrency:>3}: {rate:6.2f} photos/s = "
                f"{rate / ideal:.2f} of ideal, "
                f"{rate / sequential:5.1f}x sequential ({progress.done} photos, peak in flight "
                f"{server.peak()}, runner CPU {cpu:.2f} cores)"
            )
            times = stamps.times
            n = len(times)
            lo, hi = times[n // 10], times[9 * n // 10]
            print(
                f"   first result after {times[0] - t0:.2f} s, steady {0.8 * n / (hi - lo):.1f}"
                f" photos/s (10th to 90th percentile), last 10 % in {t0 + wall - hi:.2f} s"
            )


if __name__ == "__main__":
    main()
