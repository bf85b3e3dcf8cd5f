"""Images as the model receives them: clean JPEGs as they are, anything else re-encoded."""

from __future__ import annotations

import base64
import io
from pathlib import Path

from PIL import Image

from gre.agent.vlm.images import DataUrlCache, sendable_as_is


def _decoded(url: str) -> bytes:
    assert url.startswith("data:image/jpeg;base64,")
    return base64.b64decode(url.split(",", 1)[1])


def _exif_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate
    exif.get_ifd(0x8825)[2] = (48.0, 51.0, 0.0)
    return exif.tobytes()


def test_a_clean_jpeg_within_the_budget_is_sent_byte_for_byte(tmp_path: Path) -> None:
    photo = tmp_path / "clean.jpg"
    Image.new("RGB", (64, 48), (10, 120, 200)).save(photo, quality=80)
    assert sendable_as_is(photo, 64 * 48) == photo.read_bytes()
    assert _decoded(DataUrlCache().get(photo, 64 * 48)) == photo.read_bytes()


def test_metadata_size_and_format_make_it_re_encoded(tmp_path: Path) -> None:
    with_exif = tmp_path / "exif.jpg"
    Image.new("RGB", (64, 48), (10, 120, 200)).save(with_exif, exif=_exif_with_gps())
    big = tmp_path / "big.jpg"
    Image.new("RGB", (200, 100)).save(big)
    png = tmp_path / "p.png"
    Image.new("RGB", (64, 48)).save(png)
    gray = tmp_path / "gray.jpg"
    Image.new("L", (64, 48)).save(gray)
    for path, budget in ((with_exif, 10_000), (big, 5_000), (png, 10_000), (gray, 10_000)):
        assert sendable_as_is(path, budget) is None, path.name
        sent = Image.open(io.BytesIO(_decoded(DataUrlCache().get(path, budget))))
        assert sent.format == "JPEG" and sent.mode == "RGB"
        assert "exif" not in sent.info and sent.width * sent.height <= budget


def test_a_broken_file_is_not_sent_as_is(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff not a jpeg")
    assert sendable_as_is(broken, 10_000) is None
