"""Tools-only accuracy on folders of real geotagged photos (the agent never sees their EXIF).

Runs ``gre eval`` (folder format: truth from EXIF, the agent gets a metadata-free copy) on
each folder given, or on ``../shared/data/images/devset`` beside the checkout, and prints
the accuracy at 1 / 25 / 200 / 750 / 2500 km, the answered and abstained counts, the
median time per photo and each photo's answer, so a
change to how photos are read can be judged on photos no rule was written for.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from gre.eval.log import read_log
from gre.eval.metrics import summarize

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO.parent / "shared" / "data" / "images" / "devset"


def evaluate(folder: Path, out: Path) -> None:
    gre = Path(sys.executable).with_name("gre")
    log = out / f"{folder.name}.jsonl"
    args = ["eval", str(folder), "--format", "folder", "--out", str(log), "--traces"]
    subprocess.run([str(gre), *args, "--quiet", "--concurrency", "2"], check=True)
    _, by_id = read_log(log)
    results = list(by_id.values())
    summary = summarize(results, bootstrap=0)
    acc = " / ".join(f"{summary.accuracy[t] * 100:.1f}" for t in summary.thresholds)
    answered = summary.n - summary.n_abstained - summary.n_failed
    seconds = statistics.median(r.duration_ms for r in results) / 1000 if results else 0.0
    counts = f"{answered} answered, {summary.n_abstained} abstained, {summary.n_failed} failed"
    print(f"{folder.name}: {summary.n} photos, {counts}")
    print(f"  accuracy at 1 / 25 / 200 / 750 / 2500 km: {acc} %")
    print(f"  median time per photo: {seconds:.2f} s (2 photos in flight)")
    for r in sorted(results, key=lambda r: r.sample_id):
        trace = r.trace or {}
        label = (trace.get("prediction") or {}).get("label", "?")
        err = "—" if r.error_km is None else f"{r.error_km:,.1f} km"
        print(f"  {r.sample_id[:48]:48} {r.level or 'unknown':8} {str(label)[:30]:30} {err}")


def main() -> None:
    folders = [Path(a) for a in sys.argv[1:]] or [DEFAULT]
    with tempfile.TemporaryDirectory() as tmp:
        for folder in folders:
            if not folder.is_dir():
                print(f"skipped {folder}: not a folder")
                continue
            evaluate(folder, Path(tmp))


if __name__ == "__main__":
    main()
