"""Cold start of `gre --help`: wall time of fresh processes, and which heavy modules load.

Goal: ≤ 0.5 s, with no torch, transformers or langgraph import on that path.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

GOAL_S = 0.5
RUNS = 10
HEAVY = ("torch", "transformers", "langgraph", "lingua", "PIL", "pydantic_settings")


def main() -> None:
    gre = Path(sys.executable).with_name("gre")
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        subprocess.run([str(gre), "--help"], check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    p50 = statistics.median(times)
    baseline = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True, capture_output=True)
        baseline.append(time.perf_counter() - t0)
    probe = f"import sys, gre.cli; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout.strip()
    print(f"gre --help cold start p50: {p50:.3f} s over {RUNS} runs (goal ≤ {GOAL_S} s)")
    bare = statistics.median(baseline)
    print(f"  ratio to goal: {p50 / GOAL_S:.2f}; bare python start: {bare:.3f} s")
    print(f"  heavy modules imported by gre.cli: {loaded or 'none'}")


if __name__ == "__main__":
    main()
