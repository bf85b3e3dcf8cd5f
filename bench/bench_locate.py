"""Tools-only `gre locate` on 640x480 photos, OCR included: time per photo and per node.

Goal: ≤ 3 s per photo on 2 cores once the gazetteer index exists (its one-time build is
measured by bench_gazetteer.py). Prints the warm per-photo time, a cold CLI process,
and where the time goes; then the time to an answer from an EXIF GPS fix (goal ≤ 1 s:
the fix answers without reading the photo).
"""

from __future__ import annotations

import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from gre.config import Settings
from gre.graphs.locator import Locator

GOAL_S = 3.0
GPS_GOAL_S = 1.0
REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "images"


def _example(tmp: Path) -> Path:
    spec = importlib.util.spec_from_file_location("make_sign", REPO / "examples" / "make_sign.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out: Path = module.make_sign(tmp / "sign.jpg")
    return out


def _gps_answer(photo: Path) -> None:
    """Warm time to the answer of a photo whose EXIF holds a GPS fix."""
    with Locator(Settings(offline=True)) as loc:
        loc.prepare()
        runs = []
        for _ in range(3):
            trace = loc.locate(photo)
            runs.append(trace.duration_ms / 1000)
    p50 = statistics.median(runs)
    print(
        f"{photo.name} with its EXIF GPS: answer in {p50 * 1000:.0f} ms warm "
        f"(goal ≤ {GPS_GOAL_S} s, ratio {p50 / GPS_GOAL_S:.2f}); {trace.prediction.level}, "
        f"{len(trace.tool_calls)} tool call(s)"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        photos = [_example(Path(tmp))]
        arezzo = SHARED / "exif" / "exifsamples_arezzo_DSCN0010.jpg"
        if arezzo.exists():
            photos.append(arezzo)
        settings = Settings(ignore_metadata=True, offline=True)
        with Locator(settings) as loc:
            t0 = time.perf_counter()
            loc.prepare()
            prep = time.perf_counter() - t0
            print(f"prepare (open gazetteer, load language model): {prep:.2f} s")
            for photo in photos:
                runs = []
                per_node: dict[str, float] = defaultdict(float)
                for _ in range(3):
                    trace = loc.locate(photo)
                    runs.append(trace.duration_ms / 1000)
                for timing in trace.timings:
                    per_node[timing.node] += timing.duration_ms
                p50 = statistics.median(runs)
                print(
                    f"{photo.name}: {p50:.2f} s per photo warm (goal ≤ {GOAL_S} s, "
                    f"ratio {p50 / GOAL_S:.2f}); answer {trace.prediction.label!r} "
                    f"({trace.prediction.level})"
                )
                tools: dict[str, float] = defaultdict(float)
                for call in trace.tool_calls:
                    tools[call.tool] += call.duration_ms
                print("  nodes: " + ", ".join(f"{k} {v:.0f} ms" for k, v in per_node.items()))
                print("  tools: " + ", ".join(f"{k} {v:.0f} ms" for k, v in tools.items()))
            if arezzo.exists():
                _gps_answer(arezzo)
        gre = Path(sys.executable).with_name("gre")
        t0 = time.perf_counter()
        subprocess.run(
            [str(gre), "locate", "--json", "--ignore-metadata", str(photos[0])],
            check=True,
            capture_output=True,
        )
        cold = time.perf_counter() - t0
        print(
            f"cold CLI process, one photo (imports + prepare + run): {cold:.2f} s "
            f"(ratio to goal {cold / GOAL_S:.2f})"
        )


if __name__ == "__main__":
    main()
