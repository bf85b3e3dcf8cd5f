"""The ``ocr`` tool: text read from a photo, script by script."""

from gre.tools.ocr.scripts import apt_package
from gre.tools.ocr.tesseract import installed_languages, missing_packs, osd_available
from gre.tools.ocr.tool import (
    Mode,
    OcrInput,
    OcrLine,
    OcrOutput,
    OcrTool,
    OcrWord,
    OsdReading,
    merge_lines,
)

__all__ = [
    "Mode",
    "OcrInput",
    "OcrLine",
    "OcrOutput",
    "OcrTool",
    "OcrWord",
    "OsdReading",
    "apt_package",
    "installed_languages",
    "merge_lines",
    "missing_packs",
    "osd_available",
]
