"""Images as models receive them: RGB, downscaled to a pixel budget, encoded once per photo."""

from __future__ import annotations

import base64
import io
import math
import threading
from collections import OrderedDict
from pathlib import Path

from PIL import Image

from gre.ingest.heif import register_heif
from gre.ingest.photo import is_clean_jpeg

JPEG_QUALITY = 90
_CACHE_SIZE = 32


def fit_pixels(width: int, height: int, max_pixels: int) -> tuple[int, int]:
    """The largest size with the same aspect ratio and at most ``max_pixels`` pixels."""
    if width * height <= max_pixels:
        return width, height
    scale = math.sqrt(max_pixels / (width * height))
    return max(1, int(width * scale)), max(1, int(height * scale))


def load_for_model(path: str | Path, max_pixels: int) -> Image.Image:
    """The image at ``path`` as RGB, downscaled to ``max_pixels`` (never upscaled)."""
    register_heif()
    with Image.open(path) as image:
        rgb = image.convert("RGB")
    size = fit_pixels(rgb.width, rgb.height, max_pixels)
    if size != rgb.size:
        rgb = rgb.resize(size, Image.Resampling.LANCZOS)
    return rgb


def sendable_as_is(path: Path, max_pixels: int) -> bytes | None:
    """The file's own bytes when a model can take them unchanged, else None.

    That is an RGB JPEG within the pixel budget that carries no metadata (no EXIF,
    so no orientation to apply and no GPS; no XMP, comment or IPTC): decoding and
    re-encoding it would only cost time and quality. Only the header is read to decide.
    """
    try:
        with Image.open(path) as image:
            if not is_clean_jpeg(image) or image.width * image.height > max_pixels:
                return None
    except OSError:
        return None
    return path.read_bytes()


class DataUrlCache:
    """Base64 JPEG data URLs, encoded once per (file, budget).

    Every stage of one photo sends byte-identical image data, so an inference
    server's prefix cache can reuse the image tokens across stages.
    """

    def __init__(self, size: int = _CACHE_SIZE) -> None:
        self._items: OrderedDict[tuple[str, int, float, int], str] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, path: str | Path, max_pixels: int) -> str:
        p = Path(path)
        stat = p.stat()
        key = (str(p.resolve()), stat.st_size, stat.st_mtime, max_pixels)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        data = sendable_as_is(p, max_pixels)
        if data is None:
            buf = io.BytesIO()
            load_for_model(p, max_pixels).save(buf, format="JPEG", quality=JPEG_QUALITY)
            data = buf.getvalue()
        url = "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")
        with self._lock:
            self._items[key] = url
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return url
