"""GPS fixes from a GPS IFD or an XMP packet, tolerant of the shapes real files use.

DMS rationals, decimal minutes, single values, negative SRATIONALs, byte or lower-case refs,
zero denominators: bad metadata becomes a warning, never an exception.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel

from gre.tools.exif.tags import GPS, Malformed, as_number, as_text, components, short_repr

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


def _dms(parts: list[float]) -> tuple[float, bool]:
    """Degrees from (d[, m[, s]]): the magnitude, and whether any part was negative."""
    negative = any(p < 0 for p in parts)
    d, m, s = ([abs(p) for p in parts] + [0.0, 0.0])[:3]
    if m > 60 or s > 60:
        raise Malformed("minutes or seconds over 60")
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
    text = as_text(value).strip().upper()
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
        magnitude, negative = _dms(components(raw))
    except Malformed as exc:
        warnings.append(f"malformed GPS {axis} {short_repr(raw)}: {exc}")
        return None
    ref = _ref_text(ifd.get(ref_tag))
    if ref is not None and ref[:1] not in (pos, neg):
        warnings.append(f"unknown GPS {axis} ref {short_repr(ifd.get(ref_tag))}, ignored")
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
        altitude = as_number(value[0] if isinstance(value, tuple) and len(value) == 1 else value)
    except Malformed as exc:
        warnings.append(f"malformed GPS altitude {short_repr(value)}: {exc}")
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
        return as_number(value)
    except Malformed as exc:
        warnings.append(f"malformed GPS {what} {short_repr(value)}: {exc}")
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
    m = _GPS_DATE.match(as_text(date)) if isinstance(date, (str, bytes)) else None
    try:
        if m is None:
            raise Malformed("bad date")
        parts = components(time)
        if len(parts) != 3:
            raise Malformed("time needs 3 numbers")
        h, mi, s = parts
        if not (0 <= h < 24 and 0 <= mi < 60 and 0 <= s < 61 and h == int(h) and mi == int(mi)):
            raise Malformed("time out of range")
        stamp = datetime(int(m[1]), int(m[2]), int(m[3]), tzinfo=UTC) + timedelta(
            hours=h, minutes=mi, seconds=s
        )
    except (Malformed, ValueError, OverflowError) as exc:
        warnings.append(f"malformed GPS timestamp {short_repr(date)} {short_repr(time)}: {exc}")
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
    except Malformed as exc:
        warnings.append(f"malformed GPS {axis} {value[:60]!r}: {exc}")
        return None
    return _signed(magnitude, negative, ref, axis, limit, warnings)


def _xmp_number(value: str) -> float | None:
    m = _XMP_RATIONAL.match(value)
    if m is None:
        return None
    num, den = float(m[1]), float(m[2]) if m[2] else 1.0
    return num / den if den else None
