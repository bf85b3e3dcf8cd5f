"""The ``exif`` tool: GPS, time, UTC offset and camera from a photo's metadata."""

from gre.tools.exif.tool import ExifInput, ExifOutput, ExifTool, GpsFix, read_exif

__all__ = ["ExifInput", "ExifOutput", "ExifTool", "GpsFix", "read_exif"]
