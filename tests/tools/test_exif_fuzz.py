"""The EXIF parser under arbitrary input: it reports, it never raises (hypothesis)."""

from __future__ import annotations

import io
import math
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, TiffImagePlugin

from gre.tools.base import ToolError
from gre.tools.exif.gps import gps_from_ifd, gps_from_xmp
from gre.tools.exif.tool import ExifOutput, read_exif

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_scalars = st.one_of(
    st.none(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.binary(max_size=12),
    st.builds(
        TiffImagePlugin.IFDRational,
        st.integers(min_value=-(2**31), max_value=2**31),
        st.integers(min_value=-5, max_value=2**31),
    ),
)
_values = st.one_of(_scalars, st.lists(_scalars, max_size=4).map(tuple))
_gps_ifd = st.dictionaries(st.integers(min_value=0, max_value=31), _values, max_size=12)


@FUZZ
@given(_gps_ifd)
def test_any_gps_ifd_gives_a_fix_or_none_never_an_exception(ifd: dict[int, object]) -> None:
    fix, warnings = gps_from_ifd(ifd)
    assert all(isinstance(w, str) and "\n" not in w for w in warnings)
    if fix is not None:
        assert math.isfinite(fix.lat) and math.isfinite(fix.lon)
        assert -90 <= fix.lat <= 90 and -180 <= fix.lon <= 180
        assert (fix.lat, fix.lon) != (0.0, 0.0)


@FUZZ
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300)))
def test_any_xmp_packet_gives_a_fix_or_none(packet: str | bytes) -> None:
    fix, _ = gps_from_xmp(packet)
    assert fix is None or (-90 <= fix.lat <= 90 and -180 <= fix.lon <= 180)


def _jpeg_with_exif(blob: bytes) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (90, 90, 90)).save(out, format="JPEG", exif=blob)
    return out.getvalue()


_GOOD_EXIF = Image.Exif()
_GOOD_EXIF[0x010F] = "Maker"
_GOOD_EXIF.get_ifd(0x8825).update({1: "N", 2: (43.0, 28.0, 2.8), 3: "E", 4: (11.0, 53.0, 6.4)})
GOOD_BLOB = _GOOD_EXIF.tobytes()


@FUZZ
@given(data=st.data())
def test_a_photo_with_mangled_exif_reads_or_fails_in_one_line(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    blob = bytearray(GOOD_BLOB)
    for _ in range(data.draw(st.integers(min_value=1, max_value=8))):
        where = data.draw(st.integers(min_value=0, max_value=len(blob) - 1))
        blob[where] = data.draw(st.integers(min_value=0, max_value=255))
    cut = data.draw(st.integers(min_value=8, max_value=len(blob)))
    path = tmp_path_factory.mktemp("exif") / "m.jpg"
    path.write_bytes(_jpeg_with_exif(b"Exif\x00\x00" + bytes(blob[:cut])))
    with warnings.catch_warnings(record=True) as escaped:
        warnings.simplefilter("always")
        try:
            out = read_exif(path)
        except ToolError as exc:
            assert "\n" not in str(exc)
            return
    assert not escaped, "Pillow's warnings belong in the output, not on the terminal"
    assert isinstance(out, ExifOutput)
    out.for_model()
    out.claims()
