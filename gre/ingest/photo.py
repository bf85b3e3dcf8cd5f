"""Safe photo intake: validate a file, decode it under limits, write a clean working copy."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from gre.errors import GreError
from gre.ingest.heif import register_heif
from gre.records import PhotoInfo

WORK_MAX_SIDE = 4000  # the working copy is capped; OCR upscales small text itself
STORED_SIZE = "gre_stored_size"  # image.info key: the size in the file, before a reduced decode
METADATA_KEYS = ("exif", "xmp", "comment", "photoshop", "iptc")
"""``image.info`` keys of metadata a working copy must not carry (GPS, orientation, text)."""


def is_clean_jpeg(image: Image.Image) -> bool:
    """An RGB JPEG without metadata: a working copy of it can be its own bytes."""
    return (
        image.format == "JPEG"
        and image.mode == "RGB"
        and not any(key in image.info for key in METADATA_KEYS)
    )


class PhotoError(GreError, ValueError):
    """A photo cannot be used; the message is one line, ready for the user."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def not_a_file(path: Path) -> str | None:
    """Why ``path`` is no regular file (missing, unreadable, a FIFO...), told without
    opening it (opening a FIFO blocks forever); None for a regular file."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return f"{path}: no such file"
    except OSError as exc:  # a symlink loop, a name too long, a permission on the way
        return f"{path}: cannot read ({exc.strerror or exc})"
    if not stat.S_ISREG(mode):
        kind = next((what for test, what in _KINDS if test(mode)), "not a regular file")
        return f"{path}: is {kind}, not a photo"
    return None


def check_file(path: Path, max_bytes: int) -> int:
    """Fail with a one-line PhotoError unless ``path`` is a readable, non-empty regular file."""
    why = not_a_file(path)
    if why:
        raise PhotoError(why)
    try:
        size = path.stat().st_size
        with path.open("rb"):
            pass
    except OSError as exc:
        raise PhotoError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if size == 0:
        raise PhotoError(f"{path}: empty file (0 bytes)")
    if size > max_bytes:
        raise PhotoError(
            f"{path}: file is {size / 2**20:.0f} MiB, over the {max_bytes / 2**20:.0f} MiB limit"
        )
    return size


def open_photo(path: Path, max_pixels: int, *, max_side: int | None = None) -> Image.Image:
    """Decode ``path`` fully, refusing non-images, truncated data and decompression bombs.

    With ``max_side``, a JPEG is decoded at the smallest of its built-in scales (1/2, 1/4,
    1/8) that still covers ``max_side``: a 100 MP photo then costs a sixteenth of the memory.
    """
    register_heif()
    try:
        with warnings.catch_warnings():  # the pixel limit below is gre's own
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
        width, height = image.size
        if width * height > max_pixels:  # checked from the header, before decoding
            raise PhotoError(
                f"{path}: {width}x{height} is {width * height / 1e6:.0f} megapixels, "
                f"over the {max_pixels / 1e6:.0f} MP limit (decompression-bomb guard)"
            )
        if max_side is not None and image.format == "JPEG" and max(width, height) > max_side:
            image.draft(image.mode, (max_side, max_side))
            image.info[STORED_SIZE] = (width, height)
        image.load()
    except PhotoError:
        raise
    except Image.DecompressionBombError:
        raise PhotoError(f"{path}: image too large (decompression-bomb guard)") from None
    except UnidentifiedImageError:
        raise PhotoError(f"{path}: not an image (unknown or unsupported format)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PhotoError(f"{path}: truncated or corrupt image ({reason})") from None
    return image


def prepare_photo(path: Path, workdir: Path, *, max_pixels: int, max_bytes: int) -> PhotoInfo:
    """Validate ``path`` and write an upright, metadata-free RGB working copy into ``workdir``.

    The working copy is what every pixel tool and model sees: it carries no EXIF,
    so GPS never leaks into a run that ignores metadata.
    """
    size = check_file(path, max_bytes)
    image = open_photo(path, max_pixels, max_side=WORK_MAX_SIDE)
    fmt = image.format or "unknown"
    width, height = image.info.get(STORED_SIZE, image.size)
    if is_clean_jpeg(image) and (width, height) == image.size and max(image.size) <= WORK_MAX_SIDE:
        return _copied(path, workdir, size, fmt, width, height)
    # shrink first, then turn and convert: each step copies the image, so copy it small
    if max(image.size) > WORK_MAX_SIDE:
        resample = Image.Resampling.LANCZOS
        if image.mode in ("1", "P"):  # palette images shrink by nearest neighbour in Pillow
            image = image.convert("RGBA" if image.mode == "P" else "L")
        image.thumbnail((WORK_MAX_SIDE, WORK_MAX_SIDE), resample)
    with contextlib.suppress(Exception):  # a broken orientation tag must not lose the photo
        ImageOps.exif_transpose(image, in_place=True)
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    del image
    digest = _sha256(path)
    work_path = workdir / f"{digest[:16]}-{uuid.uuid4().hex[:8]}.png"  # unique per run
    with _writing(path, workdir, work_path):
        rgb.save(work_path, format="PNG", compress_level=1)
    return PhotoInfo(
        path=str(path),
        work_path=str(work_path),
        sha256=digest,
        format=fmt,
        width=width,
        height=height,
        bytes=size,
    )


@contextlib.contextmanager
def _writing(path: Path, workdir: Path, work_path: Path) -> Iterator[None]:
    """Write the working copy; a full or read-only temporary disk is a PhotoError."""
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        yield
    except OSError as exc:  # not "no evidence"
        work_path.unlink(missing_ok=True)
        raise PhotoError(
            f"{path}: cannot write its working copy in {workdir} ({exc.strerror or exc})"
        ) from None


def _copied(path: Path, workdir: Path, size: int, fmt: str, width: int, height: int) -> PhotoInfo:
    """A clean JPEG's working copy: its own bytes (upright and metadata-free already), so
    neither the copy nor a model's image need re-encoding."""
    digest = _sha256(path)
    work_path = workdir / f"{digest[:16]}-{uuid.uuid4().hex[:8]}.jpg"
    with _writing(path, workdir, work_path):
        shutil.copyfile(path, work_path)
    return PhotoInfo(
        path=str(path),
        work_path=str(work_path),
        sha256=digest,
        format=fmt,
        width=width,
        height=height,
        bytes=size,
    )
