"""The photos a `gre locate` names: files, folders (recursively) and glob patterns."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable
from pathlib import Path

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".heic", ".heif", ".webp", ".tif", ".tiff", ".bmp", ".gif"}
)
"""What a folder or a pattern contributes; a file named on its own is tried whatever its name."""
MAX_PHOTOS = 100_000
MAX_FILES = 10 * MAX_PHOTOS
"""A folder's walk stops once it has seen this many files."""
_GLOB = frozenset("*?[")


def _images(paths: Iterable[Path]) -> list[Path]:
    return sorted(p for p in paths if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def _folder(folder: Path) -> tuple[list[Path], int]:
    """The images under ``folder`` (hidden files and folders skipped) and how many files
    it holds in all (counting stops past :data:`MAX_FILES`)."""
    found: list[Path] = []
    seen = 0
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        shown = [f for f in files if not f.startswith(".")]
        seen += len(shown)
        images = (f for f in shown if os.path.splitext(f)[1].lower() in IMAGE_SUFFIXES)
        found.extend(Path(root, f) for f in images)
        if seen > MAX_FILES:
            break
    return _images(found), seen


def _no_photos(folder: str, files: int) -> str:
    """Why a folder gave no photos, in one line."""
    if not files:
        return f"no photos in {folder} (no files)"
    if files > MAX_FILES:
        many = f"over {MAX_FILES:,} files"
    else:
        many = f"{files:,} file" + ("s" if files != 1 else "")
    kinds = ", ".join(sorted(s.lstrip(".") for s in IMAGE_SUFFIXES))
    return f"no photos in {folder} ({many}, none an image type: {kinds})"


def expand(args: Iterable[str | Path]) -> tuple[list[Path], list[str]]:
    """The photos ``args`` name, in order without repeats, and a one-line error for each
    argument that names none (a folder or pattern without images).

    A plain path that does not exist is kept: opening it reports it like any bad photo.
    """
    photos: list[Path] = []
    errors: list[str] = []
    for arg in args:
        text = str(arg)
        path = Path(text)
        if path.is_dir():
            found, files = _folder(path)
            if not found:
                errors.append(_no_photos(text, files))
            photos.extend(found)
        elif not path.exists() and _GLOB & set(text):
            found = _images(Path(p) for p in glob.glob(text, recursive=True))
            if found:
                photos.extend(found)
            elif "*" in text or "?" in text:
                errors.append(f"{text}: no photos match this pattern")
            else:  # brackets in a plain name: reported as the file it names
                photos.append(path)
        else:
            photos.append(path)
        if len(photos) > MAX_PHOTOS:
            errors.append(f"more than {MAX_PHOTOS:,} photos named; split the batch")
            return [], errors
    return list(dict.fromkeys(photos)), errors
