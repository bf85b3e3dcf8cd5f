"""Safe photo intake: validate a file, decode it under limits, write a clean working copy."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from gre.errors import GreError
from gre.ingest.heif import register_heif
from gre.records import PhotoInfo

WORK_MAX_SIDE = 4000  # the working copy is capped; OCR upscales small text itself


class PhotoError(GreError, ValueError):
    """A photo cannot be used; the message is one line, ready for the user."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_file(path: Path, max_bytes: int) -> int:
    """Fail with a one-line PhotoError unless ``path`` is a readable, non-empty file."""
    if not path.exists():
        raise PhotoError(f"{path}: no such file")
    if path.is_dir():
        raise PhotoError(f"{path}: is a directory, not a photo")
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


def open_photo(path: Path, max_pixels: int) -> Image.Image:
    """Decode ``path`` fully, refusing non-images, truncated data and decompression bombs."""
    register_heif()
    try:
        image = Image.open(path)
        width, height = image.size
        if width * height > max_pixels:  # checked from the header, before decoding
            raise PhotoError(
                f"{path}: {width}x{height} is {width * height / 1e6:.0f} megapixels, "
                f"over the {max_pixels / 1e6:.0f} MP limit (decompression-bomb guard)"
            )
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
    image = open_photo(path, max_pixels)
    fmt = image.format or "unknown"
    width, height = image.size
    try:
        upright = ImageOps.exif_transpose(image)
    except Exception:  # a broken orientation tag must not lose the photo
        upright = image
    rgb = upright.convert("RGB")
    if max(rgb.size) > WORK_MAX_SIDE:
        rgb.thumbnail((WORK_MAX_SIDE, WORK_MAX_SIDE), Image.Resampling.LANCZOS)
    digest = _sha256(path)
    workdir.mkdir(parents=True, exist_ok=True)
    work_path = workdir / f"{digest[:16]}-{uuid.uuid4().hex[:8]}.png"  # unique per run
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
