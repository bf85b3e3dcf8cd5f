"""The one HEIF/HEIC registration with Pillow (pillow-heif), once per process, thread-safe."""

from __future__ import annotations

from functools import cache


@cache
def register_heif() -> bool:
    """Let Pillow open HEIF/HEIC files; False when pillow-heif is not installed."""
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return False
    register_heif_opener()
    return True
