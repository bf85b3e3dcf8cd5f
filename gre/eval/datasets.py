"""Benchmark datasets: every format loads into one list of :class:`Sample` with a load report.

Formats: GREval-Bench JSON/JSONL (``greval``), Im2GPS3k/YFCC4k-style CSV (``csv``), OSV-5M
metadata CSV (``osv5m``), a folder of the user's own geotagged photos (``folder``, truth from
EXIF; the agent must get :func:`agent_copy` of each photo) and a Hugging Face ``save_to_disk``
folder (``hf``, needs the optional ``datasets`` package). Formats are plugins (entry-point
group ``gre.datasets``, :mod:`gre.eval.datasets_registry`); the built-ins register the same way.

Loading is safe: images that resolve outside the dataset root, missing images, duplicate ids,
bad coordinates and malformed records are skipped and reported (count and first examples),
or, with ``strict=True``, fatal.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from PIL import ImageOps

from gre.eval.datasets_base import (
    GREVAL_CATEGORIES,
    SKIP_KINDS,
    Dataset,
    DatasetError,
    LoadReport,
    Sample,
    normalize_category,
)
from gre.eval.datasets_registry import (
    DatasetFormat,
    LoadOptions,
    format_registry,
)
from gre.ingest.photo import open_photo
from gre.plugins import PluginError, Registry, unknown_name

__all__ = [
    "GREVAL_CATEGORIES",
    "SKIP_KINDS",
    "Dataset",
    "DatasetError",
    "DatasetFormat",
    "LoadOptions",
    "LoadReport",
    "Sample",
    "agent_copy",
    "detect_format",
    "format_registry",
    "load_dataset",
    "normalize_category",
]

_PNG_MODES = frozenset({"1", "L", "LA", "I", "I;16", "RGB", "RGBA"})


def _detect(path: Path, options: LoadOptions, formats: Registry[DatasetFormat]) -> str:
    kind = [f for f in formats.plugins.values() if f.obj.wants_dir == path.is_dir()]
    ordered = [p for p in kind if not p.obj.fallback] + [p for p in kind if p.obj.fallback]
    for plugin in ordered:
        if plugin.obj.recognises(path, options):
            return plugin.name
    for plugin in ordered:
        reason = plugin.obj.rejection(path, options)
        if reason:
            raise DatasetError(reason)
    plugins = [name for name, p in formats.plugins.items() if not p.builtin]
    others = f"; or a plugin's: {', '.join(plugins)}" if plugins else ""
    raise DatasetError(
        f"{path}: unknown dataset format (expected GREval .json/.jsonl, a .csv, a folder of "
        f"photos or a Hugging Face save_to_disk folder{others})"
    )


def detect_format(
    path: Path,
    *,
    id_col: str | None = None,
    lat_col: str | None = None,
    lon_col: str | None = None,
) -> str:
    """The format of ``path`` (never ``auto``); DatasetError when it is none of them."""
    options = LoadOptions(id_col=id_col, lat_col=lat_col, lon_col=lon_col)
    return _detect(path, options, format_registry())


def load_dataset(
    path: Path,
    *,
    format: str = "auto",
    images: Path | None = None,
    id_col: str | None = None,
    lat_col: str | None = None,
    lon_col: str | None = None,
    category_col: str | None = None,
    strict: bool = False,
    cache_dir: Path | None = None,
) -> Dataset:
    """Load a benchmark; bad records are skipped and reported, or fatal when ``strict``.

    ``format`` is ``auto`` (detected) or any registered format (``gre.datasets`` entry
    points: greval, csv, osv5m, folder, hf and plugins). ``images`` is the image folder (and
    dataset root) for table formats; by default the table's folder, or an
    ``images/<table stem>``, ``images`` or ``img`` subfolder of it. ``cache_dir`` receives
    images embedded in a Hugging Face dataset (default: the user cache). Raises
    DatasetError (one line) when the dataset cannot be used at all.
    """
    given = Path(path).expanduser()
    if not given.exists():
        raise DatasetError(f"{given}: no such file or folder")
    formats = format_registry()
    if format != "auto" and format not in formats and format not in formats.failed:
        raise DatasetError(unknown_name("dataset format", format, ["auto", *formats.names()]))
    options = LoadOptions(
        images=images,
        id_col=id_col,
        lat_col=lat_col,
        lon_col=lon_col,
        category_col=category_col,
        cache_dir=cache_dir,
    )
    source = given.resolve()
    name = _detect(source, options, formats) if format == "auto" else format
    try:
        fmt = formats.get(name)
    except PluginError as exc:
        raise DatasetError(str(exc)) from None
    if fmt.wants_dir != source.is_dir():
        kind = "a folder" if fmt.wants_dir else "a file"
        raise DatasetError(f"{source}: format {name!r} needs {kind}")
    builder = fmt.load(source, options)
    return builder.finish(
        name=source.name if source.is_dir() else source.stem,
        fmt=name,
        source=source,
        strict=strict,
        strip_metadata=fmt.strip_metadata,
    )


def agent_copy(sample: Sample, workdir: Path, *, max_pixels: int = 100_000_000) -> Path:
    """Write a metadata-free PNG of the sample's pixels for the agent; returns its path.

    The copy is upright (EXIF orientation applied) and carries no EXIF, XMP, GPS or text
    chunks; an ICC profile is kept only when the pixels were not converted. Its name is a
    hash of the sample id, so the original file name (which may name a place) never leaks.
    Raises :class:`gre.ingest.photo.PhotoError` when the image cannot be decoded.
    """
    image = open_photo(sample.image, max_pixels)
    icc = image.info.get("icc_profile")
    try:
        upright = ImageOps.exif_transpose(image)
    except Exception:  # a broken orientation tag must not lose the photo
        upright = image
    if upright.mode in _PNG_MODES:
        clean = upright.copy()
    else:
        icc = None
        alpha = upright.mode in ("PA", "RGBa", "LA") or "transparency" in upright.info
        clean = upright.convert("RGBA" if alpha else "RGB")
    clean.info.clear()
    workdir.mkdir(parents=True, exist_ok=True)
    target = workdir / f"{hashlib.sha256(sample.id.encode()).hexdigest()[:16]}.png"
    if isinstance(icc, bytes) and icc:
        clean.save(target, format="PNG", compress_level=1, icc_profile=icc)
    else:
        clean.save(target, format="PNG", compress_level=1)
    return target
