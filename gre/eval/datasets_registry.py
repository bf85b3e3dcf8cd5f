"""Dataset formats by entry point (group ``gre.datasets``): the format API and the built-ins.

A format plugin names an instance of a :class:`DatasetFormat` subclass::

    [project.entry-points."gre.datasets"]
    my_format = "my_package.dataset:MY_FORMAT"

It says whether it recognises a path (auto-detection) and loads it by feeding every record
through a :class:`~gre.eval.datasets_base.RecordBuilder`, which checks ids, coordinates and
image paths and counts what it skips; :func:`gre.eval.datasets.load_dataset` turns the
builder into the Dataset. Detection tries the specific formats first (built-ins in table
order, then plugins by name) and the ``fallback`` ones (``csv`` for any table, ``folder``
for any folder) last, so the built-ins keep their precedence and a plugin may claim a
``.csv`` variant or a folder layout before the catch-alls do.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, TypeGuard

from platformdirs import user_cache_dir

from gre.eval.datasets_base import DatasetError, RecordBuilder
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
from gre.plugins import Registry

GROUP = "gre.datasets"
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")
CSV_SUFFIXES = (".csv", ".tsv")


@dataclass(frozen=True)
class LoadOptions:
    """What ``load_dataset`` was told besides the path (every field may be None)."""

    images: Path | None = None
    id_col: str | None = None
    lat_col: str | None = None
    lon_col: str | None = None
    category_col: str | None = None
    cache_dir: Path | None = None


class DatasetFormat(ABC):
    """A dataset format: detection and loading. Subclass it and name an instance."""

    name: ClassVar[str]
    description: ClassVar[str]
    wants_dir: ClassVar[bool] = False
    """Whether the dataset is a folder (True) or a file."""
    fallback: ClassVar[bool] = False
    """Claims what no specific format recognised; tried after all of those."""
    strip_metadata: ClassVar[bool] = False
    """The agent gets :func:`~gre.eval.datasets.agent_copy` of each image, not the file."""

    @abstractmethod
    def recognises(self, path: Path, options: LoadOptions) -> bool:
        """Whether ``path`` (a folder when ``wants_dir``, else a file) is in this format."""

    def rejection(self, path: Path, options: LoadOptions) -> str | None:
        """Why ``path`` looks like this format but is not usable as it (detection's error)."""
        return None

    @abstractmethod
    def load(self, path: Path, options: LoadOptions) -> RecordBuilder:
        """Feed every record of ``path`` through a RecordBuilder and return it."""


def _is_format(obj: object) -> TypeGuard[DatasetFormat]:
    return isinstance(obj, DatasetFormat)


def format_registry() -> Registry[DatasetFormat]:
    """Every dataset format installed (built-ins first); broken ones are load errors."""
    return Registry.discover(
        GROUP,
        noun="dataset format",
        kind="a DatasetFormat instance",
        check=_is_format,
        name_of=lambda f: f.name,
    )


def images_dir(images: Path | None, default: Path) -> Path:
    """The image folder and dataset root: ``images`` if given (it must exist), else ``default``."""
    if images is None:
        return default.resolve()
    folder = Path(images).expanduser()
    if not folder.is_dir():
        raise DatasetError(f"{folder}: images folder not found")
    return folder.resolve()


def table_images(table: Path) -> Path:
    """A table's default image folder: ``images/<stem>``, ``images`` or ``img`` beside it."""
    folder = table.parent
    for candidate in (folder / "images" / table.stem, folder / "images", folder / "img"):
        if candidate.is_dir():
            return candidate
    return folder


# --- the built-ins (named in gre.plugins.BUILTIN and pyproject.toml) ----------------------


def _greval_keys(options: LoadOptions) -> set[str]:
    return {
        options.id_col or "sample_id",
        "image_path",
        options.lat_col or "gt_lat",
        options.lon_col or "gt_lon",
    }


class GrevalFormat(DatasetFormat):
    name = "greval"
    description = "GREval-Bench JSON or JSON Lines (sample_id, image_path, gt_lat, gt_lon)"

    def recognises(self, path: Path, options: LoadOptions) -> bool:
        if path.suffix.lower() not in JSON_SUFFIXES:
            return False
        record = first_json_record(path)
        return isinstance(record, dict) and _greval_keys(options) <= record.keys()

    def rejection(self, path: Path, options: LoadOptions) -> str | None:
        if path.suffix.lower() not in JSON_SUFFIXES:
            return None
        record = first_json_record(path)
        found = ", ".join(list(record)[:12]) if isinstance(record, dict) else "no JSON object"
        return (
            f"{path}: unknown JSON dataset: records need {', '.join(GREVAL_KEYS)} "
            f"(GREval-Bench); found: {found}"
        )

    def load(self, path: Path, options: LoadOptions) -> RecordBuilder:
        builder = RecordBuilder(images_dir(options.images, path.parent))
        load_greval(
            path,
            builder,
            base=builder.root,
            id_key=options.id_col or "sample_id",
            lat_key=options.lat_col or "gt_lat",
            lon_key=options.lon_col or "gt_lon",
            category_key=options.category_col,
        )
        return builder


class CsvFormat(DatasetFormat):
    name = "csv"
    description = "Im2GPS3k/YFCC4k-style CSV (IMG_ID, LAT, LON and common variants)"
    fallback = True
    osv5m: ClassVar[bool] = False

    def recognises(self, path: Path, options: LoadOptions) -> bool:
        return path.suffix.lower() in CSV_SUFFIXES

    def load(self, path: Path, options: LoadOptions) -> RecordBuilder:
        builder = RecordBuilder(images_dir(options.images, table_images(path)))
        load_csv(
            path,
            builder,
            images=builder.root,
            osv5m=self.osv5m,
            id_col=options.id_col,
            lat_col=options.lat_col,
            lon_col=options.lon_col,
            category_col=options.category_col,
        )
        return builder


class Osv5mFormat(CsvFormat):
    name = "osv5m"
    description = "OpenStreetView-5M metadata CSV (id, latitude, longitude, ...)"
    fallback = False
    osv5m = True

    def recognises(self, path: Path, options: LoadOptions) -> bool:
        return path.suffix.lower() in CSV_SUFFIXES and is_osv5m_header(csv_header(path))


class FolderFormat(DatasetFormat):
    name = "folder"
    description = "a folder of geotagged photos (truth from EXIF; the agent gets a clean copy)"
    wants_dir = True
    fallback = True
    strip_metadata = True

    def recognises(self, path: Path, options: LoadOptions) -> bool:
        return True

    def load(self, path: Path, options: LoadOptions) -> RecordBuilder:
        builder = RecordBuilder(path)
        load_folder(builder.root, builder)
        return builder


class HfFormat(DatasetFormat):
    name = "hf"
    description = "a Hugging Face save_to_disk folder (needs `datasets`)"
    wants_dir = True

    def recognises(self, path: Path, options: LoadOptions) -> bool:
        return any((path / marker).is_file() for marker in HF_MARKERS)

    def load(self, path: Path, options: LoadOptions) -> RecordBuilder:
        builder = RecordBuilder(path)
        key = hashlib.sha256(str(path).encode()).hexdigest()[:16]
        cache = (options.cache_dir or Path(user_cache_dir("gre")) / "datasets") / key
        load_hf(
            path,
            builder,
            cache=cache,
            id_col=options.id_col,
            lat_col=options.lat_col,
            lon_col=options.lon_col,
            category_col=options.category_col,
        )
        return builder


GREVAL = GrevalFormat()
CSV = CsvFormat()
OSV5M = Osv5mFormat()
FOLDER = FolderFormat()
HF = HfFormat()
