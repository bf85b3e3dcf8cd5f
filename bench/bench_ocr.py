"""Time the ocr and text_clues tools on this machine.

    python bench/bench_ocr.py [--repeat 3]

OCR: seconds per photo (best and median of --repeat runs, and the CPU seconds of
the best run, tesseract processes included) for the 640x480 Arezzo street photo
and the generated example sign, plus the two shared sign photos for reference,
by language set: eng, eng+fra (languages given: no detection) and auto (OSD,
the configured eng+fra, the script probe). Goal: <= 2 s per 640x480 photo with
OSD and two languages on 2 cores. Then one drawn 640x480 sign per script (auto):
time, what OSD said, the script and languages found, the text. Then what each
mode reads on the photos (auto): the share of the sign words found (recall) and
the words read that are not on the signs (junk), the figures
:data:`gre.tools.ocr.reading.PLANS` was tuned on. text_clues: the first call (lingua
models and CLDR tables load) against later calls.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from gre.config import Settings
from gre.textnorm import fold
from gre.tools.ocr import Mode, OcrInput, OcrOutput, OcrTool, installed_languages
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
LANGUAGE_SETS: tuple[list[str] | None, ...] = (["eng"], ["eng", "fra"], None)  # None: auto
NOTO = Path("/usr/share/fonts/truetype/noto")
NOTO_CJK = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
# One drawn sign per script: font, face index in a collection, the sign's two lines.
SIGNS: dict[str, tuple[Path, int, tuple[str, str]]] = {
    "Latin": (NOTO / "NotoSans-Bold.ttf", 0, ("Marseille", "centre ville")),
    "Cyrillic": (NOTO / "NotoSans-Bold.ttf", 0, ("Москва", "центр")),
    "Greek": (NOTO / "NotoSans-Bold.ttf", 0, ("Αθήνα", "κέντρο")),
    "Arabic": (NOTO / "NotoSansArabic-Bold.ttf", 0, ("القاهرة", "وسط المدينة")),
    "Hebrew": (NOTO / "NotoSansHebrew-Bold.ttf", 0, ("ירושלים", "מרכז העיר")),
    "Devanagari": (NOTO / "NotoSansDevanagari-Bold.ttf", 0, ("दिल्ली", "शहर केंद्र")),
    "Thai": (NOTO / "NotoSansThai-Bold.ttf", 0, ("กรุงเทพ", "ศูนย์กลาง")),
    "Han": (NOTO_CJK, 2, ("北京", "市中心")),
    "Japanese": (NOTO_CJK, 0, ("東京駅", "のりば")),
    "Hangul": (NOTO_CJK, 1, ("서울역", "출구")),
}


def _example(folder: Path) -> Path:
    spec = importlib.util.spec_from_file_location("make_sign", REPO / "examples" / "make_sign.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path: Path = module.make_sign(folder / "example_sign.jpg")
    return path


def _script_sign(folder: Path, script: str) -> Path | None:
    """A 640x480 sign: two lines of dark text on a light panel by a road (as in the tests)."""
    font_path, index, lines = SIGNS[script]
    if not font_path.is_file():
        return None
    img = Image.new("RGB", (640, 480), (112, 140, 100))
    draw = ImageDraw.Draw(img)
    draw.rectangle([0, 0, 640, 150], fill=(150, 190, 230))
    draw.rectangle([90, 120, 550, 370], fill=(240, 240, 236))
    font = ImageFont.truetype(str(font_path), 56, index=index)
    for y, text in zip((205, 285), lines, strict=True):
        draw.text((320, y), text, font=font, fill=(20, 20, 20), anchor="mm")
    path = folder / f"sign_{script}.png"
    img.save(path)
    return path


def _cpu() -> float:
    """CPU seconds of this process and its finished children (tesseract)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _times(fn: Callable[[], object], repeat: int) -> list[tuple[float, float]]:
    """(wall, cpu) seconds of each run."""
    out = []
    for _ in range(repeat):
        c0, t0 = _cpu(), time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0, _cpu() - c0))
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
    later = [
        wall
        for text in texts
        for wall, _ in _times(partial(tool.run, TextCluesInput(text=text)), 5)
    ]
    print("\ntext_clues")
    print(
        f"  first call (detector, models, CLDR tables): {first_s * 1000:7.1f} ms  {first.summary()}"
    )
    print(
        f"  later calls: median {statistics.median(later) * 1000:.1f} ms, "
        f"max {max(later) * 1000:.1f} ms ({len(later)} calls)"
    )


def _osd(out: OcrOutput) -> str:
    if not out.osd:
        return "-"
    o = out.osd[0]
    turn = f" turn {o.rotate} ({o.orientation_confidence:.1f})" if o.rotate else ""
    return f"{o.script} {o.script_confidence:.1f}{turn}"


def bench_speed(tool: OcrTool, photos: list[Path], repeat: int) -> None:
    header = f"{'photo':34} {'size':>9} {'mode':6} {'languages':9}"
    print(f"  {header} {'best':>6} {'median':>6} {'cpu':>5}")
    for photo in photos:
        with Image.open(photo) as img:
            size = f"{img.width}x{img.height}"
        for mode in MODES:
            for langs in LANGUAGE_SETS:
                params = OcrInput(path=str(photo), mode=mode, languages=langs)
                times = _times(partial(tool.run, params), repeat)
                best, cpu = min(times)
                median = statistics.median(wall for wall, _ in times)
                name = "+".join(langs) if langs else "auto"
                flag = "  over goal" if size == "640x480" and not langs and best > GOAL_S else ""
                print(
                    f"  {photo.name[:34]:34} {size:>9} {mode:6} {name:9} "
                    f"{best:6.2f} {median:6.2f} {cpu:5.2f}{flag}"
                )


def bench_scripts(tool: OcrTool, folder: Path, repeat: int) -> None:
    print("\n  one drawn 640x480 sign per script, languages auto (eng+fra configured)")
    print(f"  {'script':10} {'best':>5} {'cpu':>5}  {'OSD':22} {'found':10} {'languages':18} text")
    for script in SIGNS:
        sign = _script_sign(folder, script)
        if sign is None:
            print(f"  {script:10} font missing, skipped")
            continue
        times = _times(partial(tool.run, OcrInput(path=str(sign))), repeat)
        out = tool.run(OcrInput(path=str(sign)))
        best, cpu = min(times)
        found = ",".join(out.scripts) or "-"
        text = out.text.replace("\n", " / ") or "(nothing)"
        print(
            f"  {script:10} {best:5.2f} {cpu:5.2f}  {_osd(out):22} {found:10} "
            f"{'+'.join(out.languages):18} {text}"
        )


def bench_reading(tool: OcrTool, photos: list[Path]) -> None:
    print("\n  what each mode reads (auto); recall of the sign's words, junk words read, OSD")
    for photo in photos:
        truth = {w for w in fold(TRUTH.get(photo.name, "")).split() if len(w) > 1}
        for mode in MODES:
            out = tool.run(OcrInput(path=str(photo), mode=mode))
            read = [w for w in fold(out.text).split() if len(w) > 1]
            found = truth & set(read)
            junk = [w for w in read if w not in truth]
            print(
                f"  {photo.name[:34]:34} {mode:6} recall {len(found):2}/{len(truth):<2} "
                f"junk {len(junk):2}  OSD {_osd(out)}: {out.text.replace(chr(10), ' / ') or '-'}"
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
        for photo in photos:
            if not photo.is_file():
                print(f"  {photo.name}: missing, skipped")
        photos = [p for p in photos if p.is_file()]
        load = os.getloadavg()[0]
        print(
            f"ocr: {os.cpu_count()} cores (load {load:.1f}), "
            f"languages installed: {installed_languages()}"
        )
        bench_speed(tool, photos, repeat)
        bench_scripts(tool, Path(tmp), repeat)
        bench_reading(tool, photos)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement")
    args = parser.parse_args()
    bench_text_clues()  # first: lingua's first call must not be warmed by anything else
    print()
    bench_ocr(max(1, args.repeat))


if __name__ == "__main__":
    main()
