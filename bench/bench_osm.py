"""The OSM tool's local backend: index build time, size and memory; query latency and memory.

Goals (2-core machine, the shared Monaco extract): build ≤ 10 s once, query p50 ≤ 50 ms
for named, tag and co-occurrence queries. Build and queries each run in their own
subprocess so their peak memory (ru_maxrss) is honest.

Usage: python bench/bench_osm.py [--extract FILE.osm.pbf] [--cache DIR] [--runs N]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BUILD_GOAL_S = 10.0
QUERY_GOAL_MS = 50.0
REPO = Path(__file__).resolve().parents[1]
MONACO = REPO.parent / "shared" / "data" / "osm" / "monaco.osm.pbf"

PHARMACY = [{"key": "amenity", "value": "pharmacy"}]
BUS_STOP = [{"key": "highway", "value": "bus_stop"}]
CASINO = {"lat": 43.7397, "lon": 7.4281}
QUERIES: dict[str, list[dict[str, Any]]] = {
    "named": [
        {"kind": "named", "name": "Casino de Monte-Carlo"},
        {"kind": "named", "name": "boulevard des moulins"},
        {"kind": "named", "name": "Pharmacie de Carnoles"},
        {"kind": "named", "name": "Avenue Princesse Grace", "area": {**CASINO, "radius_m": 3000}},
    ],
    "named_fuzzy": [
        {"kind": "named", "name": "Boulevard des Moulns", "fuzzy": True},
        {"kind": "named", "name": "Casino Monte Carlo", "fuzzy": True},
    ],
    "tags": [
        {"kind": "tags", "tags": PHARMACY, "limit": 200},
        {"kind": "tags", "tags": [{"key": "highway", "value": "bus_stop"}], "limit": 200},
        {"kind": "tags", "tags": [{"key": "building"}], "area": {**CASINO, "radius_m": 300}},
        {"kind": "tags", "tags": [{"key": "shop"}], "limit": 200},
    ],
    "near": [
        {"kind": "near", "tags": PHARMACY, "near": [{"tags": BUS_STOP, "within_m": 100}]},
        {
            "kind": "near",
            "tags": PHARMACY,
            "near": [{"tags": [{"key": "highway", "value": "primary"}], "within_m": 30}],
        },
        {
            "kind": "near",
            "tags": [{"key": "amenity", "value": "restaurant"}],
            "near": [
                {"tags": BUS_STOP, "within_m": 150},
                {"tags": [{"key": "amenity", "value": "bank"}], "within_m": 150},
            ],
            "limit": 200,
        },
    ],
}


def _maxrss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def child_build(extract: Path, cache: Path) -> dict[str, Any]:
    from gre.tools.osm.local import build_index, index_path

    path = index_path(extract, cache)
    steps: list[str] = []
    t0 = time.perf_counter()
    meta = build_index(extract, path, progress=steps.append)
    return {
        "build_s": time.perf_counter() - t0,
        "size_mb": path.stat().st_size / 1e6,
        "extract_mb": extract.stat().st_size / 1e6,
        "features": int(meta["features"]),
        "maxrss_mb": _maxrss_mb(),
        "steps": steps,
    }


def child_query(extract: Path, cache: Path, runs: int) -> dict[str, Any]:
    from gre.tools.osm.local import LocalIndex
    from gre.tools.osm.tool import OsmInput

    t0 = time.perf_counter()
    index = LocalIndex.open(extract, cache)
    out: dict[str, Any] = {"open_ms": (time.perf_counter() - t0) * 1000}
    for kind, queries in QUERIES.items():
        parsed = [OsmInput.model_validate(q) for q in queries]
        found = [len(index.search(q).features) for q in parsed]  # also warms the cache
        times = []
        for _ in range(runs):
            for q in parsed:
                t = time.perf_counter()
                index.search(q)
                times.append((time.perf_counter() - t) * 1000)
        out[kind] = {
            "p50_ms": statistics.median(times),
            "p95_ms": sorted(times)[int(0.95 * (len(times) - 1))],
            "max_ms": max(times),
            "found": found,
        }
    index.close()
    out["maxrss_mb"] = _maxrss_mb()
    return out


def _run_child(args: list[str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"subprocess {args[0]} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _goal(value: float, goal: float) -> str:
    return f"(goal ≤ {goal:g}, {'ok' if value <= goal else 'MISSED'})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extract", type=Path, default=MONACO)
    parser.add_argument("--cache", type=Path, help="cache dir to build into (default: temp)")
    parser.add_argument("--runs", type=int, default=20, help="repetitions of each query")
    parser.add_argument("--child", choices=["build", "query"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.extract.is_file():
        raise SystemExit(f"extract not found: {args.extract}")
    if args.child == "build":
        print(json.dumps(child_build(args.extract, args.cache)))
        return
    if args.child == "query":
        print(json.dumps(child_query(args.extract, args.cache, args.runs)))
        return

    with tempfile.TemporaryDirectory(prefix="bench-osm-") as tmp:
        cache = args.cache or Path(tmp)
        common = ["--extract", str(args.extract), "--cache", str(cache)]
        build = _run_child(["--child", "build", *common])
        query = _run_child(["--child", "query", *common, "--runs", str(args.runs)])
    print(f"extract: {args.extract.name} ({build['extract_mb']:.1f} MB)")
    for step in build["steps"]:
        print(f"  {step}")
    print(f"index build: {build['build_s']:.2f} s {_goal(build['build_s'], BUILD_GOAL_S)}")
    print(f"index size: {build['size_mb']:.1f} MB, {build['features']} features")
    print(f"build peak memory: {build['maxrss_mb']:.0f} MB")
    print(f"open: {query['open_ms']:.1f} ms")
    for kind in QUERIES:
        r = query[kind]
        print(
            f"{kind}: p50 {r['p50_ms']:.2f} ms {_goal(r['p50_ms'], QUERY_GOAL_MS)}, "
            f"p95 {r['p95_ms']:.2f} ms, max {r['max_ms']:.2f} ms; found {r['found']}"
        )
    print(f"query peak memory: {query['maxrss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
