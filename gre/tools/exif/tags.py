"""EXIF tag values as text, numbers and times: the readable tags, capture time, UTC offset."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from PIL import ExifTags

from gre.errors import GreError

GPS = ExifTags.GPS
BASE = ExifTags.Base
_MAX_TAG_CHARS = 200

# Readable tags copied into ``ExifOutput.tags`` (every GPS tag present is copied too).
_IFD0_TAGS = (
    BASE.Make,
    BASE.Model,
    BASE.Software,
    BASE.DateTime,
    BASE.ImageDescription,
    BASE.Artist,
    BASE.Copyright,
    BASE.HostComputer,
    BASE.Orientation,
)
_EXIF_TAGS = (
    BASE.DateTimeOriginal,
    BASE.DateTimeDigitized,
    BASE.OffsetTime,
    BASE.OffsetTimeOriginal,
    BASE.OffsetTimeDigitized,
    BASE.SubsecTimeOriginal,
    BASE.LensMake,
    BASE.LensModel,
    BASE.FocalLength,
    BASE.FocalLengthIn35mmFilm,
    BASE.FNumber,
    BASE.ExposureTime,
    BASE.ISOSpeedRatings,
    BASE.UserComment,
)
_TAG_NAMES: dict[int, str] = {int(t): t.name for t in BASE}
_GPS_NAMES: dict[int, str] = {int(t): t.name for t in GPS}

_DATETIME = re.compile(r"^\s*(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET = re.compile(r"^\s*([+-])(\d{2}):?(\d{2})\s*$")


class Malformed(GreError, ValueError):
    """A metadata value that cannot be read as what it should be."""


def as_number(value: Any) -> float:
    """One EXIF number: IFDRational, int, float, Fraction, a (num, den) pair, or numeric text."""
    if isinstance(value, bool) or value is None:
        raise Malformed(f"not a number: {short_repr(value)}")
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise Malformed(f"not a number: {short_repr(value)}")
        num, den = (as_number(v) for v in value)
        if den == 0:
            raise Malformed("zero denominator")
        return _finite(num / den)
    if isinstance(value, (str, bytes)):
        text = as_text(value)
        try:
            return _finite(float(text))
        except ValueError:
            raise Malformed(f"not a number: {text[:40]!r}") from None
    if getattr(value, "denominator", 1) == 0:
        raise Malformed("zero denominator")
    try:
        result = float(value)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        raise Malformed(f"not a number: {short_repr(value)}") from None
    return _finite(result)


def _finite(x: float) -> float:
    if not math.isfinite(x):
        raise Malformed("not a finite number (zero denominator?)")
    return x


def components(value: Any) -> list[float]:
    """The 1-3 numbers of a coordinate: degrees[, minutes[, seconds]]."""
    if isinstance(value, (str, bytes)):
        parts: list[Any] = [p for p in re.split(r"[,\s]+", as_text(value)) if p]
    elif isinstance(value, (tuple, list)):
        parts = list(value)
    else:
        parts = [value]
    if not 1 <= len(parts) <= 3:
        raise Malformed(f"expected 1 to 3 numbers, got {len(parts)}")
    return [as_number(p) for p in parts]


def taken_at(sub: Mapping[int, Any], ifd0: Mapping[int, Any], warnings: list[str]) -> str | None:
    for ifd, tag in (
        (sub, BASE.DateTimeOriginal),
        (ifd0, BASE.DateTimeOriginal),
        (ifd0, BASE.DateTime),
    ):
        raw = ifd.get(tag)
        if raw is None:
            continue
        text = clean_text(raw) or ""
        m = _DATETIME.match(text)
        if m is None:
            if text.strip("0: "):  # all zeros or blank means "unset", not malformed
                warnings.append(f"malformed {_TAG_NAMES.get(tag, tag)} {text[:40]!r}")
            continue
        try:
            y, mo, d, h, mi, sec = (int(g) for g in m.groups())
            return datetime(y, mo, d, h, mi, sec).isoformat()
        except ValueError:
            if text.strip("0: "):
                warnings.append(f"invalid {_TAG_NAMES.get(tag, tag)} {text[:40]!r}")
    return None


def utc_offset(sub: Mapping[int, Any], warnings: list[str]) -> str | None:
    for tag in (BASE.OffsetTimeOriginal, BASE.OffsetTime):
        text = clean_text(sub.get(tag))
        if not text:
            continue
        m = _OFFSET.match(text)
        if m and int(m[2]) <= 14 and int(m[3]) < 60:
            return f"{m[1]}{m[2]}:{m[3]}"
        warnings.append(f"malformed {_TAG_NAMES[tag]} {text[:40]!r}")
    return None


def readable_tags(
    ifd0: Mapping[int, Any], sub: Mapping[int, Any], gps: Mapping[int, Any]
) -> dict[str, str]:
    tags: dict[str, str] = {}
    for ifd, wanted in ((ifd0, _IFD0_TAGS), (sub, _EXIF_TAGS)):
        for tag in wanted:
            if tag in ifd:
                text = tag_text(ifd[tag], user_comment=tag == BASE.UserComment)
                if text:
                    tags[_TAG_NAMES[tag]] = text
    for gps_tag, value in gps.items():
        text = tag_text(value)
        if text:
            tags[_GPS_NAMES.get(gps_tag, f"GPSTag{gps_tag}")] = text
    return tags


_COMMENT_CODES = (b"ASCII\x00\x00\x00", b"UNICODE\x00", b"JIS\x00\x00\x00\x00\x00", b"\x00" * 8)


def tag_text(value: Any, *, user_comment: bool = False) -> str:
    """A tag value as short, JSON-safe text ('' when empty)."""
    if isinstance(value, bytes):
        if user_comment and value[:8] in _COMMENT_CODES:
            code, body = value[:8], value[8:]
            if code.startswith(b"UNICODE"):
                enc = "utf-16-be" if body[:1] == b"\x00" else "utf-16-le"
                text = body.decode(enc, "replace")
            else:
                text = body.decode("utf-8", "replace")
        elif len(value) <= 4 and not value.strip(b"\x00").isalnum():
            text = ".".join(str(b) for b in value)  # version ids, byte refs
        else:
            text = value.decode("utf-8", "replace")
            if sum(c.isprintable() or c.isspace() for c in text) < 0.9 * len(text):
                text = f"<{len(value)} bytes>"
    elif isinstance(value, str):
        text = _fix_mojibake(value)
    elif isinstance(value, (tuple, list)):
        text = ", ".join(tag_text(v) for v in value)
    elif isinstance(value, bool | int):
        text = str(int(value))
    elif isinstance(value, Mapping):
        return ""
    else:
        try:
            text = f"{float(value):.10g}"
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            text = str(value)
    text = text.replace("\x00", "").strip()
    return text[:_MAX_TAG_CHARS]


def as_text(value: str | bytes) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return value.replace("\x00", " ").strip()


def _fix_mojibake(text: str) -> str:
    """Pillow decodes EXIF ASCII as Latin-1; recover UTF-8 text written there."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def clean_text(value: Any) -> str | None:
    """A text tag, NULs and padding stripped, truncated; None when empty or absent."""
    if value is None:
        return None
    if isinstance(value, bytes):
        text = value.decode("utf-8", "replace")
    elif isinstance(value, str):
        text = _fix_mojibake(value)
    else:
        text = tag_text(value)
    text = text.replace("\x00", "").strip()[:_MAX_TAG_CHARS]
    return text or None


def short_repr(value: Any) -> str:
    return repr(tag_text(value)[:60]) if value is not None else "(absent)"


def one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
