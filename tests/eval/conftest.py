"""Fixtures of the evaluation tests: a small GREval-style benchmark on disk."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

BenchMaker = Callable[..., Path]


def write_bench(root: Path, n: int = 6) -> Path:
    """``root/bench.json``: n small distinct images s00.. with truths 40+i N, -3+2i E."""
    (root / "imgs").mkdir(parents=True, exist_ok=True)
    records = []
    for i in range(n):
        name = f"imgs/s{i:02d}.jpg"
        Image.new("RGB", (48, 32), (i * 30 % 255, 70, 110)).save(root / name)
        records.append(
            {
                "sample_id": f"s{i:02d}",
                "image_path": name,
                "gt_lat": 40.0 + i,
                "gt_lon": -3.0 + 2 * i,
            }
        )
    path = root / "bench.json"
    path.write_text(json.dumps(records), encoding="utf-8")
    return path


@pytest.fixture
def make_bench(tmp_path: Path) -> BenchMaker:
    """``make_bench(n=6)``: a benchmark of n photos under ``tmp_path/data``."""

    def make(n: int = 6) -> Path:
        return write_bench(tmp_path / "data", n)

    return make
