"""P1: evaluation-runner throughput against a local OpenAI-compatible server.

The server sleeps a fixed latency per request and accepts up to 32 requests at a time; the
dataset has 200 synthetic photos; the graph is GRE's single pass (one request per photo), so
the per-photo model time is the latency. Throughput at concurrency 1, 4, 16 and 32 is printed
as a ratio of the ideal (concurrency / latency) and as a ratio to a plain sequential loop over
the same Locator. Goals: ≥ 0.9 of ideal and ≥ 10x sequential at 16 in flight.
Concurrency 1 and the sequential loop run on the first 40 photos (a rate; 200 would take minutes).
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path

from PIL import Image

from gre.config import Settings
from gre.eval.datasets import load_dataset
from gre.eval.runner import EvalConfig, Runner
from gre.graphs.locator import Locator
from gre.testing.fake_openai import FakeOpenAI, Reply
from gre.tools.base import ToolRegistry

LATENCY_S = 0.5
SAMPLES = 200
SLOW_SAMPLES = 40
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


def main() -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        FakeOpenAI(
            responder=lambda body: Reply(text=ANSWER), latency_s=LATENCY_S, max_concurrency=32
        ) as server,
    ):
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
        for concurrency in (1, 4, 16, 32):
            limit = SLOW_SAMPLES if concurrency == 1 else None
            log = Path(tmp) / f"run-{concurrency}.jsonl"
            config = EvalConfig(concurrency=concurrency, limit=limit)
            runner = Runner(data, settings, config, log, locator_factory=factory)
            t0 = time.perf_counter()
            progress = asyncio.run(runner.run())
            rate = progress.done / (time.perf_counter() - t0)
            ideal = concurrency / LATENCY_S
            print(
                f"concurrency {concurrency:>2}: {rate:6.2f} photos/s = "
                f"{rate / ideal:.2f} of ideal, "
                f"{rate / sequential:5.1f}x sequential ({progress.done} photos, peak in flight "
                f"{server.peak_in_flight})"
            )
            server.peak_in_flight = 0


if __name__ == "__main__":
    main()
