"""The exif tool: real photos with known coordinates, and synthetic files for every GPS form."""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, PngImagePlugin, TiffImagePlugin

from gre.config import Settings
from gre.tools.base import ToolError
from gre.tools.exif import (
    ExifInput,
    ExifOutput,
    ExifTool,
    gps_from_ifd,
    gps_from_xmp,
    read_exif,
)
from gre.tools.toolbox import ToolBox

TOL = 1e-5

# MANIFEST.md truth for every photo with EXIF GPS.
REAL = [
    ("images/exif/exifsamples_arezzo_DSCN0010.jpg", 43.4674483, 11.8851267),
    ("images/exif/exifsamples_arezzo_DSCN0025.jpg", 43.468365, 11.881635),
    ("images/exif/immich_thompson-springs.jpg", 39.115, -108.4009683),
    ("images/exif/exifsamples_madrid_HMD_Nokia_8.3_5G_hdr.heif", 40.6629935, -3.7637405),
    ("images/exif/mei_angel_of_the_north_FujiFilm_FinePixS1Pro_4.jpg", 54.9135, -1.5888333),
    ("images/signs/hiking_1-guidepost-on-pole.jpg", 45.0050307, 6.5971259),
]
AREZZO = "images/exif/exifsamples_arezzo_DSCN0010.jpg"
LOUVRE = "images/signs/easyocr_french_louvre_signpost.jpg"

# Arezzo DSCN0010's own fix, as DMS: 43°28'2.814" N, 11°53'6.456" E.
LAT_DMS = [(43, 1), (28, 1), (2814, 1000)]
LON_DMS = [(11, 1), (53, 1), (6456, 1000)]
LAT = 43 + 28 / 60 + 2.814 / 3600
LON = 11 + 53 / 60 + 6.456 / 3600


def assert_fix(out: ExifOutput, lat: float, lon: float, source: str = "exif") -> None:
    assert out.gps is not None, out.warnings
    assert out.gps.lat == pytest.approx(lat, abs=TOL)
    assert out.gps.lon == pytest.approx(lon, abs=TOL)
    assert out.gps.source == source
    json.loads(out.model_dump_json())  # JSON-safe throughout


def has_warning(out: ExifOutput | list[str], text: str) -> bool:
    warnings = out.warnings if isinstance(out, ExifOutput) else out
    return any(text in w for w in warnings)


# --- a minimal EXIF (TIFF) writer, so tests control tag types byte for byte ---------------

BYTE, ASCII, SHORT, LONG, RATIONAL, UNDEFINED, SRATIONAL = 1, 2, 3, 4, 5, 7, 10
Entry = tuple[int, int, Any]


def _payload(typ: int, value: Any, e: str) -> tuple[int, bytes]:
    if typ in (BYTE, ASCII, UNDEFINED):
        return len(value), bytes(value)
    if typ in (SHORT, LONG):
        fmt = "H" if typ == SHORT else "L"
        return len(value), b"".join(struct.pack(e + fmt, v) for v in value)
    fmt = "LL" if typ == RATIONAL else "ll"
    return len(value), b"".join(struct.pack(e + fmt, n, d) for n, d in value)


def _ifd(entries: Sequence[Entry], offset: int, e: str) -> bytes:
    entries = sorted(entries, key=lambda x: x[0])
    data_at = offset + 2 + 12 * len(entries) + 4
    head, data = struct.pack(e + "H", len(entries)), b""
    for tag, typ, value in entries:
        count, payload = _payload(typ, value, e)
        if len(payload) <= 4:
            field = payload.ljust(4, b"\x00")
        else:
            field = struct.pack(e + "L", data_at + len(data))
            data += payload + b"\x00" * (len(payload) % 2)
        head += struct.pack(e + "HHL", tag, typ, count) + field
    return head + struct.pack(e + "L", 0) + data


def exif_blob(
    gps: Sequence[Entry],
    ifd0: Sequence[Entry] = (),
    exif: Sequence[Entry] = (),
    *,
    big_endian: bool = False,
) -> bytes:
    """APP1 payload ("Exif\\0\\0" + TIFF) with IFD0, a GPS IFD and an Exif IFD."""
    e = ">" if big_endian else "<"
    header = (b"MM\x00\x2a" if big_endian else b"II\x2a\x00") + struct.pack(e + "L", 8)

    def root(gps_at: int, exif_at: int) -> bytes:
        pointers = [(0x8825, LONG, [gps_at])] if gps else []
        pointers += [(0x8769, LONG, [exif_at])] if exif else []
        return _ifd([*ifd0, *pointers], 8, e)

    gps_at = 8 + len(root(0, 0))
    gps_bytes = _ifd(gps, gps_at, e)
    exif_at = gps_at + len(gps_bytes)
    tiff = header + root(gps_at, exif_at) + gps_bytes + _ifd(exif, exif_at, e)
    return b"Exif\x00\x00" + tiff


def write_image(path: Path, exif: bytes | Image.Exif, fmt: str = "JPEG", **kw: Any) -> Path:
    Image.new("RGB", (32, 24), (120, 160, 200)).save(path, fmt, exif=exif, **kw)
    return path


def ascii_(tag: int, text: bytes) -> Entry:
    return (tag, ASCII, text)


def rational(tag: int, pairs: Sequence[tuple[int, int]], *, signed: bool = False) -> Entry:
    return (tag, SRATIONAL if signed else RATIONAL, list(pairs))


def coords(
    lat: Sequence[tuple[int, int]],
    lat_ref: bytes | None,
    lon: Sequence[tuple[int, int]],
    lon_ref: bytes | None,
    *,
    signed: bool = False,
    ref_type: int = ASCII,
) -> list[Entry]:
    entries = [rational(2, lat, signed=signed), rational(4, lon, signed=signed)]
    if lat_ref is not None:
        entries.append((1, ref_type, lat_ref))
    if lon_ref is not None:
        entries.append((3, ref_type, lon_ref))
    return entries


def neg(pairs: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    return [(-n, d) for n, d in pairs]


# --- real photos ---------------------------------------------------------------------------


@pytest.mark.parametrize(("rel", "lat", "lon"), REAL, ids=[Path(r[0]).stem for r in REAL])
def test_real_photo_yields_manifest_coordinates(
    shared_data: Path, rel: str, lat: float, lon: float
) -> None:
    out = read_exif(shared_data / rel)
    assert_fix(out, lat, lon)
    assert out.warnings == []


def test_every_exif_fixture_is_checked(shared_data: Path) -> None:
    names = {p.name for p in (shared_data / "images" / "exif").iterdir()}
    assert names <= {Path(rel).name for rel, _, _ in REAL}


def test_louvre_sign_has_no_gps(shared_data: Path) -> None:
    out = read_exif(shared_data / LOUVRE)
    assert out.gps is None
    assert out.warnings == []
    assert out.format == "JPEG"
    assert out.tags["Artist"] == "Randy Harris"
    assert out.summary() == "no GPS"


def test_arezzo_camera_and_time(shared_data: Path) -> None:
    out = read_exif(shared_data / AREZZO)
    assert out.format == "JPEG"
    assert (out.camera_make, out.camera_model) == ("NIKON", "COOLPIX P6000")
    assert out.software == "Nikon Transfer 1.1 W"
    assert out.lens is None
    assert out.taken_at == "2008-10-22T16:28:39"  # DateTimeOriginal, not DateTime (2008-11-01)
    assert out.utc_offset is None
    assert out.tags["DateTime"] == "2008:11:01 21:15:07"
    assert out.tags["GPSLatitude"] == "43, 28, 2.814"
    assert "ImageDescription" not in out.tags  # blank padding only
    assert out.gps is not None
    assert out.gps.timestamp_utc == "2008-10-23T14:27:07.240Z"
    assert out.gps.altitude_m is None
    assert out.summary() == "GPS 43.46745, 11.88513 · NIKON COOLPIX P6000 · 2008-10-22T16:28:39"


def test_real_photo_details(shared_data: Path) -> None:
    hiking = read_exif(shared_data / "images/signs/hiking_1-guidepost-on-pole.jpg")
    assert hiking.utc_offset == "+02:00"
    assert hiking.taken_at == "2024-08-03T16:57:51"
    assert hiking.gps is not None and hiking.gps.altitude_m == pytest.approx(2149.0)
    assert "2024-08-03T16:57:51+02:00" in hiking.summary()

    madrid = read_exif(shared_data / "images/exif/exifsamples_madrid_HMD_Nokia_8.3_5G_hdr.heif")
    assert madrid.format == "HEIF"
    assert madrid.gps is not None
    assert madrid.gps.altitude_m == pytest.approx(940.3186)
    assert madrid.gps.direction_deg == pytest.approx(82.0)
    assert madrid.gps.timestamp_utc == "2022-01-12T07:30:14Z"

    thompson = read_exif(shared_data / "images/exif/immich_thompson-springs.jpg")
    assert thompson.gps is not None and not thompson.gps.status_void  # GPSStatus 'A'
    assert thompson.gps.direction_deg == pytest.approx(206.0)
    assert thompson.taken_at is None

    angel = read_exif(
        shared_data / "images/exif/mei_angel_of_the_north_FujiFilm_FinePixS1Pro_4.jpg"
    )
    assert angel.tags["GPSLatitude"] == "54, 54.81, 0"  # degrees + decimal minutes
    assert angel.software == "Adobe Photoshop 7.0"


# --- synthetic EXIF: every rational form, hemisphere and defect ----------------------------

DEC_MIN_LAT = [(43, 1), (280469, 10000), (0, 1)]
DEC_MIN_LON = [(11, 1), (531076, 10000), (0, 1)]
DEC_MIN = (43 + 28.0469 / 60, 11 + 53.1076 / 60)

FORMS: list[tuple[str, list[Entry], tuple[float, float] | None, list[str]]] = [
    ("dms-N-E", coords(LAT_DMS, b"N\x00", LON_DMS, b"E\x00"), (LAT, LON), []),
    ("dms-S-E", coords(LAT_DMS, b"S\x00", LON_DMS, b"E\x00"), (-LAT, LON), []),
    ("dms-N-W", coords(LAT_DMS, b"N\x00", LON_DMS, b"W\x00"), (LAT, -LON), []),
    ("dms-S-W", coords(LAT_DMS, b"S\x00", LON_DMS, b"W\x00"), (-LAT, -LON), []),
    (
        "decimal-minutes",
        coords(DEC_MIN_LAT, b"N\x00", DEC_MIN_LON, b"W\x00"),
        (DEC_MIN[0], -DEC_MIN[1]),
        [],
    ),
    (
        "single-decimal",
        coords([(434674483, 10000000)], b"S\x00", [(118851267, 10000000)], b"W\x00"),
        (-43.4674483, -11.8851267),
        [],
    ),
    (
        "deg-min-pair",
        coords([(43, 1), (280469, 10000)], b"N\x00", [(11, 1), (531076, 10000)], b"E\x00"),
        DEC_MIN,
        [],
    ),
    (
        "srational-negative-with-S-W-refs",  # must not flip twice
        coords(neg(LAT_DMS), b"S\x00", neg(LON_DMS), b"W\x00", signed=True),
        (-LAT, -LON),
        [],
    ),
    (
        "srational-negative-no-refs",
        coords(neg(LAT_DMS), None, LON_DMS, None, signed=True),
        (-LAT, LON),
        ["latitude ref missing; sign taken from the negative value", "longitude ref missing"],
    ),
    (
        "srational-negative-with-N-ref",
        coords(neg(LAT_DMS), b"N\x00", LON_DMS, b"E\x00", signed=True),
        (LAT, LON),
        ["value is negative but ref is N; the ref decides"],
    ),
    ("lower-case-refs", coords(LAT_DMS, b"s\x00", LON_DMS, b"w\x00"), (-LAT, -LON), []),
    (
        "byte-refs",
        coords(LAT_DMS, b"S", LON_DMS, b"W", ref_type=BYTE),
        (-LAT, -LON),
        [],
    ),
    (
        "undefined-refs",
        coords(LAT_DMS, b"s", LON_DMS, b"e", ref_type=UNDEFINED),
        (-LAT, LON),
        [],
    ),
    (
        "nul-padded-refs",
        coords(LAT_DMS, b"S\x00\x00\x00", LON_DMS, b"W\x00\x00\x00\x00\x00"),
        (-LAT, -LON),
        [],
    ),
    ("space-padded-refs", coords(LAT_DMS, b"S  \x00", LON_DMS, b" E \x00"), (-LAT, LON), []),
    (
        "zero-denominator",
        coords([(43, 1), (28, 0), (0, 0)], b"N\x00", LON_DMS, b"E\x00"),
        None,
        ["malformed GPS latitude", "zero denominator"],
    ),
    (
        "zero-zero",
        coords([(0, 1), (0, 1), (0, 1)], b"N\x00", [(0, 1), (0, 1), (0, 1)], b"E\x00"),
        None,
        ["0,0 usually means no GPS lock"],
    ),
    (
        "missing-refs",
        coords(LAT_DMS, None, LON_DMS, None),
        (LAT, LON),
        ["latitude ref missing; assumed N", "longitude ref missing; assumed E"],
    ),
    (
        "unknown-ref",
        coords(LAT_DMS, b"X\x00", LON_DMS, b"W\x00"),
        (LAT, -LON),
        ["unknown GPS latitude ref"],
    ),
    (
        "latitude-out-of-range",
        coords([(95, 1), (0, 1), (0, 1)], b"N\x00", LON_DMS, b"E\x00"),
        None,
        ["GPS latitude 95.000000 out of range"],
    ),
    (
        "longitude-out-of-range",
        coords(LAT_DMS, b"N\x00", [(181, 1), (30, 1), (0, 1)], b"W\x00"),
        None,
        ["GPS longitude -181.500000 out of range"],
    ),
    (
        "minutes-over-60",
        coords([(43, 1), (75, 1), (0, 1)], b"N\x00", LON_DMS, b"E\x00"),
        None,
        ["minutes or seconds over 60"],
    ),
    (
        "four-components",
        coords([*LAT_DMS, (1, 1)], b"N\x00", LON_DMS, b"E\x00"),
        None,
        ["expected 1 to 3 numbers"],
    ),
    ("latitude-only", [rational(2, LAT_DMS), ascii_(1, b"N\x00")], None, ["longitude missing"]),
]


@pytest.mark.parametrize(
    ("entries", "expected", "warnings"), [f[1:] for f in FORMS], ids=[f[0] for f in FORMS]
)
def test_gps_forms_in_jpeg(
    tmp_path: Path,
    entries: list[Entry],
    expected: tuple[float, float] | None,
    warnings: list[str],
) -> None:
    out = read_exif(write_image(tmp_path / "x.jpg", exif_blob(entries)))
    if expected is None:
        assert out.gps is None
        json.loads(out.model_dump_json())
    else:
        assert_fix(out, *expected)
    for text in warnings:
        assert has_warning(out, text), out.warnings
    if not warnings:
        assert out.warnings == []


@pytest.mark.parametrize("big_endian", [False, True], ids=["little-endian", "big-endian"])
def test_gps_extras(tmp_path: Path, big_endian: bool) -> None:
    gps = [
        *coords(LAT_DMS, b"S\x00", LON_DMS, b"W\x00"),
        (5, BYTE, b"\x01"),  # below sea level
        rational(6, [(125, 10)]),
        rational(31, [(5, 1)]),  # GPSHPositioningError
        ascii_(16, b"T\x00"),
        rational(17, [(2065, 10)]),  # GPSImgDirection
        ascii_(29, b"2024:08:03\x00"),
        rational(7, [(14, 1), (57, 1), (51, 1)]),
        ascii_(9, b"V\x00"),  # GPSStatus void
        ascii_(18, b"WGS-84\x00"),
    ]
    ifd0 = [ascii_(0x010F, b"Canon\x00"), ascii_(0x0110, b"Canon EOS 5D\x00")]
    sub = [
        ascii_(0x9003, b"2024:08:03 16:57:51\x00"),
        ascii_(0x9011, b"+02:00\x00"),
        ascii_(0xA434, b"EF24-105mm f/4L IS USM\x00"),
    ]
    blob = exif_blob(gps, ifd0, sub, big_endian=big_endian)
    out = read_exif(write_image(tmp_path / "x.jpg", blob))
    assert_fix(out, -LAT, -LON)
    assert out.gps is not None
    assert out.gps.altitude_m == pytest.approx(-12.5)
    assert out.gps.accuracy_m == pytest.approx(5.0)
    assert out.gps.direction_deg == pytest.approx(206.5)
    assert out.gps.timestamp_utc == "2024-08-03T14:57:51Z"
    assert out.gps.status_void is True
    assert has_warning(out, "GPSStatus is V")
    assert (out.camera_make, out.camera_model) == ("Canon", "Canon EOS 5D")
    assert out.lens == "EF24-105mm f/4L IS USM"
    assert (out.taken_at, out.utc_offset) == ("2024-08-03T16:57:51", "+02:00")
    assert out.tags["GPSMapDatum"] == "WGS-84"
    assert out.tags["GPSAltitudeRef"] == "1"
    assert out.summary() == (
        "GPS -43.46745, -11.88513 (void) · Canon EOS 5D · 2024-08-03T16:57:51+02:00 · 1 warning"
    )


def test_malformed_side_fields_are_warnings(tmp_path: Path) -> None:
    gps = [
        *coords(LAT_DMS, b"N\x00", LON_DMS, b"E\x00"),
        rational(6, [(10, 0)]),  # altitude with zero denominator
        rational(17, [(400, 1)]),  # direction out of range
        ascii_(29, b"not a date\x00"),
        rational(7, [(25, 1), (0, 1), (0, 1)]),
    ]
    sub = [ascii_(0x9003, b"yesterday\x00"), ascii_(0x9011, b"CEST\x00")]
    ifd0 = [ascii_(0x0132, b"0000:00:00 00:00:00\x00")]
    out = read_exif(write_image(tmp_path / "x.jpg", exif_blob(gps, ifd0, sub)))
    assert_fix(out, LAT, LON)
    assert out.gps is not None
    assert (out.gps.altitude_m, out.gps.direction_deg, out.gps.timestamp_utc) == (None, None, None)
    assert out.taken_at is None and out.utc_offset is None
    for text in (
        "malformed GPS altitude",
        "direction 400 out of range",
        "malformed GPS timestamp",
        "malformed DateTimeOriginal",
        "malformed OffsetTimeOriginal",
    ):
        assert has_warning(out, text), out.warnings
    assert not has_warning(out, "DateTime '0000")  # all-zero DateTime means "unset"


def test_taken_at_falls_back_to_datetime(tmp_path: Path) -> None:
    ifd0 = [ascii_(0x0132, b"2021:06:30 18:45:00\x00"), ascii_(0x0131, b"GIMP 2.10\x00")]
    sub = [ascii_(0x9010, b"-05:00\x00")]
    out = read_exif(write_image(tmp_path / "x.jpg", exif_blob([], ifd0, sub)))
    assert (out.taken_at, out.utc_offset, out.software) == (
        "2021-06-30T18:45:00",
        "-05:00",
        "GIMP 2.10",
    )
    assert out.gps is None and out.warnings == []
    assert out.summary() == "no GPS · 2021-06-30T18:45:00-05:00"


def test_utf8_text_tags_and_user_comment(tmp_path: Path) -> None:
    ifd0 = [
        ascii_(0x010E, "Névache, Col du Granon".encode() + b"\x00"),
        ascii_(0x013B, b"\xff\xfe bad bytes\x00"),
    ]
    sub = [(0x9286, UNDEFINED, b"ASCII\x00\x00\x00Pont de Fontcouverte\x00")]
    out = read_exif(write_image(tmp_path / "x.jpg", exif_blob([], ifd0, sub)))
    assert out.tags["ImageDescription"] == "Névache, Col du Granon"
    assert out.tags["UserComment"] == "Pont de Fontcouverte"
    assert "bad bytes" in out.tags["Artist"]
    assert all(len(v) <= 200 and "\x00" not in v for v in out.tags.values())
    json.loads(out.model_dump_json())


def test_long_tag_values_are_truncated(tmp_path: Path) -> None:
    ifd0 = [ascii_(0x010E, b"x" * 1000 + b"\x00")]
    out = read_exif(write_image(tmp_path / "x.jpg", exif_blob([], ifd0)))
    assert out.tags["ImageDescription"] == "x" * 200


# --- in-memory GPS IFDs: forms no file reader produces -------------------------------------


@pytest.mark.parametrize(
    ("ifd", "expected"),
    [
        ({1: "N", 2: tuple(LAT_DMS), 3: "E", 4: tuple(LON_DMS)}, (LAT, LON)),  # (num, den) pairs
        ({1: b"S\x00", 2: (43.0, 28.0, 2.814), 3: b"w ", 4: (11, 53, 6.456)}, (-LAT, -LON)),
        (
            {1: "n", 2: 43.4674483, 3: "E", 4: Fraction(118851267, 10000000)},
            (43.4674483, 11.8851267),
        ),
        ({1: "S", 2: (43, 28.0469), 3: "W", 4: [11, 53.1076, 0]}, (-DEC_MIN[0], -DEC_MIN[1])),
        ({1: "S", 2: (-43.0, -28.0, -2.814), 3: "W", 4: (-11.0, 53.0, 6.456)}, (-LAT, -LON)),
        ({1: "N", 2: "43.4674483", 3: "W", 4: b"11 53 6.456"}, (43.4674483, -LON)),
        ({1: ord("S"), 2: (43, 28, 2.814), 3: ("E",), 4: (11, 53, 6.456)}, (-LAT, LON)),
    ],
    ids=[
        "num-den-pairs",
        "floats-bytes-refs",
        "scalars",
        "deg-min",
        "negative",
        "text",
        "odd-refs",
    ],
)
def test_gps_from_ifd_forms(ifd: dict[int, Any], expected: tuple[float, float]) -> None:
    fix, _ = gps_from_ifd(ifd)
    assert fix is not None
    assert (fix.lat, fix.lon) == pytest.approx(expected, abs=TOL)


@pytest.mark.parametrize(
    "ifd",
    [
        {1: "N", 2: ((43, 1), (28, 0), (0, 1)), 3: "E", 4: tuple(LON_DMS)},
        {1: "N", 2: (TiffImagePlugin.IFDRational(43, 0),), 3: "E", 4: (11, 53, 6)},
        {1: "N", 2: float("nan"), 3: "E", 4: 11.0},
        {1: "N", 2: "abc", 3: "E", 4: object()},
        {1: "N", 2: None, 3: "E", 4: (11, 53, 6)},
        {1: "N", 2: (), 3: "E", 4: (11, 53, 6)},
        {1: "N", 2: (True, 1, 2), 3: "E", 4: (11, 53, 6)},
        {1: "N", 2: float("inf"), 3: "E", 4: 11.0},
    ],
    ids=["pair-zero-den", "ifdrational-zero-den", "nan", "garbage", "none", "empty", "bool", "inf"],
)
def test_gps_from_ifd_malformed_is_a_warning(ifd: dict[int, Any]) -> None:
    fix, warnings = gps_from_ifd(ifd)
    assert fix is None
    assert has_warning(warnings, "malformed GPS")
    json.dumps(warnings)


def test_gps_from_ifd_without_coordinates() -> None:
    assert gps_from_ifd({}) == (None, [])
    assert gps_from_ifd({18: "WGS-84", 0: b"\x02\x02\x00\x00"}) == (None, [])


# --- every container format ----------------------------------------------------------------


def pillow_exif(gps: dict[int, Any]) -> Image.Exif:
    """An Exif built the Pillow way: mutate the GPS and Exif IFDs of a fresh Image.Exif."""
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS 5D"
    exif.get_ifd(0x8825).update(gps)
    exif.get_ifd(0x8769).update({0x9003: "2020:01:02 03:04:05", 0x9011: "+10:00"})
    return exif


SYDNEY = {1: "S", 2: (33.0, 52.0, 4.0), 3: "W", 4: (151.0, 12.0, 36.0), 5: b"\x01", 6: 12.5}
SYDNEY_LATLON = (-(33 + 52 / 60 + 4 / 3600), -(151 + 12 / 60 + 36 / 3600))


def check_sydney(out: ExifOutput, fmt: str) -> None:
    assert out.format == fmt
    assert_fix(out, *SYDNEY_LATLON)
    assert out.gps is not None and out.gps.altitude_m == pytest.approx(-12.5)
    assert (out.camera_make, out.camera_model) == ("Canon", "Canon EOS 5D")
    assert (out.taken_at, out.utc_offset) == ("2020-01-02T03:04:05", "+10:00")
    assert out.warnings == []


@pytest.mark.parametrize(
    ("fmt", "suffix"), [("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "webp")], ids=str
)
def test_pillow_written_formats(tmp_path: Path, fmt: str, suffix: str) -> None:
    out = read_exif(write_image(tmp_path / f"x.{suffix}", pillow_exif(SYDNEY), fmt))
    check_sydney(out, fmt)


@pytest.mark.parametrize(("fmt", "suffix"), [("PNG", "png"), ("WEBP", "webp")], ids=str)
def test_raw_exif_blob_in_png_and_webp(tmp_path: Path, fmt: str, suffix: str) -> None:
    blob = exif_blob(coords(neg(LAT_DMS), b"s\x00", LON_DMS, b"E\x00", signed=True))
    out = read_exif(write_image(tmp_path / f"x.{suffix}", blob, fmt))
    assert_fix(out, -LAT, LON)
    assert out.warnings == []


def test_tiff(tmp_path: Path) -> None:
    path = tmp_path / "x.tif"
    gps = {k: v for k, v in SYDNEY.items()}
    Image.new("RGB", (32, 24)).save(
        path,
        "TIFF",
        tiffinfo={
            0x010F: "Canon",
            0x0110: "Canon EOS 5D",
            0x8825: gps,
            0x8769: {0x9003: "2020:01:02 03:04:05", 0x9011: "+10:00"},
        },
    )
    check_sydney(read_exif(path), "TIFF")


def test_heif(tmp_path: Path) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    if not pillow_heif.libheif_info().get("HEIF"):
        pytest.skip("this libheif build has no HEIF encoder")
    pillow_heif.register_heif_opener()
    path = tmp_path / "x.heic"
    write_image(path, pillow_exif(SYDNEY), "HEIF")
    check_sydney(read_exif(path), "HEIF")


def test_png_imagemagick_raw_profile(tmp_path: Path) -> None:
    """ImageMagick stores EXIF as hex in a 'Raw profile type exif/APP1' text chunk."""
    blob = exif_blob(coords(LAT_DMS, b"N\x00", LON_DMS, b"W\x00"))
    hexdata = blob.hex()
    lines = "\n".join(hexdata[i : i + 72] for i in range(0, len(hexdata), 72))
    for key in ("Raw profile type exif", "Raw profile type APP1"):
        info = PngImagePlugin.PngInfo()
        info.add_text(key, f"\nexif\n{len(blob):8d}\n{lines}\n", zip=True)
        path = tmp_path / f"{key.split()[-1]}.png"
        Image.new("RGB", (8, 8)).save(path, "PNG", pnginfo=info)
        out = read_exif(path)
        assert_fix(out, LAT, -LON)


@pytest.mark.parametrize(
    ("gps", "expected", "warning"),
    [
        ({1: "s", 2: (33.0, 52.0, 4.0), 3: b"W\x00", 4: (151.0, 12.0, 36.0)}, SYDNEY_LATLON, None),
        ({1: "N", 2: (43.0, 28.0469, 0.0), 3: "E", 4: (11.0, 53.1076, 0.0)}, DEC_MIN, None),
        ({1: "N", 2: 43.4674483, 3: "E", 4: 11.8851267}, (43.4674483, 11.8851267), None),
        ({1: "N", 2: (43.0, 28.0469), 3: "E", 4: (11.0, 53.1076)}, DEC_MIN, None),
        (
            {1: "N", 2: (43.0, TiffImagePlugin.IFDRational(28, 0), 0.0), 3: "E", 4: 11.0},
            None,
            "zero denominator",
        ),
        ({1: "N", 2: (0.0, 0.0, 0.0), 3: "E", 4: (0.0, 0.0, 0.0)}, None, "no GPS lock"),
    ],
    ids=["dms", "decimal-minutes", "single-decimal", "deg-min", "zero-den", "zero-zero"],
)
def test_pillow_written_rational_forms(
    tmp_path: Path, gps: dict[int, Any], expected: tuple[float, float] | None, warning: str | None
) -> None:
    exif = Image.Exif()
    exif.get_ifd(0x8825).update(gps)
    out = read_exif(write_image(tmp_path / "x.jpg", exif))
    if expected is None:
        assert out.gps is None
    else:
        assert_fix(out, *expected)
    if warning:
        assert has_warning(out, warning), out.warnings


# --- XMP fallback --------------------------------------------------------------------------


def xmp_packet(lat: str, lon: str, *, element: bool = False, extra: str = "") -> bytes:
    if element:
        body = (
            f"<rdf:Description><exif:GPSLatitude>{lat}</exif:GPSLatitude>"
            f"<exif:GPSLongitude>{lon}</exif:GPSLongitude>{extra}</rdf:Description>"
        )
    else:
        body = f'<rdf:Description exif:GPSLatitude="{lat}" exif:GPSLongitude="{lon}" {extra}/>'
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        f'xmlns:exif="http://ns.adobe.com/exif/1.0/">{body}</rdf:RDF></x:xmpmeta>'
        '<?xpacket end="w"?>'
    ).encode()


def save_with_xmp(path: Path, fmt: str, packet: bytes) -> Path:
    image = Image.new("RGB", (16, 16))
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", packet.decode())
        image.save(path, fmt, pnginfo=info)
    elif fmt == "TIFF":
        image.save(path, fmt, tiffinfo={700: packet})
    else:
        image.save(path, fmt, xmp=packet)
    return path


@pytest.mark.parametrize(
    ("fmt", "suffix"), [("JPEG", "jpg"), ("PNG", "png"), ("TIFF", "tif"), ("WEBP", "webp")], ids=str
)
def test_xmp_only_gps(tmp_path: Path, fmt: str, suffix: str) -> None:
    path = save_with_xmp(tmp_path / f"x.{suffix}", fmt, xmp_packet("43,28.0469N", "11,53.1076W"))
    out = read_exif(path)
    assert_fix(out, DEC_MIN[0], -DEC_MIN[1], source="xmp")
    assert out.warnings == []
    assert out.summary().startswith("GPS 43.46745, -11.88513 (XMP)")


def test_xmp_dms_seconds_element_form_and_altitude() -> None:
    extra = (
        "<exif:GPSAltitude>9403186/10000</exif:GPSAltitude>"
        "<exif:GPSAltitudeRef>1</exif:GPSAltitudeRef>"
    )
    fix, warnings = gps_from_xmp(
        xmp_packet("40,39,46.7766N", "3,45,49.465836W", element=True, extra=extra)
    )
    assert fix is not None and warnings == []
    assert (fix.lat, fix.lon) == pytest.approx((40.6629935, -3.7637405), abs=TOL)
    assert fix.altitude_m == pytest.approx(-940.3186)
    assert fix.source == "xmp"


@pytest.mark.parametrize(
    ("lat", "lon", "warning"),
    [
        ("0,0.0N", "0,0.0E", "no GPS lock"),
        ("95,0.0N", "11,53.1076E", "out of range"),
        ("43,28.0469E", "11,53.1076E", "wrong hemisphere"),
        ("forty-three", "11,53.1076E", "malformed GPS latitude"),
    ],
    ids=["zero-zero", "out-of-range", "wrong-letter", "garbage"],
)
def test_xmp_bad_values_are_warnings(lat: str, lon: str, warning: str) -> None:
    fix, warnings = gps_from_xmp(xmp_packet(lat, lon))
    assert fix is None
    assert has_warning(warnings, warning), warnings
    assert all(w.startswith("XMP: ") for w in warnings)


def test_exif_gps_wins_over_xmp(tmp_path: Path) -> None:
    path = tmp_path / "x.jpg"
    blob = exif_blob(coords(LAT_DMS, b"N\x00", LON_DMS, b"E\x00"))
    Image.new("RGB", (16, 16)).save(path, "JPEG", exif=blob, xmp=xmp_packet("1,0.0N", "1,0.0E"))
    assert_fix(read_exif(path), LAT, LON, source="exif")


def test_xmp_used_when_exif_gps_is_malformed(tmp_path: Path) -> None:
    path = tmp_path / "x.jpg"
    blob = exif_blob(coords([(43, 0)], b"N\x00", LON_DMS, b"E\x00"))
    Image.new("RGB", (16, 16)).save(
        path, "JPEG", exif=blob, xmp=xmp_packet("43,28.0469N", "11,53.1076E")
    )
    out = read_exif(path)
    assert_fix(out, *DEC_MIN, source="xmp")
    assert has_warning(out, "zero denominator")


# --- corrupt and non-image files -----------------------------------------------------------


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_corrupt_exif_block_is_not_fatal(tmp_path: Path) -> None:
    path = write_image(tmp_path / "x.jpg", b"Exif\x00\x00II*\x00\xff\xff\xff\x7fgarbage")
    out = read_exif(path)
    assert out.format == "JPEG" and out.gps is None
    assert has_warning(out, "EXIF block present but unreadable")
    json.loads(out.model_dump_json())


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_dangling_gps_pointer_is_not_fatal(tmp_path: Path) -> None:
    blob = exif_blob([ascii_(1, b"N\x00")], [ascii_(0x010F, b"Canon\x00")])
    tiff = bytearray(blob[6:])
    # Point IFD0's GPS entry far past the end of the block.
    at = tiff.find(struct.pack("<HHL", 0x8825, LONG, 1))
    assert at > 0
    tiff[at + 8 : at + 12] = struct.pack("<L", 0x7FFFFFF0)
    out = read_exif(write_image(tmp_path / "x.jpg", b"Exif\x00\x00" + bytes(tiff)))
    assert out.gps is None
    assert out.camera_make == "Canon"
    assert has_warning(out, "GPS IFD present but empty or unreadable")


def test_truncated_jpeg_keeps_its_exif(tmp_path: Path, shared_data: Path) -> None:
    data = (shared_data / AREZZO).read_bytes()
    path = tmp_path / "truncated.jpg"
    path.write_bytes(data[: len(data) // 3])
    assert_fix(read_exif(path), 43.4674483, 11.8851267)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.txt", b"this is not a photo\n", "not an image"),
        ("empty.jpg", b"", "not an image"),
        ("missing.jpg", None, "no such file"),
    ],
)
def test_unreadable_files_raise_tool_error(
    tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ToolError, match=message) as info:
        read_exif(path)
    assert "\n" not in str(info.value)


def test_directory_raises_tool_error(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="is a directory"):
        read_exif(tmp_path)


# --- the tool through the ToolBox ----------------------------------------------------------


def test_tool_declaration() -> None:
    assert ExifTool.name == "exif"
    assert ExifTool.needs_network is False
    assert ExifTool.input_model is ExifInput and ExifTool.output_model is ExifOutput
    assert "gps" in ExifTool.description and "warnings" in ExifTool.description


def test_toolbox_call_ok(settings: Settings, shared_data: Path) -> None:
    box = ToolBox(settings)
    try:
        assert "exif" in box.registry.names()
        out, call = box.call(
            "exif", {"path": str(shared_data / AREZZO)}, stage="details", call_id="c1"
        )
    finally:
        box.close()
    assert call.ok and not call.skipped and call.error is None
    assert isinstance(out, ExifOutput)
    assert_fix(out, 43.4674483, 11.8851267)
    assert call.summary == "GPS 43.46745, 11.88513 · NIKON COOLPIX P6000 · 2008-10-22T16:28:39"


def test_toolbox_non_image_is_a_failed_call(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a photo\n")
    box = ToolBox(settings)
    try:
        out, call = box.call("exif", {"path": str(path)}, stage="details", call_id="c2")
    finally:
        box.close()
    assert out is None and not call.ok and not call.skipped
    assert call.error is not None and "not an image" in call.error and "\n" not in call.error


def test_toolbox_ignore_metadata_skips(settings: Settings, shared_data: Path) -> None:
    box = ToolBox(settings.model_copy(update={"ignore_metadata": True}))
    try:
        out, call = box.call(
            "exif", {"path": str(shared_data / AREZZO)}, stage="details", call_id="c3"
        )
    finally:
        box.close()
    assert out is None and call.skipped and call.error is not None
    assert "ignore_metadata" in call.error


def test_file_size_limit(tmp_path: Path, shared_data: Path) -> None:
    tool = ExifTool(Settings(max_file_bytes=1000, cache_dir=tmp_path))
    with pytest.raises(ToolError, match="MiB limit"):
        tool.run(ExifInput(path=str(shared_data / AREZZO)))
