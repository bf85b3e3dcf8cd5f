"""Dataset models and the record checks shared by every loader of :mod:`gre.eval.datasets`.

A loader feeds each record through a :class:`RecordBuilder`: id (duplicates), coordinates,
image path (inside the root, present on disk). A record that fails a check is skipped and
counted by kind, with the first few examples kept for the report.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import os
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr

from gre.errors import GreError
from gre.geo import valid_latlon

SKIP_KINDS: tuple[str, ...] = (
    "escapes_root",
    "missing_image",
    "duplicate_id",
    "bad_coordinates",
    "bad_record",
    "no_gps",
)
MAX_EXAMPLES = 5
_MAX_EXAMPLE_CHARS = 200

GREVAL_CATEGORIES: dict[str, str] = {
    "natural": "outdoor",
    "artificial_landscape": "outdoor",
    "agricultural": "outdoor",
    "industrial": "outdoor",
    "road_traffic": "outdoor",
    "commercial": "indoor",
    "offices": "indoor",
    "transport": "indoor",
    "cultural": "indoor",
    "medical": "indoor",
    "entertainment": "indoor",
}
"""GREval-Bench scene categories (canonical snake_case name → outdoor/indoor)."""

_CATEGORY_ALIASES = {
    "nature": "natural",
    "natural_landscape": "natural",
    "natural_scenery": "natural",
    "artificial": "artificial_landscape",
    "artificial_landscapes": "artificial_landscape",
    "man_made_landscape": "artificial_landscape",
    "agriculture": "agricultural",
    "agricultural_landscape": "agricultural",
    "industry": "industrial",
    "industrial_landscape": "industrial",
    "road": "road_traffic",
    "roads": "road_traffic",
    "traffic": "road_traffic",
    "road_and_traffic": "road_traffic",
    "office": "offices",
    "transportation": "transport",
    "culture": "cultural",
    "medicine": "medical",
    "hospital": "medical",
    "entertainments": "entertainment",
}
_SURROGATE = re.compile("[\ud800-\udfff]")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


class DatasetError(GreError, ValueError):
    """A dataset cannot be loaded at all (one-line message)."""


class Sample(BaseModel):
    """One benchmark photo and its true position; truth side only, never shown to the agent."""

    id: str
    image: Path = Field(description="absolute path of the image file")
    lat: float
    lon: float
    category: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class LoadReport(BaseModel):
    """What loading kept and what it skipped, by kind, with the first examples of each."""

    total: int = 0
    loaded: int = 0
    skipped: dict[str, int] = Field(default_factory=dict)
    examples: dict[str, list[str]] = Field(default_factory=dict)
    unknown_categories: dict[str, int] = Field(
        default_factory=dict, description="GREval category values kept raw (not one of the 11)"
    )

    def summary(self) -> str:
        """One line, e.g. ``loaded 98 of 100 records; skipped 1 missing_image, 1 duplicate_id``."""
        text = f"loaded {self.loaded} of {self.total} records"
        if self.skipped:
            text += "; skipped " + ", ".join(f"{n} {kind}" for kind, n in self.skipped.items())
        if self.unknown_categories:
            n = sum(self.unknown_categories.values())
            names = ", ".join(repr(c) for c in list(self.unknown_categories)[:3])
            text += f"; {n} with an unknown category ({names})"
        return text


class Dataset(BaseModel):
    """A loaded benchmark: its samples, how loading went, and a content hash for run logs."""

    name: str
    format: str
    root: Path = Field(description="images must resolve inside this folder")
    source: Path = Field(description="the file or folder that was loaded")
    samples: list[Sample]
    report: LoadReport
    content_hash: str = Field(description="sha256 over sorted (id, relative image, lat, lon)")
    strip_metadata: bool = Field(
        default=False, description="give the agent agent_copy() of each image, not the file"
    )
    _image_hash: str | None = PrivateAttr(default=None)

    def image_hash(self) -> str:
        """sha256 over the sorted (id, sha256 of the image bytes) pairs; read once, on demand."""
        if self._image_hash is None:
            digest = hashlib.sha256()
            for sample in sorted(self.samples, key=lambda s: s.id):
                digest.update(f"{sample.id}\t{file_sha256(sample.image)}\n".encode())
            self._image_hash = digest.hexdigest()
        return self._image_hash

    def header(self) -> dict[str, Any]:
        """The run log's ``dataset`` entry: name, path, format, size, content hash."""
        return {
            "name": self.name,
            "path": str(self.source),
            "format": self.format,
            "size": len(self.samples),
            "content_hash": self.content_hash,
        }


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def normalize_category(raw: str) -> str | None:
    """The canonical GREval category for ``raw`` (``Outdoor/Road Traffic`` → ``road_traffic``)."""
    text = re.split(r"[/:>|]", raw.strip().lower())[-1]
    text = re.sub(r"[^a-z]+", "_", text).strip("_")
    for prefix in ("outdoor_", "indoor_"):
        text = text.removeprefix(prefix)
    text = _CATEGORY_ALIASES.get(text, text)
    return text if text in GREVAL_CATEGORIES else None


def parse_coordinate(value: Any) -> float | None:
    """A finite float from a number or a plain decimal string; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not _NUMBER.fullmatch(text):
            return None
        number = float(text)
    elif isinstance(value, numbers.Real):
        try:
            number = float(value)
        except (OverflowError, ValueError):
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def one_line(exc: BaseException) -> str:
    """An exception as one short line."""
    text = str(exc).strip().splitlines()
    return text[0][:160] if text else type(exc).__name__


def _is_text(text: str) -> bool:
    """Whether ``text`` can be written as UTF-8 (no lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _as_text(text: str) -> str:
    """``text`` with any lone surrogate replaced by U+FFFD."""
    return text if _is_text(text) else _SURROGATE.sub("\ufffd", text)


def _clip(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class PathResolver:
    """Finds image files by reference, refusing any that resolve outside ``root``.

    Plain files in a directory whose real path is itself are found from one cached
    listing per directory, so a 100k-row CSV costs one ``scandir`` rather than
    100k ``realpath`` calls; anything else (``..``, absolute, symlinks, absent) takes
    the exact path: ``realpath`` then a containment check.
    """

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._root_text = str(self.root)
        self._listings: dict[str, frozenset[str] | None] = {}
        self._folders: dict[str, Path] = {}

    def inside(self, real: str) -> bool:
        """True when the real path ``real`` is the root or below it."""
        return real == self._root_text or real.startswith(self._root_text.rstrip(os.sep) + os.sep)

    def _listing(self, folder: str) -> frozenset[str] | None:
        if folder not in self._listings:
            names: frozenset[str] | None = None
            try:
                if os.path.realpath(folder) == folder and self.inside(folder):
                    with os.scandir(folder) as entries:
                        names = frozenset(
                            e.name for e in entries if e.is_file(follow_symlinks=False)
                        )
            except (OSError, ValueError):
                names = None
            self._listings[folder] = names
        return self._listings[folder]

    def find(self, base: Path, refs: Sequence[str]) -> tuple[Path | None, str]:
        """The first existing ``base/ref`` as an absolute real path, else ``(None, kind)``.

        ``kind`` is ``escapes_root`` as soon as a reference resolves outside the root
        (existing or not), otherwise ``missing_image``.
        """
        base_text = str(base)
        for ref in refs:
            if os.path.isabs(ref) or ".." in ref or "\\" in ref:
                continue
            if "/" in ref or os.sep in ref:
                folder, name = os.path.split(os.path.normpath(os.path.join(base_text, ref)))
            else:
                folder, name = base_text, ref
            names = self._listing(folder)
            if names is not None and name in names:
                parent = self._folders.get(folder)
                if parent is None:
                    parent = self._folders[folder] = Path(folder)
                return parent / name, ""
        for ref in refs:
            try:
                real = os.path.realpath(os.path.join(base_text, ref))
            except (OSError, ValueError):
                continue
            if not self.inside(real):
                return None, "escapes_root"
            if os.path.isfile(real):
                return Path(real), ""
        return None, "missing_image"

    def relative(self, image: Path) -> str:
        """``image`` relative to the root, with ``/`` separators."""
        text = str(image)
        if self.inside(text) and text != self._root_text:
            return text[len(self._root_text.rstrip(os.sep)) + 1 :].replace(os.sep, "/")
        return text.replace(os.sep, "/")


class RecordBuilder:
    """Runs the per-record checks, collects samples and the report, then builds the Dataset."""

    def __init__(self, root: Path) -> None:
        self.resolver = PathResolver(root)
        self.root = self.resolver.root
        self.total = 0
        self._samples: list[Sample] = []
        self._records: list[tuple[str, str, float, float]] = []
        self._seen: set[str] = set()
        self._skipped: Counter[str] = Counter()
        self._examples: dict[str, list[str]] = {}
        self._first_problem: str | None = None
        self._unknown: Counter[str] = Counter()

    def skip(self, kind: str, where: str, detail: str) -> None:
        """Count a skipped record of ``kind``; keep it as an example while there are few."""
        self._skipped[kind] += 1
        example = f"{where}: {detail}"
        if len(example) > _MAX_EXAMPLE_CHARS:
            example = example[: _MAX_EXAMPLE_CHARS - 3] + "..."
        if self._first_problem is None:
            self._first_problem = example
        shown = self._examples.setdefault(kind, [])
        if len(shown) < MAX_EXAMPLES:
            shown.append(example)

    def take_id(self, where: str, raw: Any) -> str | None:
        """The record's id, or None after reporting it empty or already used.

        The first record with an id decides it: later ones are duplicates even when
        the first was itself skipped for another reason.
        """
        if isinstance(raw, bool) or not isinstance(raw, (str, int)):
            self.skip("bad_record", where, f"id {_clip(raw)} is not a string or integer")
            return None
        sample_id = str(raw).strip()
        if not sample_id:
            self.skip("bad_record", where, "empty id")
            return None
        if not _is_text(sample_id):
            self.skip("bad_record", where, f"id {_clip(sample_id)} is not valid Unicode text")
            return None
        if sample_id in self._seen:
            self.skip("duplicate_id", where, f"id {sample_id!r} already used")
            return None
        self._seen.add(sample_id)
        return sample_id

    def take_coordinates(
        self, where: str, sample_id: str, lat: Any, lon: Any
    ) -> tuple[float, float] | None:
        """Valid (lat, lon) degrees, or None after reporting ``bad_coordinates``."""
        lat_f, lon_f = parse_coordinate(lat), parse_coordinate(lon)
        if lat_f is None or lon_f is None or not valid_latlon(lat_f, lon_f):
            self.skip(
                "bad_coordinates", where, f"id {sample_id!r}: lat={_clip(lat)} lon={_clip(lon)}"
            )
            return None
        return lat_f, lon_f

    def take_image(
        self, where: str, sample_id: str, base: Path, refs: Sequence[str]
    ) -> Path | None:
        """The image file for ``refs`` (tried in order), or None after reporting why not."""
        image, kind = self.resolver.find(base, refs)
        if image is None:
            reason = "resolves outside the dataset root" if kind == "escapes_root" else "not found"
            self.skip(kind, where, f"id {sample_id!r}: image {_clip(refs[0])} {reason}")
        return image

    def note_unknown_category(self, raw: str) -> None:
        """Count a category value kept raw because it is none of the GREval names."""
        self._unknown[raw] += 1

    def add(
        self,
        sample_id: str,
        image: Path,
        lat: float,
        lon: float,
        *,
        category: str | None = None,
        metadata: dict[str, Any] | None = None,
        relative: str | None = None,
    ) -> None:
        """Keep a checked sample (``relative`` names an image outside the root in the hash)."""
        self._samples.append(
            Sample.model_construct(
                id=sample_id,
                image=image,
                lat=lat,
                lon=lon,
                category=_as_text(category) if category is not None else None,
                metadata=metadata or {},
            )
        )
        rel = relative if relative is not None else self.resolver.relative(image)
        self._records.append((sample_id, rel, lat, lon))

    def report(self) -> LoadReport:
        """The load report so far."""
        order = {kind: i for i, kind in enumerate(SKIP_KINDS)}
        kinds = sorted(self._skipped, key=lambda k: order.get(k, len(order)))
        return LoadReport(
            total=self.total,
            loaded=len(self._samples),
            skipped={k: self._skipped[k] for k in kinds},
            examples={k: list(self._examples[k]) for k in kinds if k in self._examples},
            unknown_categories=dict(self._unknown.most_common()),
        )

    def finish(
        self, *, name: str, fmt: str, source: Path, strict: bool, strip_metadata: bool = False
    ) -> Dataset:
        """The Dataset; DatasetError when strict and anything was skipped, or nothing loaded."""
        report = self.report()
        skipped = sum(report.skipped.values())
        if strict and skipped:
            counts = ", ".join(f"{n} {kind}" for kind, n in report.skipped.items())
            raise DatasetError(
                f"{source}: strict mode: {skipped} record(s) rejected ({counts}); "
                f"first: {self._first_problem}"
            )
        if self.total == 0:
            raise DatasetError(f"{source}: no records found")
        if not self._samples:
            raise DatasetError(f"{source}: no usable samples ({report.summary()})")
        digest = hashlib.sha256()
        for record in sorted(self._records):
            digest.update(json.dumps(record, ensure_ascii=False).encode("utf-8", "surrogatepass"))
            digest.update(b"\n")
        return Dataset(
            name=name,
            format=fmt,
            root=self.root,
            source=source,
            samples=self._samples,
            report=report,
            content_hash=digest.hexdigest(),
            strip_metadata=strip_metadata,
        )
