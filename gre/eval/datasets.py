"""Benchmark datasets: every format loads into one list of :class:`Sample` with a load report.

Formats: GREval-Bench JSON/JSONL (``greval``), Im2GPS3k/YFCC4k-style CSV (``csv``), OSV-5M
metadata CSV (``osv5m``), a folder of the user's own geotagged photos (``folder``, truth from
EXIF; the agent must get :func:`agent_copy` of each photo) and a Hugging Face ``save_to_disk``
folder (``hf``, needs the optional ``datasets`` package).

Loading is safe: images that resolve outside the dataset root, missing images, duplicate ids,
bad coordinates and malformed records are skipped and reported (count and first examples),
or, with ``strict=True``, fatal.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal, get_args

from PIL import ImageOps
from platformdirs import user_cache_dir

from gre.eval.datasets_base import (
    GREVAL_CATEGORIES,
    SKIP_KINDS,
    Dataset,
    DatasetError,
    LoadReport,
    RecordBuilder,
    Sample,
    normalize_category,
)
from gre.eval.datasets_formats import (
    GREVAL_KEYS,
    HF_MARKERS,
    csv_header,
    first_json_record,
    is_osv5m_header,
    load_csv,
    load_folder,
    load_greval,
    load_hf,
)
from gre.ingest.photo import open_photo

__all__ = [
    "GREVAL_CATEGORIES",
    "SKIP_KINDS",
    "Dataset",
    "DatasetError",
    "DatasetFormat",
    "LoadReport",
    "Sample",
    "agent_copy",
    "detect_format",
    "load_dataset",
    "normalize_category",
]

DatasetFormat = Literal["auto", "greval", "csv", "osv5m", "folder", "hf"]
_JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")
_CSV_SUFFIXES = (".csv", ".tsv")
_PNG_MODES = frozenset({"1", "L", "LA", "I", "I;16", "RGB", "RGBA"})


def detect_format(
    path: Path,
    *,
    id_col: str | None = None,
    lat_col: str | None = None,
    lon_col: str | None = None,
) -> str:
    """The format of ``path`` (never ``auto``); DatasetError when it is none of them."""
    if path.is_dir():
        return "hf" if any((path / marker).is_file() for marker in HF_MARKERS) else "folder"
    suffix = path.suffix.lower()
    if suffix in _JSON_SUFFIXES:
        record = first_json_record(path)
        wanted = {id_col or "sample_id", "image_path", lat_col or "gt_lat", lon_col or "gt_lon"}
        if isinstance(record, dict) and wanted <= record.keys():
            return "greval"
        found = ", ".join(list(record)[:12]) if isinstance(record, dict) else "no JSON object"
        raise DatasetError(
            f"{path}: unknown JSON dataset: records need {', '.join(GREVAL_KEYS)} "
            f"(GREval-Bench); found: {found}"
        )
    if suffix in _CSV_SUFFIXES:
        return "osv5m" if is_osv5m_header(csv_header(path)) else "csv"
    raise DatasetError(
        f"{path}: unknown dataset format (expected GREval .json/.jsonl, a .csv, a folder of "
        "photos or a Hugging Face save_to_disk folder)"
    )


def _default_images(table: Path) -> Path:
    folder = table.parent
    for candidate in (folder / "images" / table.stem, folder / "images", folder / "img"):
        if candidate.is_dir():
            return candidate
    return folder


def _images_dir(images: Path | None, default: Path) -> Path:
    if images is None:
        return default.resolve()
    folder = Path(images).expanduser()
    if not folder.is_dir():
        raise DatasetError(f"{folder}: images folder not found")
    return folder.resolve()


def load_dataset(
    path: Path,
    *,
    format: DatasetFormat = "auto",
    images: Path | None = None,
    id_col: str | None = None,
    lat_col: str | None = None,
    lon_col: str | None = None,
    category_col: str | None = None,
    strict: bool = False,
    cache_dir: Path | None = None,
) -> Dataset:
    """Load a benchmark; bad records are skipped and reported, or fatal when ``strict``.

    ``images`` is the image folder (and dataset root) for table formats; by default the
    table's folder, or an ``images/<table stem>``, ``images`` or ``img`` subfolder of it.
    ``cache_dir`` receives images embedded in a Hugging Face dataset (default: the user
    cache). Raises DatasetError (one line) when the dataset cannot be used at all.
    """
    given = Path(path).expanduser()
    if not given.exists():
        raise DatasetError(f"{given}: no such file or folder")
    if format not in get_args(DatasetFormat):
        raise DatasetError(f"unknown dataset format {format!r}")
    source = given.resolve()
    fmt = (
        detect_format(source, id_col=id_col, lat_col=lat_col, lon_col=lon_col)
        if format == "auto"
        else format
    )
    wants_dir = fmt in ("folder", "hf")
    if wants_dir != source.is_dir():
        kind = "a folder" if wants_dir else "a file"
        raise DatasetError(f"{source}: format {fmt!r} needs {kind}")
    name = source.name if source.is_dir() else source.stem

    if fmt == "greval":
        base = _images_dir(images, source.parent)
        builder = RecordBuilder(base)
        load_greval(
            source,
            builder,
            base=builder.root,
            id_key=id_col or "sample_id",
            lat_key=lat_col or "gt_lat",
            lon_key=lon_col or "gt_lon",
            category_key=category_col,
        )
    elif fmt in ("csv", "osv5m"):
        builder = RecordBuilder(_images_dir(images, _default_images(source)))
        load_csv(
            source,
            builder,
            images=builder.root,
            osv5m=fmt == "osv5m",
            id_col=id_col,
            lat_col=lat_col,
            lon_col=lon_col,
            category_col=category_col,
        )
    elif fmt == "folder":
        builder = RecordBuilder(source)
        load_folder(builder.root, builder)
    else:
        builder = RecordBuilder(source)
        key = hashlib.sha256(str(source).encode()).hexdigest()[:16]
        cache = (cache_dir or Path(user_cache_dir("gre")) / "datasets") / key
        load_hf(
            source,
            builder,
            cache=cache,
            id_col=id_col,
            lat_col=lat_col,
            lon_col=lon_col,
            category_col=category_col,
        )
    return builder.finish(
        name=name, fmt=fmt, source=source, strict=strict, strip_metadata=fmt == "folder"
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
