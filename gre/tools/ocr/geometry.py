"""Pixel boxes and the regions the ``ocr`` tool reads: turned upright, boxes mapped back."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image

PixelBox = tuple[int, int, int, int]
FloatBox = tuple[float, float, float, float]


def union(boxes: Sequence[PixelBox]) -> PixelBox:
    """The smallest box holding all ``boxes``."""
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def overlap(a: PixelBox, b: PixelBox) -> float:
    """Intersection over the smaller box's area."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return (w * h) / max(1, smaller)


def inside(inner: PixelBox, outer: PixelBox, share: float = 0.6) -> bool:
    """Whether ``share`` of ``inner``'s area lies in ``outer``."""
    w = min(inner[2], outer[2]) - max(inner[0], outer[0])
    h = min(inner[3], outer[3]) - max(inner[1], outer[1])
    area = (inner[2] - inner[0]) * (inner[3] - inner[1])
    return w > 0 and h > 0 and w * h >= share * max(1, area)


_TURN = {
    90: Image.Transpose.ROTATE_270,  # PIL turns counter-clockwise
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True)
class Region:
    """A region read: -1 the whole image, else the index in the input's boxes; ``rotate``
    is how far (clockwise) its pixels are turned to be read upright."""

    index: int
    box: PixelBox  # in the original image
    rotate: int = 0

    @property
    def upright_size(self) -> tuple[int, int]:
        w, h = self.box[2] - self.box[0], self.box[3] - self.box[1]
        return (h, w) if self.rotate in (90, 270) else (w, h)

    def pixels(self, image: Image.Image) -> Image.Image:
        """The region's pixels, upright."""
        whole = self.box == (0, 0, *image.size)
        crop = image if whole else image.crop(self.box)
        return crop.transpose(_TURN[self.rotate]) if self.rotate else crop

    def to_original(self, box: FloatBox) -> PixelBox:
        """Map a box in the upright region's pixels back to the original image."""
        x0, y0, x1, y1 = box
        ox, oy, ox1, oy1 = self.box
        w, h = ox1 - ox, oy1 - oy
        if self.rotate == 90:  # upright (x', y') = (h - y, x)
            x0, y0, x1, y1 = y0, h - x1, y1, h - x0
        elif self.rotate == 180:
            x0, y0, x1, y1 = w - x1, h - y1, w - x0, h - y0
        elif self.rotate == 270:  # upright (x', y') = (y, w - x)
            x0, y0, x1, y1 = w - y1, x0, w - y0, x1
        return (
            min(ox1, max(ox, ox + math.floor(x0))),
            min(oy1, max(oy, oy + math.floor(y0))),
            min(ox1, max(ox, ox + math.ceil(x1))),
            min(oy1, max(oy, oy + math.ceil(y1))),
        )
