"""Tools-only evaluation on 2 cores: this process's threads against Ray workers.

The same real photos (the shared devset, the tools-only agent: OCR, text clues, the
gazetteer) run through the thread runner and through ``--ray`` on a local 2-CPU Ray
cluster, 2 photos in flight each. Prints photos/s per core for both, in the steady state
(from the second result to the last, so start-up is left out) and end to end, and Ray's
overhead as a ratio (goal: Ray's steady rate within 10 % of the threads').
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from gre.config import Settings
from gre.eval.datasets import load_dataset
from gre.eval.log import SampleResult
from gre.eval.runner import EvalConfig, Progress, Runner

REPO = Path(__file__).resolve().parents[1]
DEVSET = REPO.parent / "shared" / "data" / "images" / "devset"
CORES = 2


def _dataset(root: Path) -> Path:
    truths = json.loads((DEVSET / "manifest.json").read_text())
    (root / "imgs").mkdir()
    records = []
    for item in truths:
        shutil.copyfile(DEVSET / item["file"], root / "imgs" / item["file"])
        records.append(
            {
                "sample_id": item["file"].rsplit(".", 1)[0],
                "image_path": f"imgs/{item['file']}",
                "gt_lat": item["truth"]["lat"],
                "gt_lon": item["truth"]["lon"],
            }
        )
    (root / "bench.json").write_text(json.dumps(records))
    return root / "bench.json"


def _timed(runner: Runner) -> tuple[float, float, int]:
    """(steady photos/s, end-to-end photos/s, photos)."""
    times: list[float] = []

    def stamp(progress: Progress, result: SampleResult | None) -> None:
        if result is not None:
            times.append(time.perf_counter())

    t0 = time.perf_counter()
    progress = asyncio.run(runner.run(stamp))
    end = time.perf_counter()
    steady = (len(times) - 2) / (times[-1] - times[1])
    return steady, progress.done / (end - t0), progress.done


def main() -> None:
    import ray

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    with tempfile.TemporaryDirectory() as tmp:
        data = load_dataset(_dataset(Path(tmp)))
        settings = Settings(offline=True, ignore_metadata=True)
        threads = Runner(data, settings, EvalConfig(concurrency=CORES), Path(tmp) / "t.jsonl")
        t_steady, t_all, n = _timed(threads)
        print(
            f"threads: {t_steady / CORES:.3f} photos/s per core steady, "
            f"{t_all / CORES:.3f} end to end ({n} photos)"
        )
        t = time.perf_counter()
        ray.init(num_cpus=CORES, include_dashboard=False, log_to_driver=False)
        print(f"ray.init: {time.perf_counter() - t:.1f} s")
        on_ray = Runner(
            data, settings, EvalConfig(concurrency=CORES, ray="local"), Path(tmp) / "r.jsonl"
        )
        r_steady, r_all, _ = _timed(on_ray)
        print(
            f"ray:     {r_steady / CORES:.3f} photos/s per core steady, "
            f"{r_all / CORES:.3f} end to end (workers' start-up included)"
        )
        print(f"Ray's overhead, steady: {1 - r_steady / t_steady:+.1%} (goal ≤ 10 %)")
        ray.shutdown()


if __name__ == "__main__":
    main()
