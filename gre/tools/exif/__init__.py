"""The ``exif`` tool: GPS, time, UTC offset and camera from a photo's metadata."""

from gre.tools.exif.gps import GpsFix, gps_from_ifd, gps_from_xmp
from gre.tools.exif.tool import ExifInput, ExifOutput, ExifTool, read_exif

__all__ = [
    "ExifInput",
    "ExifOutput",
    "ExifTool",
    "GpsFix",
    "gps_from_ifd",
    "gps_from_xmp",
    "read_exif",
]
