"""The ``exif`` tool: a photo's embedded GPS fix, capture time and camera, from EXIF or XMP.

:func:`read_exif` is the pure reader the tool wraps. It is tolerant of the many
shapes GPS data takes in real files (DMS rationals, decimal minutes, single
values, negative SRATIONALs, byte or lower-case refs, zero denominators): bad
metadata becomes a warning, never an exception. Only a file that cannot be
opened as an image raises :class:`~gre.tools.base.ToolError`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from PIL import ExifTags, Image, UnidentifiedImageError
from pydantic import BaseModel, Field

from gre.errors import GreError
from gre.ingest.heif import register_heif
from gre.tools.base import Tool, ToolError, ToolOutput

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
_GPS_DATE = re.compile(r"^\s*(\d{4})[:-](\d{2})[:-](\d{2})\s*$")

# XMP: exif:GPSLatitude="43,28.0469N" (attribute) or <exif:GPSLatitude>...</...> (element).
_XMP_FIELD = re.compile(
    r"""[\w.-]+:(GPSLatitude|GPSLongitude|GPSAltitude|GPSAltitudeRef|GPSImgDirection)"""
    r"""(?:\s*=\s*(["'])(.*?)\2|\s*>\s*([^<]*?)\s*<)""",
    re.S,
)
_XMP_DMS = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*,\s*(\d+(?:\.\d+)?)(?:\s*,\s*(\d+(?:\.\d+)?))?\s*([NSEW])\s*$",
    re.I,
)
_XMP_DECIMAL = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*([NSEW])?\s*$", re.I)
_XMP_RATIONAL = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*(?:/\s*(\d+))?\s*$")


class ExifInput(BaseModel):
    """Which photo file to read."""

    path: str = Field(description="path of the photo file (JPEG, PNG, TIFF, WebP, HEIF/HEIC)")


class GpsFix(BaseModel):
    """A GPS position recorded in the file, in WGS-84 decimal degrees."""

    lat: float
    lon: float
    altitude_m: float | None = None
    accuracy_m: float | None = None
    direction_deg: float | None = None
    timestamp_utc: str | None = None
    status_void: bool = False
    source: Literal["exif", "xmp"] = "exif"


class ExifOutput(ToolOutput):
    """What the file's metadata says about where, when and with what it was taken."""

    format: str | None = None
    gps: GpsFix | None = None
    taken_at: str | None = None
    utc_offset: str | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    lens: str | None = None
    software: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)

    def summary(self) -> str:
        """One line, e.g. ``GPS 43.46745, 11.88513 · NIKON COOLPIX P6000 · 2008-10-22T16:28:39``."""
        parts: list[str] = []
        if self.gps is None:
            parts.append("no GPS")
        else:
            where = f"GPS {self.gps.lat:.5f}, {self.gps.lon:.5f}"
            if self.gps.source == "xmp":
                where += " (XMP)"
            if self.gps.status_void:
                where += " (void)"
            parts.append(where)
        camera = _camera_label(self.camera_make, self.camera_model)
        if camera:
            parts.append(camera)
        if self.taken_at:
            parts.append(self.taken_at + (self.utc_offset or ""))
        if self.warnings:
            n = len(self.warnings)
            parts.append(f"{n} warning{'s' if n != 1 else ''}")
        return " · ".join(parts)


class ExifTool(Tool[ExifInput, ExifOutput]):
    """Read a photo's embedded metadata (see :func:`read_exif`)."""

    name = "exif"
    needs_network = False
    description = (
        "Read the photo file's embedded metadata (EXIF, with XMP as a fallback). Returns `gps` "
        "(lat/lon in WGS-84 decimal degrees, altitude_m, accuracy_m, direction_deg the camera "
        "faced, timestamp_utc, status_void, source exif|xmp) or null when the file has no usable "
        "fix; `taken_at` (local capture time, ISO 8601) with `utc_offset`; camera_make, "
        "camera_model, lens, software; `tags` (selected raw tags as text); and `warnings` about "
        "malformed or suspicious data (a 0,0 fix is dropped as 'no GPS lock'). A GPS fix is "
        "strong evidence of where the photo was taken; editing software in `software` means "
        "the metadata may have been rewritten."
    )
    input_model = ExifInput
    output_model = ExifOutput

    def unavailable_reason(self) -> str | None:
        if self.settings.ignore_metadata:
            return "photo metadata is ignored in this configuration (ignore_metadata)"
        return None

    def run(self, params: ExifInput) -> ExifOutput:
        path = Path(params.path).expanduser()
        try:
            size = path.stat().st_size
        except OSError:
            size = 0  # read_exif reports the missing or unreadable file
        if size > self.settings.max_file_bytes:
            raise ToolError(
                f"{path}: file is {size / 2**20:.0f} MiB, "
                f"over the {self.settings.max_file_bytes / 2**20:.0f} MiB limit"
            )
        return read_exif(path)


def read_exif(path: str | Path) -> ExifOutput:
    """Read GPS, capture time, camera and selected tags from an image file.

    Raises :class:`ToolError` (one line) only when the file cannot be opened as an
    image; malformed metadata is reported in ``warnings``.
    """
    path = Path(path).expanduser()
    register_heif()
    try:
        im = Image.open(path)
    except FileNotFoundError:
        raise ToolError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ToolError(f"{path}: is a directory, not a photo") from None
    except UnidentifiedImageError:
        raise ToolError(f"{path}: not an image (unknown or unsupported format)") from None
    except Image.DecompressionBombError:
        raise ToolError(f"{path}: image too large (decompression-bomb guard)") from None
    except OSError as exc:
        raise ToolError(f"{path}: cannot read ({exc.strerror or _one_line(exc)})") from None
    except (SyntaxError, ValueError, EOFError) as exc:
        raise ToolError(f"{path}: truncated or corrupt image ({_one_line(exc)})") from None
    with im:
        return _read_image(im)


def gps_from_ifd(ifd: Mapping[int, Any]) -> tuple[GpsFix | None, list[str]]:
    """Parse a GPS IFD (tag id -> value, as Pillow's ``get_ifd(0x8825)`` returns it).

    Returns the fix (None when absent, malformed, out of range or exactly 0,0) and
    warnings about anything doubtful.
    """
    warnings: list[str] = []
    has_lat, has_lon = GPS.GPSLatitude in ifd, GPS.GPSLongitude in ifd
    if not (has_lat or has_lon):
        return None, warnings
    if has_lat != has_lon:
        missing = "longitude" if has_lat else "latitude"
        warnings.append(f"GPS {missing} missing: no fix")
        return None, warnings
    lat = _coordinate(ifd, GPS.GPSLatitude, GPS.GPSLatitudeRef, "latitude", warnings)
    lon = _coordinate(ifd, GPS.GPSLongitude, GPS.GPSLongitudeRef, "longitude", warnings)
    if lat is None or lon is None or not _usable(lat, lon, warnings):
        return None, warnings
    status = _ref_text(ifd.get(GPS.GPSStatus))
    void = status == "V"
    if void:
        warnings.append("GPSStatus is V (void): the receiver flagged this fix as invalid")
    fix = GpsFix(
        lat=lat,
        lon=lon,
        altitude_m=_altitude(ifd.get(GPS.GPSAltitude), ifd.get(GPS.GPSAltitudeRef), warnings),
        accuracy_m=_accuracy(ifd.get(GPS.GPSHPositioningError), warnings),
        direction_deg=_direction(ifd.get(GPS.GPSImgDirection), warnings),
        timestamp_utc=_gps_timestamp(
            ifd.get(GPS.GPSDateStamp), ifd.get(GPS.GPSTimeStamp), warnings
        ),
        status_void=void,
        source="exif",
    )
    return fix, warnings


def gps_from_xmp(packet: str | bytes) -> tuple[GpsFix | None, list[str]]:
    """Parse ``exif:GPSLatitude``/``GPSLongitude`` (``DDD,MM.mmmk`` or ``DDD,MM,SSk``) from XMP."""
    warnings: list[str] = []
    text = packet.decode("utf-8", "replace") if isinstance(packet, bytes) else packet
    fields: dict[str, str] = {}
    for m in _XMP_FIELD.finditer(text):
        value = m.group(3) if m.group(2) else m.group(4)
        fields.setdefault(m.group(1), (value or "").strip())
    if "GPSLatitude" not in fields and "GPSLongitude" not in fields:
        return None, warnings
    lat = _xmp_coordinate(fields.get("GPSLatitude"), "latitude", warnings)
    lon = _xmp_coordinate(fields.get("GPSLongitude"), "longitude", warnings)
    if lat is None or lon is None or not _usable(lat, lon, warnings):
        return None, [f"XMP: {w}" for w in warnings]
    altitude = direction = None
    if "GPSAltitude" in fields:
        altitude = _xmp_number(fields["GPSAltitude"])
        if altitude is None:
            warnings.append(f"malformed GPS altitude {fields['GPSAltitude'][:60]!r}")
        elif fields.get("GPSAltitudeRef", "0").strip() == "1":
            altitude = -abs(altitude)
    if "GPSImgDirection" in fields:
        direction = _direction(_xmp_number(fields["GPSImgDirection"]), warnings)
    fix = GpsFix(lat=lat, lon=lon, altitude_m=altitude, direction_deg=direction, source="xmp")
    return fix, [f"XMP: {w}" for w in warnings]


# --- reading ------------------------------------------------------------------------------


def _read_image(im: Image.Image) -> ExifOutput:
    out = ExifOutput(format=im.format)
    warnings = out.warnings
    exif = _load_exif(im, warnings)
    ifd0: Mapping[int, Any] = exif if exif is not None else {}
    sub = _sub_ifd(exif, ExifTags.IFD.Exif, "Exif", warnings)
    gps_ifd = _sub_ifd(exif, ExifTags.IFD.GPSInfo, "GPS", warnings)

    out.camera_make = _clean(ifd0.get(BASE.Make))
    out.camera_model = _clean(ifd0.get(BASE.Model))
    out.software = _clean(ifd0.get(BASE.Software))
    out.lens = _clean(sub.get(BASE.LensModel))
    out.taken_at = _taken_at(sub, ifd0, warnings)
    out.utc_offset = _utc_offset(sub, warnings)
    out.tags = _readable_tags(ifd0, sub, gps_ifd)

    fix, gps_warnings = gps_from_ifd(gps_ifd)
    warnings.extend(gps_warnings)
    if fix is None:
        packet = _xmp_packet(im)
        if packet:
            fix, xmp_warnings = gps_from_xmp(packet)
            warnings.extend(xmp_warnings)
    out.gps = fix
    return out


def _load_exif(im: Image.Image, warnings: list[str]) -> Image.Exif | None:
    """The image's EXIF (also from PNG 'Raw profile' text chunks), or None."""
    exif: Image.Exif | None
    try:
        exif = im.getexif()
    except Exception as exc:  # corrupt EXIF must not lose the rest of the file
        warnings.append(f"EXIF block unreadable: {_one_line(exc)}")
        exif = None
    if exif is not None and len(exif):
        return exif
    raw_exif = im.info.get("exif")
    if isinstance(raw_exif, bytes) and len(raw_exif.removeprefix(b"Exif\x00\x00")) > 8:
        warnings.append("EXIF block present but unreadable (corrupt)")
    for key in ("Raw profile type exif", "Raw profile type APP1"):
        raw = im.info.get(key)
        if isinstance(raw, (str, bytes)):
            loaded = _exif_from_raw_profile(raw, warnings)
            if loaded is not None:
                return loaded
    return exif


def _exif_from_raw_profile(raw: str | bytes, warnings: list[str]) -> Image.Exif | None:
    """Decode ImageMagick's hex 'Raw profile type exif/APP1' PNG text chunk."""
    text = raw.decode("latin-1") if isinstance(raw, bytes) else raw
    tokens = text.split()
    # Layout: "<name>\n<length>\n<hex lines>"; find the length, then join the hex.
    for i, token in enumerate(tokens[:3]):
        if token.isdigit():
            hexdata = "".join(tokens[i + 1 :])
            break
    else:
        hexdata = "".join(tokens)
    try:
        data = bytes.fromhex(hexdata)
    except ValueError:
        warnings.append("PNG raw EXIF profile is not valid hex")
        return None
    for marker in (b"Exif\x00\x00", b"II*\x00", b"MM\x00*"):
        at = data.find(marker)
        if at >= 0:
            exif = Image.Exif()
            try:
                exif.load(data[at:])
            except Exception as exc:
                warnings.append(f"PNG raw EXIF profile unreadable: {_one_line(exc)}")
                return None
            return exif if len(exif) else None
    return None


def _sub_ifd(exif: Image.Exif | None, tag: int, label: str, warnings: list[str]) -> dict[int, Any]:
    if exif is None:
        return {}
    try:
        ifd = dict(exif.get_ifd(tag))
    except Exception as exc:  # a corrupt IFD pointer
        warnings.append(f"{label} IFD unreadable: {_one_line(exc)}")
        return {}
    if not ifd and tag == ExifTags.IFD.GPSInfo and tag in exif:
        warnings.append("GPS IFD present but empty or unreadable")
    return ifd


def _xmp_packet(im: Image.Image) -> str | bytes | None:
    for key in ("xmp", "XML:com.adobe.xmp"):
        value = im.info.get(key)
        if isinstance(value, (str, bytes)) and value:
            return value
    return None


# --- GPS values ---------------------------------------------------------------------------


class _Malformed(GreError, ValueError):
    """A metadata value that cannot be read as what it should be."""


def _number(value: Any) -> float:
    """One EXIF number: IFDRational, int, float, Fraction, a (num, den) pair, or numeric text."""
    if isinstance(value, bool) or value is None:
        raise _Malformed(f"not a number: {_short(value)}")
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise _Malformed(f"not a number: {_short(value)}")
        num, den = (_number(v) for v in value)
        if den == 0:
            raise _Malformed("zero denominator")
        return _finite(num / den)
    if isinstance(value, (str, bytes)):
        text = _text(value)
        try:
            return _finite(float(text))
        except ValueError:
            raise _Malformed(f"not a number: {text[:40]!r}") from None
    if getattr(value, "denominator", 1) == 0:
        raise _Malformed("zero denominator")
    try:
        result = float(value)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        raise _Malformed(f"not a number: {_short(value)}") from None
    return _finite(result)


def _finite(x: float) -> float:
    if not math.isfinite(x):
        raise _Malformed("not a finite number (zero denominator?)")
    return x


def _components(value: Any) -> list[float]:
    """The 1-3 numbers of a coordinate: degrees[, minutes[, seconds]]."""
    if isinstance(value, (str, bytes)):
        parts: list[Any] = [p for p in re.split(r"[,\s]+", _text(value)) if p]
    elif isinstance(value, (tuple, list)):
        parts = list(value)
    else:
        parts = [value]
    if not 1 <= len(parts) <= 3:
        raise _Malformed(f"expected 1 to 3 numbers, got {len(parts)}")
    return [_number(p) for p in parts]


def _dms(parts: list[float]) -> tuple[float, bool]:
    """Degrees from (d[, m[, s]]): the magnitude, and whether any part was negative."""
    negative = any(p < 0 for p in parts)
    d, m, s = ([abs(p) for p in parts] + [0.0, 0.0])[:3]
    if m > 60 or s > 60:
        raise _Malformed("minutes or seconds over 60")
    return d + m / 60 + s / 3600, negative


def _ref_text(value: Any) -> str | None:
    """A one-letter ref ('N', 'S', 'E', 'W', 'A', 'V'...) from str/bytes/int, upper-cased."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 32 < value < 127:
        value = chr(value)
    if isinstance(value, (tuple, list)) and len(value) == 1:
        return _ref_text(value[0])
    if not isinstance(value, (str, bytes)):
        return "?"
    text = _text(value).strip().upper()
    return text or None


_AXES = {
    "latitude": ("N", "S", 90.0),
    "longitude": ("E", "W", 180.0),
}


def _coordinate(
    ifd: Mapping[int, Any], value_tag: int, ref_tag: int, axis: str, warnings: list[str]
) -> float | None:
    pos, neg, limit = _AXES[axis]
    raw = ifd.get(value_tag)
    try:
        magnitude, negative = _dms(_components(raw))
    except _Malformed as exc:
        warnings.append(f"malformed GPS {axis} {_short(raw)}: {exc}")
        return None
    ref = _ref_text(ifd.get(ref_tag))
    if ref is not None and ref[:1] not in (pos, neg):
        warnings.append(f"unknown GPS {axis} ref {_short(ifd.get(ref_tag))}, ignored")
        ref = None
    return _signed(magnitude, negative, ref[:1] if ref else None, axis, limit, warnings)


def _signed(
    magnitude: float, negative: bool, ref: str | None, axis: str, limit: float, warnings: list[str]
) -> float | None:
    """Apply the hemisphere: the ref decides the sign; without one, the value's own sign."""
    pos, neg, _ = _AXES[axis]
    if ref is None:
        if negative:
            warnings.append(f"GPS {axis} ref missing; sign taken from the negative value")
        else:
            warnings.append(f"GPS {axis} ref missing; assumed {pos}")
        sign = -1.0 if negative else 1.0
    else:
        if negative and ref == pos:
            warnings.append(f"GPS {axis} value is negative but ref is {pos}; the ref decides")
        sign = -1.0 if ref == neg else 1.0
    if magnitude > limit:
        warnings.append(f"GPS {axis} {sign * magnitude:.6f} out of range: no fix")
        return None
    return sign * magnitude


def _usable(lat: float, lon: float, warnings: list[str]) -> bool:
    if lat == 0 and lon == 0:
        warnings.append("GPS 0,0 ignored: 0,0 usually means no GPS lock")
        return False
    return True


def _altitude(value: Any, ref: Any, warnings: list[str]) -> float | None:
    if value is None:
        return None
    try:
        altitude = _number(value[0] if isinstance(value, tuple) and len(value) == 1 else value)
    except _Malformed as exc:
        warnings.append(f"malformed GPS altitude {_short(value)}: {exc}")
        return None
    return -abs(altitude) if _altitude_ref(ref) == 1 else altitude


def _altitude_ref(ref: Any) -> int:
    if isinstance(ref, bytes):
        if ref[:1].isdigit():
            return int(ref[:1])
        return ref[0] if ref else 0
    if isinstance(ref, int):
        return ref
    if isinstance(ref, str) and ref.strip()[:1].isdigit():
        return int(ref.strip()[:1])
    if isinstance(ref, (tuple, list)) and len(ref) == 1:
        return _altitude_ref(ref[0])
    return 0


def _optional_number(value: Any, what: str, warnings: list[str]) -> float | None:
    """A GPS side field as a number; malformed values become a warning and None."""
    if value is None:
        return None
    try:
        return _number(value)
    except _Malformed as exc:
        warnings.append(f"malformed GPS {what} {_short(value)}: {exc}")
        return None


def _accuracy(value: Any, warnings: list[str]) -> float | None:
    accuracy = _optional_number(value, "positioning error", warnings)
    if accuracy is None:
        return None
    if accuracy < 0:
        warnings.append(f"negative GPS positioning error {accuracy:g} ignored")
        return None
    return accuracy


def _direction(value: Any, warnings: list[str]) -> float | None:
    direction = _optional_number(value, "image direction", warnings)
    if direction is None:
        return None
    if not 0 <= direction <= 360:
        warnings.append(f"GPS image direction {direction:g} out of range, ignored")
        return None
    return direction % 360


def _gps_timestamp(date: Any, time: Any, warnings: list[str]) -> str | None:
    """ISO 8601 UTC time from GPSDateStamp ('YYYY:MM:DD') and GPSTimeStamp (h, m, s)."""
    if date is None or time is None:
        return None
    m = _GPS_DATE.match(_text(date)) if isinstance(date, (str, bytes)) else None
    try:
        if m is None:
            raise _Malformed("bad date")
        parts = _components(time)
        if len(parts) != 3:
            raise _Malformed("time needs 3 numbers")
        h, mi, s = parts
        if not (0 <= h < 24 and 0 <= mi < 60 and 0 <= s < 61 and h == int(h) and mi == int(mi)):
            raise _Malformed("time out of range")
        stamp = datetime(int(m[1]), int(m[2]), int(m[3]), tzinfo=UTC) + timedelta(
            hours=h, minutes=mi, seconds=s
        )
    except (_Malformed, ValueError, OverflowError) as exc:
        warnings.append(f"malformed GPS timestamp {_short(date)} {_short(time)}: {exc}")
        return None
    timespec = "seconds" if stamp.microsecond == 0 else "milliseconds"
    return stamp.isoformat(timespec=timespec).replace("+00:00", "Z")


def _xmp_coordinate(value: str | None, axis: str, warnings: list[str]) -> float | None:
    pos, neg, limit = _AXES[axis]
    if value is None:
        warnings.append(f"GPS {axis} missing: no fix")
        return None
    m = _XMP_DMS.match(value)
    if m:
        parts = [float(p) for p in m.group(1, 2, 3) if p is not None]
        ref: str | None = m[4].upper()
    elif d := _XMP_DECIMAL.match(value):
        parts = [float(d[1])]
        ref = d[2].upper() if d[2] else None
    else:
        warnings.append(f"malformed GPS {axis} {value[:60]!r}")
        return None
    if ref is not None and ref not in (pos, neg):
        warnings.append(f"GPS {axis} {value[:60]!r} has the wrong hemisphere letter")
        return None
    try:
        magnitude, negative = _dms(parts)
    except _Malformed as exc:
        warnings.append(f"malformed GPS {axis} {value[:60]!r}: {exc}")
        return None
    return _signed(magnitude, negative, ref, axis, limit, warnings)


def _xmp_number(value: str) -> float | None:
    m = _XMP_RATIONAL.match(value)
    if m is None:
        return None
    num, den = float(m[1]), float(m[2]) if m[2] else 1.0
    return num / den if den else None


# --- time and text ------------------------------------------------------------------------


def _taken_at(sub: Mapping[int, Any], ifd0: Mapping[int, Any], warnings: list[str]) -> str | None:
    for ifd, tag in (
        (sub, BASE.DateTimeOriginal),
        (ifd0, BASE.DateTimeOriginal),
        (ifd0, BASE.DateTime),
    ):
        raw = ifd.get(tag)
        if raw is None:
            continue
        text = _clean(raw) or ""
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


def _utc_offset(sub: Mapping[int, Any], warnings: list[str]) -> str | None:
    for tag in (BASE.OffsetTimeOriginal, BASE.OffsetTime):
        text = _clean(sub.get(tag))
        if not text:
            continue
        m = _OFFSET.match(text)
        if m and int(m[2]) <= 14 and int(m[3]) < 60:
            return f"{m[1]}{m[2]}:{m[3]}"
        warnings.append(f"malformed {_TAG_NAMES[tag]} {text[:40]!r}")
    return None


def _readable_tags(
    ifd0: Mapping[int, Any], sub: Mapping[int, Any], gps: Mapping[int, Any]
) -> dict[str, str]:
    tags: dict[str, str] = {}
    for ifd, wanted in ((ifd0, _IFD0_TAGS), (sub, _EXIF_TAGS)):
        for tag in wanted:
            if tag in ifd:
                text = _tag_text(ifd[tag], user_comment=tag == BASE.UserComment)
                if text:
                    tags[_TAG_NAMES[tag]] = text
    for gps_tag, value in gps.items():
        text = _tag_text(value)
        if text:
            tags[_GPS_NAMES.get(gps_tag, f"GPSTag{gps_tag}")] = text
    return tags


_COMMENT_CODES = (b"ASCII\x00\x00\x00", b"UNICODE\x00", b"JIS\x00\x00\x00\x00\x00", b"\x00" * 8)


def _tag_text(value: Any, *, user_comment: bool = False) -> str:
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
        text = ", ".join(_tag_text(v) for v in value)
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


def _text(value: str | bytes) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return value.replace("\x00", " ").strip()


def _fix_mojibake(text: str) -> str:
    """Pillow decodes EXIF ASCII as Latin-1; recover UTF-8 text written there."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _clean(value: Any) -> str | None:
    """A text tag, NULs and padding stripped, truncated; None when empty or absent."""
    if value is None:
        return None
    if isinstance(value, bytes):
        text = value.decode("utf-8", "replace")
    elif isinstance(value, str):
        text = _fix_mojibake(value)
    else:
        text = _tag_text(value)
    text = text.replace("\x00", "").strip()[:_MAX_TAG_CHARS]
    return text or None


def _short(value: Any) -> str:
    return repr(_tag_text(value)[:60]) if value is not None else "(absent)"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _camera_label(make: str | None, model: str | None) -> str:
    if make and model:
        if model.lower().startswith(make.lower().split()[0]):
            return model
        return f"{make} {model}"
    return make or model or ""
