"""Peak memory of an evaluation run against the number of photos (goal: flat).

Runs GRE's single pass over 1,000 and then 10,000 tiny synthetic photos, each in a fresh
process, against a latency-free OpenAI-compatible server in a third process, 32 photos in
flight. Prints each run's peak resident memory and the growth per 1,000 photos: what a
run keeps per photo (its sample, its line of the log's index) and nothing more.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_eval_runner import _Server
from PIL import Image

SIZES = (1_000, 10_000)


def _dataset(root: Path, n: int) -> Path:
    (root / "imgs").mkdir()
    records = []
    for i in range(n):
        Image.new("RGB", (32, 24), (i % 255, (i // 255) % 255, 90)).save(root / f"imgs/{i:05d}.jpg")
        records.append(
            {
                "sample_id": f"{i:05d}",
                "image_path": f"imgs/{i:05d}.jpg",
                "gt_lat": 40.0,
                "gt_lon": 2.0,
            }
        )
    (root / "bench.json").write_text(json.dumps(records))
    return root / "bench.json"


def _child(dataset: str, url: str, limit: int, log: str) -> None:
    from gre.config import Settings
    from gre.eval.datasets import load_dataset
    from gre.eval.runner import EvalConfig, Runner
    from gre.graphs.locator import Locator
    from gre.tools.base import ToolRegistry

    settings = Settings(
        backend="openai",
        graph="direct",
        model_url=url,
        model="gre",
        offline=True,
        ignore_metadata=True,
        model_retries=0,
    )
    data = load_dataset(Path(dataset))
    runner = Runner(
        data,
        settings,
        EvalConfig(concurrency=32, limit=limit),
        Path(log),
        locator_factory=lambda s: Locator(s, registry=ToolRegistry()),
    )
    progress = asyncio.run(runner.run())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"done": progress.done, "peak_mb": peak_mb}))


def main() -> None:
    if len(sys.argv) == 5:
        _child(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
        return
    server = _Server(latency_s=0.0)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            dataset = _dataset(Path(tmp), max(SIZES))
            peaks = {}
            for n in SIZES:
                out = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        str(dataset),
                        server.url,
                        str(n),
                        f"{tmp}/{n}.jsonl",
                    ],
                    capture_output=True,
                    text=True,
                )
                if out.returncode != 0:
                    raise SystemExit(out.stderr[-3000:])
                result = json.loads(out.stdout.strip().splitlines()[-1])
                peaks[n] = result["peak_mb"]
                print(f"{result['done']:>6} photos: peak {result['peak_mb']:.0f} MB")
            small, big = SIZES
            growth = (peaks[big] - peaks[small]) / ((big - small) / 1000)
            print(
                f"growth: {growth:.1f} MB per 1,000 photos "
                f"({peaks[big] / peaks[small]:.2f}x the peak for {big // small}x the photos)"
            )
    finally:
        server.stop()


if __name__ == "__main__":
    mp.freeze_support()
    main()
