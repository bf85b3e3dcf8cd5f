"""The gazetteer: index build time and memory, query latency and memory, and data quality.

Goals (2-core machine): build ≤ 15 s once, lookup p50 ≤ 2 ms (exact/folded), peak memory
(ru_maxrss) ≤ 400 MB for building and for querying. Build and queries each run in their own
subprocess so their memory figures are honest. Fuzzy, scan and reverse latencies are reported
without a goal. With the shared OSV-5M sample present, also reports how often the nearest
city / its country / a name look-up agree with the benchmark's labels.

Usage: python bench/bench_gazetteer.py [--cache DIR]   (default: a fresh temporary dir)
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BUILD_GOAL_S = 15.0
LOOKUP_GOAL_MS = 2.0
MEMORY_GOAL_MB = 400.0
REPO = Path(__file__).resolve().parents[1]
OSV5M = REPO.parent / "shared" / "data" / "benchmarks" / "osv5m_game_select.csv"

SIGNS = [
    "PALAIS DU LOUVRE\nMUSEE DU LOUVRE\nTHEATRE DU PALAIS ROYAL",
    "STRASBOURG\nCentre ville",
    "Pont de Fontcouverte 0h15\nNÉVACHE 1h30\nLacs de Cristol 3h\nCol du Granon 4h",
    "SORTIE 12 AIX EN PROVENCE NORD\nA7 LYON - MARSEILLE",
    "Via Roma 12, 52100 Arezzo (AR) Toscana Italia",
    "Bienvenue à LOS ANGELES\nWelcome to the City of London",
]


def _maxrss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def _ms(fn: Callable[[], Any], runs: int = 1) -> float:
    t0 = time.perf_counter()
    for _ in range(runs):
        fn()
    return (time.perf_counter() - t0) * 1000 / runs


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- the subprocesses -------------------------------------------------------------------------


def child_build(cache: Path) -> dict[str, Any]:
    from gre.tools.gazetteer import build_index, index_path

    steps: list[str] = []
    path = index_path(cache)
    path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    build_index(path, progress=steps.append)
    return {
        "build_s": time.perf_counter() - t0,
        "maxrss_mb": _maxrss_mb(),
        "size_mb": path.stat().st_size / 1e6,
        "steps": steps,
    }


def _sample_names(path: Path, n: int, seed: int) -> list[str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    rows = conn.execute(
        "SELECT name FROM place WHERE kind = 'city' AND population >= 500 ORDER BY id"
    ).fetchall()
    conn.close()
    rnd = random.Random(seed)
    return [r[0] for r in rnd.sample(rows, n)]


def _misspell(name: str, rnd: random.Random) -> str:
    i = rnd.randrange(1, len(name) - 1)
    return name[:i] + name[i + 1 :] if rnd.random() < 0.5 else name[:i] + name[i] + name[i:]


def child_query(cache: Path) -> dict[str, Any]:
    from gre.tools.gazetteer import Gazetteer

    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    gaz = Gazetteer.open(cache)
    out["open_ms"] = (time.perf_counter() - t0) * 1000
    rnd = random.Random(1)
    names = _sample_names(gaz.path, 600, 1)
    queries = [n if i % 3 else n.upper() for i, n in enumerate(names)]  # exact and folded
    for q in queries[:50]:
        gaz.lookup(q)  # warm the page cache
    out["lookup_ms"] = [_ms(lambda q=q: gaz.lookup(q)) for q in queries]
    out["lookup_found"] = sum(1 for q in queries if gaz.lookup(q, fuzzy=False)) / len(queries)
    long_names = [n for n in names if len(n) >= 7][:200]
    typos = [_misspell(n, rnd) for n in long_names]
    out["fuzzy_ms"] = [_ms(lambda q=q: gaz.lookup(q)) for q in typos]
    out["fuzzy_recall"] = sum(
        1 for n, t in zip(long_names, typos, strict=True) if n in [p.name for p in gaz.lookup(t)]
    ) / len(typos)
    out["scan_ms"] = [_ms(lambda t=t: gaz.scan(t), runs=5) for t in SIGNS]
    points = [(rnd.uniform(-60, 70), rnd.uniform(-180, 180)) for _ in range(500)]
    conn = sqlite3.connect(f"file:{gaz.path}?mode=ro", uri=True)
    cities = conn.execute("SELECT lat, lon FROM place WHERE kind = 'city'").fetchall()
    conn.close()
    points += [(lat + rnd.uniform(-0.05, 0.05), lon) for lat, lon in rnd.sample(cities, 1000)]
    out["reverse_ms"] = [_ms(lambda p=p: gaz.reverse(*p)) for p in points]
    out["reverse5_ms"] = [_ms(lambda p=p: gaz.reverse(*p, limit=5)) for p in points[-300:]]
    out["country_ms"] = [_ms(lambda: gaz.country("fr")) for _ in range(200)]
    out["threads_ok"] = _threads(gaz, queries[:200])
    if OSV5M.is_file():
        out["osv5m"] = _osv5m(gaz)
    gaz.close()
    out["maxrss_mb"] = _maxrss_mb()
    return out


def _threads(gaz: Any, queries: list[str]) -> bool:
    import threading

    expected = [[p.name for p in gaz.lookup(q)] for q in queries]
    bad: list[str] = []

    def work() -> None:
        for q, want in zip(queries, expected, strict=True):
            if [p.name for p in gaz.lookup(q)] != want:
                bad.append(q)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return not bad


def _osv5m(gaz: Any) -> dict[str, Any]:
    from gre.geo import haversine_km
    from gre.textnorm import fold

    rows = list(csv.DictReader(OSV5M.open(encoding="utf-8")))
    country = city5 = named = 0
    dists: list[float] = []
    for row in rows:
        lat, lon = float(row["true_lat"]), float(row["true_lon"])
        near = gaz.reverse(lat, lon, limit=5)
        country += near[0].country_code == row["country"]
        city5 += fold(row["city"]) in {fold(p.name) for p in near}
        dists.append(near[0].distance_km)
        hits = gaz.lookup(row["city"], country_code=row["country"])
        named += any(haversine_km(lat, lon, p.lat, p.lon) <= 25 for p in hits)
    n = len(rows)
    return {
        "rows": n,
        "country": country / n,
        "city_in_nearest5": city5 / n,
        "lookup_within_25km": named / n,
        "nearest_km_p50": statistics.median(dists),
    }


# --- the report -------------------------------------------------------------------------------


def _run_child(mode: str, cache: Path) -> dict[str, Any]:
    cmd = [sys.executable, __file__, f"--child-{mode}", str(cache)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{mode} subprocess failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _line(label: str, value: float, unit: str, goal: float | None = None) -> str:
    text = f"{label}: {value:.3g} {unit}" if value < 100 else f"{label}: {value:.0f} {unit}"
    if goal is not None:
        text += f" (goal ≤ {goal:g} {unit}, ratio {value / goal:.2f})"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, help="cache dir to build into (default: temp)")
    parser.add_argument("--child-build", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-query", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_build:
        print(json.dumps(child_build(args.child_build)))
        return
    if args.child_query:
        print(json.dumps(child_query(args.child_query)))
        return

    with tempfile.TemporaryDirectory(prefix="gre-bench-gaz-") as tmp:
        cache = args.cache or Path(tmp)
        build = _run_child("build", cache)
        query = _run_child("query", cache)

    print(_line("build", build["build_s"], "s", BUILD_GOAL_S))
    for step in build["steps"]:
        print(f"  {step}")
    print(_line("build peak memory", build["maxrss_mb"], "MB", MEMORY_GOAL_MB))
    print(f"index size: {build['size_mb']:.0f} MB")
    print(_line("open", query["open_ms"], "ms"))
    lk = query["lookup_ms"]
    print(
        _line("lookup exact/folded p50", statistics.median(lk), "ms", LOOKUP_GOAL_MS)
        + f"; p95 {_pct(lk, 0.95):.2f} ms; found {query['lookup_found']:.1%} of {len(lk)}"
    )
    fz = query["fuzzy_ms"]
    print(
        _line("lookup fuzzy p50", statistics.median(fz), "ms")
        + f"; p95 {_pct(fz, 0.95):.2f} ms; one-typo recall {query['fuzzy_recall']:.1%}"
    )
    print(_line("scan p50 (sign texts)", statistics.median(query["scan_ms"]), "ms"))
    rv = query["reverse_ms"]
    print(
        _line("reverse p50 (limit 1)", statistics.median(rv), "ms")
        + f"; p95 {_pct(rv, 0.95):.2f} ms; max {max(rv):.1f} ms over {len(rv)} points"
    )
    print(_line("reverse p50 (limit 5)", statistics.median(query["reverse5_ms"]), "ms"))
    print(_line("country p50", statistics.median(query["country_ms"]), "ms"))
    print(f"4 threads agree with serial results: {query['threads_ok']}")
    print(_line("query peak memory", query["maxrss_mb"], "MB", MEMORY_GOAL_MB))
    if "osv5m" in query:
        q = query["osv5m"]
        print(
            f"OSV-5M sample ({q['rows']} photos): nearest city's country right {q['country']:.0%}, "
            f"labelled city among 5 nearest {q['city_in_nearest5']:.0%}, "
            f"lookup(city, country) within 25 km {q['lookup_within_25km']:.0%}, "
            f"nearest city p50 {q['nearest_km_p50']:.1f} km"
        )


if __name__ == "__main__":
    main()
