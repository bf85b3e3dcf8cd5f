"""Reading tool evidence back: helpers shared by the graph and the backends."""

from __future__ import annotations

from collections.abc import Iterable

from gre.records import Evidence
from gre.tools.ocr import OcrLine, merge_lines


def ocr_lines(evidence: Iterable[Evidence]) -> list[OcrLine]:
    """Every OCR pass's lines merged (the best reading of each place), in reading order."""
    lines = [
        OcrLine.model_validate(line)
        for ev in evidence
        if ev.tool == "ocr" and ev.ok
        for line in ev.result.get("lines", [])
    ]
    return merge_lines(lines)


def ocr_text(evidence: Iterable[Evidence]) -> str:
    """The merged OCR lines as one text, one line each, without repeats."""
    texts = (line.text.strip() for line in ocr_lines(evidence))
    return "\n".join(dict.fromkeys(t for t in texts if t))
