import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from gre.ingest.photo import PhotoError, prepare_photo


def _prepare(path: Path, tmp_path: Path, max_pixels: int = 100_000_000, max_bytes: int = 2**30):
    return prepare_photo(path, tmp_path / "work", max_pixels=max_pixels, max_bytes=max_bytes)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _bomb_png(path: Path, side: int) -> None:
    """A tiny file that claims to be side x side pixels."""
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def test_missing_dir_empty_and_non_image(tmp_path: Path) -> None:
    with pytest.raises(PhotoError, match="no such file"):
        _prepare(tmp_path / "nope.jpg", tmp_path)
    with pytest.raises(PhotoError, match="is a directory"):
        _prepare(tmp_path, tmp_path)
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(PhotoError, match="empty file"):
        _prepare(empty, tmp_path)
    text = tmp_path / "notes.jpg"
    text.write_text("not a picture at all\n")
    with pytest.raises(PhotoError, match="not an image"):
        _prepare(text, tmp_path)


def test_truncated_jpeg(tmp_path: Path) -> None:
    good = tmp_path / "good.jpg"
    Image.new("RGB", (400, 300), (200, 30, 30)).save(good, quality=90)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(PhotoError, match="truncated or corrupt"):
        _prepare(cut, tmp_path)


def test_pixel_limit_and_decompression_bomb(tmp_path: Path) -> None:
    small = tmp_path / "small.png"
    Image.new("RGB", (100, 100)).save(small)
    with pytest.raises(PhotoError, match=r"over the .* MP limit"):
        _prepare(small, tmp_path, max_pixels=5000)
    bomb = tmp_path / "bomb.png"
    _bomb_png(bomb, 60_000)  # 3.6 gigapixels in a few hundred bytes
    assert bomb.stat().st_size < 1000
    with pytest.raises(PhotoError, match="decompression-bomb"):
        _prepare(bomb, tmp_path)


def test_file_size_limit(tmp_path: Path) -> None:
    p = tmp_path / "a.png"
    Image.new("RGB", (50, 50)).save(p)
    with pytest.raises(PhotoError, match="over the"):
        _prepare(p, tmp_path, max_bytes=10)


def test_messages_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 100)
    with pytest.raises(PhotoError) as info:
        _prepare(bad, tmp_path)
    assert "\n" not in str(info.value)
    assert str(bad) in str(info.value)


def test_working_copy_is_upright_and_metadata_free(tmp_path: Path) -> None:
    src = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (43.0, 28.0, 2.8), 3: "E", 4: (11.0, 53.0, 6.4)})
    Image.new("RGB", (300, 200), (10, 120, 40)).save(src, exif=exif)
    info = _prepare(src, tmp_path)
    assert (info.width, info.height) == (300, 200)
    with Image.open(info.work_path) as work:
        assert work.size == (200, 300)  # transposed upright
        assert work.format == "PNG"
        assert len(work.getexif()) == 0
        assert "exif" not in work.info


def test_large_photo_is_downscaled_for_work(tmp_path: Path) -> None:
    src = tmp_path / "big.jpg"
    Image.new("RGB", (6000, 1000), (1, 2, 3)).save(src)
    info = _prepare(src, tmp_path)
    with Image.open(info.work_path) as work:
        assert max(work.size) == 4000


def test_heif_opens(shared_data: Path, tmp_path: Path) -> None:
    heif = shared_data / "images/exif/exifsamples_madrid_HMD_Nokia_8.3_5G_hdr.heif"
    info = _prepare(heif, tmp_path)
    assert info.format == "HEIF"
    assert Path(info.work_path).exists()


def test_non_regular_files_are_refused_before_opening(tmp_path: Path) -> None:
    """Opening a FIFO blocks until a writer comes: it must be refused by its kind."""
    import os
    import socket
    import threading

    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            _prepare(fifo, tmp_path)
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "opening a FIFO blocked"
    assert isinstance(outcome[0], PhotoError) and "named pipe" in str(outcome[0])
    sock_path = tmp_path / "s.jpg"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(sock_path))
        with pytest.raises(PhotoError, match="is a socket"):
            _prepare(sock_path, tmp_path)
    loop = tmp_path / "loop.jpg"
    loop.symlink_to(loop)
    with pytest.raises(PhotoError, match="cannot read"):
        _prepare(loop, tmp_path)


def test_a_full_disk_for_the_working_copy_is_an_error_not_an_empty_photo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    clean, tagged = tmp_path / "a.jpg", tmp_path / "b.jpg"
    Image.new("RGB", (64, 64), (9, 9, 9)).save(clean)  # its copy is its own bytes
    exif = Image.Exif()
    exif[0x0112] = 1
    Image.new("RGB", (64, 64), (9, 9, 9)).save(tagged, exif=exif)  # re-encoded without EXIF

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", full)
    monkeypatch.setattr("gre.ingest.photo.shutil.copyfile", full)
    for src in (clean, tagged):
        with pytest.raises(PhotoError, match=r"cannot write its working copy.*No space left"):
            _prepare(src, tmp_path)
    assert not list((tmp_path / "work").glob("*"))


def test_a_clean_jpeg_is_its_own_working_copy_and_a_tagged_one_is_not(tmp_path: Path) -> None:
    clean, tagged = tmp_path / "a.jpg", tmp_path / "b.jpg"
    Image.new("RGB", (64, 48), (9, 90, 9)).save(clean)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: the working copy must be turned upright
    Image.new("RGB", (64, 48), (9, 90, 9)).save(tagged, exif=exif)
    copy = Path(_prepare(clean, tmp_path).work_path)
    assert copy.suffix == ".jpg" and copy.read_bytes() == clean.read_bytes()
    turned = Path(_prepare(tagged, tmp_path).work_path)
    assert turned.suffix == ".png"
    with Image.open(turned) as image:
        assert image.size == (48, 64) and "exif" not in image.info


def test_a_huge_small_jpeg_is_decoded_at_a_reduced_scale(tmp_path: Path) -> None:
    """A few hundred KB can claim 64 MP: decoding it whole, then turning and converting it,
    cost over a gigabyte; the working copy never needs more than its own size."""
    import subprocess
    import sys

    src = tmp_path / "flat.jpg"
    Image.new("RGB", (8000, 8000), (120, 30, 30)).save(src, quality=5)
    assert src.stat().st_size < 2_000_000
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from gre.ingest.photo import prepare_photo\n"
        "info = prepare_photo(Path(sys.argv[1]), Path(sys.argv[2]), "
        "max_pixels=100_000_000, max_bytes=2**30)\n"
        "hwm = [ln for ln in open('/proc/self/status') if ln.startswith('VmHWM')][0]\n"
        "print(info.width, info.height, hwm.split()[1])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(src), str(tmp_path / "work")],
        capture_output=True,
        text=True,
        check=True,
    )
    width, height, peak_kb = map(int, out.stdout.split())
    assert (width, height) == (8000, 8000)  # the stored size is reported, not the decoded one
    assert peak_kb < 250_000, f"peak {peak_kb / 1024:.0f} MB"
    assert "DecompressionBombWarning" not in out.stderr
