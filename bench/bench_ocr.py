"""Time the ocr and text_clues tools on this machine.

    python bench/bench_ocr.py [--repeat 3]

OCR: seconds per photo (best and median of --repeat runs) for the 640x480 Arezzo
street photo and the generated example sign, with eng and eng+fra, in both modes,
plus the two shared sign photos for reference. Goal: <= 2 s per 640x480 photo
with two languages on 2 cores. Then what each mode reads (eng+fra): the share of
the sign words found (recall) and the words read that are not on the signs (junk),
the figures :data:`gre.tools.ocr.PLANS` was tuned on. text_clues: the first call
(lingua models and CLDR tables load) against later calls.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from PIL import Image

from gre.config import Settings
from gre.textnorm import fold
from gre.tools.ocr import Mode, OcrInput, OcrTool, installed_languages
from gre.tools.text_clues import TextCluesInput, TextCluesTool

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "images"
GOAL_S = 2.0
# What the signs say (the Arezzo landscape has no text: everything read is junk).
TRUTH = {
    "exifsamples_arezzo_DSCN0010.jpg": "",
    "example_sign.jpg": "A 4 STRASBOURG Centre ville Toutes directions",
    "easyocr_french_louvre_signpost.jpg": "Mairie du 1er Palais du LOUVRE LES ARTS DÉCORATIFS "
    "Musée du LOUVRE Théâtre du PALAIS-ROYAL",
    "hiking_1-guidepost-on-pole.jpg": "PASSERELLE DE CRISTOL 2092 m Pont de Fortville 3,8 km "
    "Névache 4,2 km 1,3 km Lacs de Cristol 3,0 km Porte de Cristol 6,5 km Col du Granon",
}
MODES: tuple[Mode, ...] = ("auto", "sparse")


def _example(folder: Path) -> Path:
    spec = importlib.util.spec_from_file_location("make_sign", REPO / "examples" / "make_sign.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path: Path = module.make_sign(folder / "example_sign.jpg")
    return path


def _times(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def bench_text_clues() -> None:
    tool = TextCluesTool(Settings())
    texts = [
        "Centre ville\nToutes directions\nSTRASBOURG",
        "Ausfahrt freihalten\nHauptbahnhof",
        "Центр города",
        "Palais du LOUVRE\nMusée du LOUVRE\nThéâtre du PALAIS-ROYAL",
    ]
    t0 = time.perf_counter()
    first = tool.run(TextCluesInput(text=texts[0]))
    first_s = time.perf_counter() - t0
    later = [t for text in texts for t in _times(partial(tool.run, TextCluesInput(text=text)), 5)]
    print("\ntext_clues")
    print(
        f"  first call (detector, models, CLDR tables): {first_s * 1000:7.1f} ms  {first.summary()}"
    )
    print(
        f"  later calls: median {statistics.median(later) * 1000:.1f} ms, "
        f"max {max(later) * 1000:.1f} ms ({len(later)} calls)"
    )


def bench_ocr(repeat: int) -> None:
    tool = OcrTool(Settings())
    reason = tool.unavailable_reason()
    if reason:
        print(f"ocr unavailable: {reason}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        photos = [
            SHARED / "exif" / "exifsamples_arezzo_DSCN0010.jpg",
            _example(Path(tmp)),
            SHARED / "signs" / "easyocr_french_louvre_signpost.jpg",
            SHARED / "signs" / "hiking_1-guidepost-on-pole.jpg",
        ]
        print(f"ocr: {os.cpu_count()} cores, languages installed: {installed_languages()}")
        print(f"  {'photo':34} {'size':>9} {'mode':6} {'languages':9} {'best':>6} {'median':>6}")
        for photo in photos:
            if not photo.is_file():
                print(f"  {photo.name}: missing, skipped")
                continue
            with Image.open(photo) as img:
                size = f"{img.width}x{img.height}"
            for mode in MODES:
                for langs in (["eng"], ["eng", "fra"]):
                    params = OcrInput(path=str(photo), mode=mode, languages=langs)
                    times = _times(partial(tool.run, params), repeat)
                    flag = (
                        "  over goal"
                        if size == "640x480" and len(langs) == 2 and min(times) > GOAL_S
                        else ""
                    )
                    print(
                        f"  {photo.name[:34]:34} {size:>9} {mode:6} {'+'.join(langs):9} "
                        f"{min(times):6.2f} {statistics.median(times):6.2f}{flag}"
                    )
        print("\n  what each mode reads (eng+fra); recall of the sign's words, junk words read")
        for photo in photos:
            if not photo.is_file():
                continue
            truth = {w for w in fold(TRUTH.get(photo.name, "")).split() if len(w) > 1}
            for mode in MODES:
                out = tool.run(OcrInput(path=str(photo), mode=mode))
                read = [w for w in fold(out.text).split() if len(w) > 1]
                found = truth & set(read)
                junk = [w for w in read if w not in truth]
                print(
                    f"  {photo.name[:34]:34} {mode:6} recall {len(found):2}/{len(truth):<2} "
                    f"junk {len(junk):2}  {out.text.replace(chr(10), ' / ') or '(nothing)'}"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement")
    args = parser.parse_args()
    bench_text_clues()  # first: lingua's first call must not be warmed by anything else
    print()
    bench_ocr(max(1, args.repeat))


if __name__ == "__main__":
    main()
