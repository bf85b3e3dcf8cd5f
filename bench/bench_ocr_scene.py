"""Scene-text OCR (the default engine) on camera-size photos, and a tools-only locate.

    python bench/bench_ocr_scene.py [--repeat 3]

Seconds per call (best and median of --repeat, warm) of the ``ocr`` tool, default engine
(RapidOCR, tesseract for the lines in scripts it lacks) against tesseract alone, on a
640x480 sign, a 12 MP photo (4032x3024: a shared phone photo of a sign, upscaled) and a
4608x1976 harbour-sized panorama (the hiking guidepost, upscaled). Goals on 2 cores:
<= 1.5 s, <= 3 s, <= 3 s. Then a warm tools-only ``gre locate`` (the Locator) of the 12 MP
photo, goal <= 5 s, with the time per node.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from PIL import Image

from gre.config import Settings
from gre.graphs.locator import Locator
from gre.tools.ocr import OcrInput, OcrTool

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "images"
GOALS = {"640x480": 1.5, "12 MP": 3.0, "4608x1976": 3.0}
LOCATE_GOAL_S = 5.0


def _example(tmp: Path) -> Path:
    spec = importlib.util.spec_from_file_location("make_sign", REPO / "examples" / "make_sign.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path: Path = module.make_sign(tmp / "sign.jpg")
    return path


def _upscaled(source: Path, size: tuple[int, int], target: Path) -> Path:
    with Image.open(source) as img:
        img.convert("RGB").resize(size, Image.Resampling.BICUBIC).save(target, quality=92)
    return target


def _photos(tmp: Path) -> dict[str, Path]:
    photos = {"640x480": _example(tmp)}
    paris = SHARED / "devset" / "funmap_paris-ville-de-paris-rats-poster.jpg"
    hiking = SHARED / "signs" / "hiking_1-guidepost-on-pole.jpg"
    if paris.exists():
        photos["12 MP"] = _upscaled(paris, (3024, 4032), tmp / "12mp.jpg")
    if hiking.exists():
        photos["4608x1976"] = _upscaled(hiking, (4608, 1976), tmp / "wide.jpg")
    return photos


def _time(call: object, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        call()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        photos = _photos(Path(tmp))
        tool = OcrTool(Settings(tool_timeout_s=120))
        tool.prepare()
        print("ocr, seconds per call (best / median), default engine vs tesseract alone")
        for name, path in photos.items():
            best, median = _time(lambda p=path: tool.run(OcrInput(path=str(p))), args.repeat)
            out = tool.run(OcrInput(path=str(path)))
            tess, _ = _time(lambda p=path: tool.run(OcrInput(path=str(p), engine="tesseract")), 1)
            goal = GOALS[name]
            print(
                f"  {name:10} {best:5.2f} / {median:5.2f} s  goal {goal} s (ratio "
                f"{best / goal:.2f}); tesseract alone {tess:5.2f} s ({tess / best:.1f}x); "
                f"{len(out.lines)} lines, engine {out.engine}"
            )
        if "12 MP" not in photos:
            return
        settings = Settings(offline=True, ignore_metadata=True)
        with Locator(settings) as loc:
            loc.prepare()
            loc.locate(photos["12 MP"])  # warm
            t0 = time.perf_counter()
            trace = loc.locate(photos["12 MP"])
            took = time.perf_counter() - t0
        nodes: dict[str, float] = defaultdict(float)
        for t in trace.timings:
            nodes[t.node] += t.duration_ms / 1000
        split = ", ".join(f"{k} {v:.2f} s" for k, v in nodes.items())
        print(
            f"tools-only locate, 12 MP, warm: {took:.2f} s (goal {LOCATE_GOAL_S} s, ratio "
            f"{took / LOCATE_GOAL_S:.2f}); answer {trace.prediction.label!r} "
            f"({trace.prediction.level}); {split}"
        )


if __name__ == "__main__":
    main()
