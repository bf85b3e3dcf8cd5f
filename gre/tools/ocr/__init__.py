"""The ``ocr`` tool: text read from a photo, script by script."""

from gre.tools.ocr.tool import OcrInput, OcrLine, OcrOutput, OcrTool, OcrWord

__all__ = ["OcrInput", "OcrLine", "OcrOutput", "OcrTool", "OcrWord"]
