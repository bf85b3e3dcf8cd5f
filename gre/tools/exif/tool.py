"""The ``exif`` tool: a photo's embedded GPS fix, capture time and camera, from EXIF or XMP.

:func:`read_exif` is the pure reader the tool wraps; :mod:`.gps` parses the GPS data and
:mod:`.tags` the other tag values. Bad metadata becomes a warning, never an exception. Only a
file that cannot be opened as an image raises :class:`~gre.tools.base.ToolError`.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PIL import ExifTags, Image, UnidentifiedImageError
from pydantic import BaseModel, Field

from gre.ingest.heif import register_heif
from gre.records import PlaceClaim
from gre.tools.base import Tool, ToolError, ToolOutput, quote
from gre.tools.exif.gps import GpsFix, gps_from_ifd, gps_from_xmp
from gre.tools.exif.tags import BASE, clean_text, one_line, readable_tags, taken_at, utc_offset

_WARNINGS_LOCK = threading.Lock()
GPS_WEIGHT = 0.95
VOID_WEIGHT = 0.6
DEFAULT_RADIUS_KM = 0.03


class ExifInput(BaseModel):
    """Which photo file to read."""

    path: str = Field(description="path of the photo file (JPEG, PNG, TIFF, WebP, HEIF/HEIC)")


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

    def for_model(self) -> str:
        lines = []
        if self.gps is not None:
            void = " (status void: the receiver had no lock)" if self.gps.status_void else ""
            lines.append(f"GPS {self.gps.lat:.5f}, {self.gps.lon:.5f}{void}")
        if self.taken_at:
            lines.append(f"taken {quote(self.taken_at)} UTC offset {quote(self.utc_offset or '?')}")
        camera = _camera_label(self.camera_make, self.camera_model)
        if camera:
            lines.append(f"camera {quote(camera)}")
        if self.software:
            lines.append(f"software {quote(self.software)} (the metadata may have been rewritten)")
        return "\n".join(lines) or "no GPS, time or camera in the metadata"

    def claims(self) -> list[PlaceClaim]:
        """A GPS fix: a measured street-level position (a void one counts less)."""
        gps = self.gps
        if gps is None:
            return []
        radius = max(0.01, gps.accuracy_m / 1000.0) if gps.accuracy_m else DEFAULT_RADIUS_KM
        return [
            PlaceClaim(
                lat=gps.lat,
                lon=gps.lon,
                radius_km=radius,
                level="street",
                label="EXIF GPS position",
                weight=VOID_WEIGHT if gps.status_void else GPS_WEIGHT,
                ref="exif:gps",
                why=f"EXIF GPS {gps.lat:.6f}, {gps.lon:.6f} ({gps.source})",
                measured=True,
            )
        ]


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
    photo_field = "path"
    reads_metadata = True

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
    # catch_warnings changes process-wide state: one reader at a time (a read takes ms)
    with _WARNINGS_LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = _open_and_read(path)
    for warning in caught:  # Pillow's complaints about the file belong in the output
        message = " ".join(str(warning.message).split())
        if message and f"metadata: {message}" not in out.warnings:
            out.warnings.append(f"metadata: {message}")
    return out


def _open_and_read(path: Path) -> ExifOutput:
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
        raise ToolError(f"{path}: cannot read ({exc.strerror or one_line(exc)})") from None
    except (SyntaxError, ValueError, EOFError) as exc:
        raise ToolError(f"{path}: truncated or corrupt image ({one_line(exc)})") from None
    with im:
        return _read_image(im)


# --- reading ------------------------------------------------------------------------------


def _read_image(im: Image.Image) -> ExifOutput:
    out = ExifOutput(format=im.format)
    warnings = out.warnings
    exif = _load_exif(im, warnings)
    ifd0: Mapping[int, Any] = exif if exif is not None else {}
    sub = _sub_ifd(exif, ExifTags.IFD.Exif, "Exif", warnings)
    gps_ifd = _sub_ifd(exif, ExifTags.IFD.GPSInfo, "GPS", warnings)

    out.camera_make = clean_text(ifd0.get(BASE.Make))
    out.camera_model = clean_text(ifd0.get(BASE.Model))
    out.software = clean_text(ifd0.get(BASE.Software))
    out.lens = clean_text(sub.get(BASE.LensModel))
    out.taken_at = taken_at(sub, ifd0, warnings)
    out.utc_offset = utc_offset(sub, warnings)
    out.tags = readable_tags(ifd0, sub, gps_ifd)

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
        warnings.append(f"EXIF block unreadable: {one_line(exc)}")
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
                warnings.append(f"PNG raw EXIF profile unreadable: {one_line(exc)}")
                return None
            return exif if len(exif) else None
    return None


def _sub_ifd(exif: Image.Exif | None, tag: int, label: str, warnings: list[str]) -> dict[int, Any]:
    if exif is None:
        return {}
    try:
        ifd = dict(exif.get_ifd(tag))
    except Exception as exc:  # a corrupt IFD pointer
        warnings.append(f"{label} IFD unreadable: {one_line(exc)}")
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


def _camera_label(make: str | None, model: str | None) -> str:
    if make and model:
        if model.lower().startswith(make.lower().split()[0]):
            return model
        return f"{make} {model}"
    return make or model or ""
