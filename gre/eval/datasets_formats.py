"""Readers for each dataset format; each feeds records through a :class:`RecordBuilder`.

CSV and JSON Lines are streamed; images are only checked for existence (the folder
reader opens each photo's header for its EXIF, never its pixels).
"""

from __future__ import annotations

import csv
import hashlib
import importlib
import io
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from PIL import Image

from gre.eval.datasets_base import DatasetError, RecordBuilder, normalize_category, one_line
from gre.tools.base import ToolError
from gre.tools.exif import read_exif

GREVAL_KEYS = ("sample_id", "image_path", "gt_lat", "gt_lon")
HF_MARKERS = ("dataset_info.json", "state.json", "dataset_dict.json")
FOLDER_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".heic", ".heif"})
CSV_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".heic", ".JPG", ".JPEG", ".PNG")

ID_VARIANTS = ("img_id", "image_id", "id", "image", "img", "filename", "file_name", "file")
LAT_VARIANTS = ("lat", "latitude", "gt_lat", "true_lat")
LON_VARIANTS = ("lon", "lng", "long", "longitude", "gt_lon", "true_lon")
OSV5M_LAT = ("latitude", "true_lat")
OSV5M_LON = ("longitude", "true_lon")
_OSV5M_MARKERS = frozenset(
    {"thumb_original_url", "sequence", "captured_at", "quadtree_10_1000", "unique_country"}
)
CATEGORY_KEYS = ("category", "scene", "scene_category", "scene_type", "type", "class")
_HF_ID = ("sample_id", "id", "img_id", "image_id")
_HF_IMAGE = ("image", "image_path", "img", "file_name", "filename", "path", "filepath")
_JSON_LIST_KEYS = ("data", "samples", "records", "annotations", "items")


class _Malformed:
    """A JSON Lines line that is not JSON."""

    def __init__(self, detail: str) -> None:
        self.detail = detail


def _read_error(path: Path, exc: OSError) -> DatasetError:
    return DatasetError(f"{path}: cannot read ({exc.strerror or one_line(exc)})")


MAX_INT_DIGITS = 4000
"""Longer integers are read as floats (inf): Python refuses to convert them to int."""


def _parse_int(text: str) -> int | float:
    return int(text) if len(text) <= MAX_INT_DIGITS else float(text)


def loads(text: str) -> Any:
    """JSON with very long integers read as floats; RecursionError when nested too deeply."""
    return json.loads(text, parse_int=_parse_int)


# --- GREval-Bench (JSON / JSON Lines) -------------------------------------------------


def _jsonl_records(path: Path) -> Iterator[tuple[str, Any]]:
    try:
        with path.open(encoding="utf-8-sig") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    record = loads(line)
                except json.JSONDecodeError as exc:
                    record = _Malformed(f"malformed JSON ({exc.msg})")
                except RecursionError:
                    record = _Malformed("JSON nested too deeply")
                except ValueError as exc:
                    record = _Malformed(f"malformed JSON ({one_line(exc)})")
                yield f"line {number}", record
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise _read_error(path, exc) from None


def json_records(path: Path) -> Iterator[tuple[str, Any]]:
    """(where, record) pairs from a JSON array, an object holding one, or JSON Lines."""
    if path.suffix.lower() != ".json":
        yield from _jsonl_records(path)
        return
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise _read_error(path, exc) from None
    try:
        data = loads(text)
    except RecursionError:
        raise DatasetError(f"{path}: JSON nested too deeply") from None
    except json.JSONDecodeError as exc:
        first = next((line for line in text.splitlines() if line.strip()), "")
        try:
            loads(first)
        except (ValueError, RecursionError):
            raise DatasetError(
                f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
            ) from None
        yield from _jsonl_records(path)  # a .json file holding JSON Lines
        return
    except ValueError as exc:
        raise DatasetError(f"{path}: not valid JSON ({one_line(exc)})") from None
    if isinstance(data, dict):
        lists = [data[k] for k in _JSON_LIST_KEYS if isinstance(data.get(k), list)]
        if not lists:
            lists = [v for v in data.values() if isinstance(v, list)]
        if len(lists) == 1:
            data = lists[0]
        elif "image_path" in data:
            data = [data]
        else:
            raise DatasetError(f"{path}: JSON object with no single list of records")
    if not isinstance(data, list):
        raise DatasetError(f"{path}: JSON is neither a list of records nor JSON Lines")
    for index, record in enumerate(data):
        yield f"record {index}", record


def first_json_record(path: Path) -> Any:
    """The first parseable record (None when there is none among the first 20)."""
    for count, (_, record) in enumerate(json_records(path)):
        if not isinstance(record, _Malformed):
            return record
        if count >= 20:
            break
    return None


def greval_category(
    record: Mapping[str, Any], key: str | None, image_ref: str, builder: RecordBuilder
) -> str | None:
    """The record's scene category, normalised; else a category-named folder in its path."""
    for name in (key,) if key else CATEGORY_KEYS:
        value = record.get(name)
        if isinstance(value, str) and value.strip():
            canonical = normalize_category(value)
            if canonical is None:
                builder.note_unknown_category(value.strip())
                return value.strip()
            return canonical
    for part in reversed(PurePosixPath(image_ref.replace("\\", "/")).parts[:-1]):
        canonical = normalize_category(part)
        if canonical is not None:
            return canonical
    return None


def load_greval(
    path: Path,
    builder: RecordBuilder,
    *,
    base: Path,
    id_key: str,
    lat_key: str,
    lon_key: str,
    category_key: str | None,
) -> None:
    """GREval-Bench records ``{sample_id, image_path, gt_cot, gt_lat, gt_lon}``."""
    used = {id_key, "image_path", lat_key, lon_key}
    if category_key:
        used.add(category_key)
    for where, record in json_records(path):
        builder.total += 1
        if isinstance(record, _Malformed):
            builder.skip("bad_record", where, record.detail)
            continue
        if not isinstance(record, dict):
            builder.skip("bad_record", where, "record is not a JSON object")
            continue
        missing = [k for k in (id_key, "image_path", lat_key, lon_key) if k not in record]
        if missing:
            builder.skip("bad_record", where, "missing " + ", ".join(missing))
            continue
        sample_id = builder.take_id(where, record[id_key])
        if sample_id is None:
            continue
        coords = builder.take_coordinates(where, sample_id, record[lat_key], record[lon_key])
        if coords is None:
            continue
        ref = record["image_path"]
        if not isinstance(ref, str) or not ref.strip():
            builder.skip("bad_record", where, f"id {sample_id!r}: image_path is not a path")
            continue
        image = builder.take_image(where, sample_id, base, [ref.strip()])
        if image is None:
            continue
        category = greval_category(record, category_key, ref, builder)
        metadata = {k: v for k, v in record.items() if k not in used and k not in CATEGORY_KEYS}
        builder.add(sample_id, image, *coords, category=category, metadata=metadata)


# --- CSV: Im2GPS3k / YFCC4k style, and OSV-5M -----------------------------------------


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def csv_header(path: Path) -> list[str]:
    """The header row of a CSV file, names stripped."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            first = fh.readline()
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise _read_error(path, exc) from None
    row = next(csv.reader([first], delimiter=_delimiter(first)), [])
    return [name.strip() for name in row]


def is_osv5m_header(header: list[str]) -> bool:
    """OSV-5M metadata: ``id`` with ``latitude/longitude`` and OSV columns, or ``true_lat/lon``."""
    names = set(header)
    if "id" not in names:
        return False
    if {"true_lat", "true_lon"} <= names:
        return True
    return {"latitude", "longitude"} <= names and bool(_OSV5M_MARKERS & names)


def pick_column(
    path: Path, header: list[str], explicit: str | None, variants: tuple[str, ...], what: str
) -> int | None:
    """Index of the ``explicit`` column (exact, then any case) or of the first variant found."""
    folded = [name.casefold() for name in header]
    if explicit:
        if explicit in header:
            return header.index(explicit)
        if explicit.casefold() in folded:
            return folded.index(explicit.casefold())
        raise DatasetError(
            f"{path}: no {what} column {explicit!r} (columns: {', '.join(header[:30])})"
        )
    for variant in variants:
        if variant in folded:
            return folded.index(variant)
    return None


def _required(
    path: Path, header: list[str], explicit: str | None, variants: tuple[str, ...], what: str
) -> int:
    index = pick_column(path, header, explicit, variants, what)
    if index is None:
        raise DatasetError(
            f"{path}: no {what} column found (columns: {', '.join(header[:30])}); "
            f"name it with {what[:3]}_col"
        )
    return index


def load_csv(
    path: Path,
    builder: RecordBuilder,
    *,
    images: Path,
    osv5m: bool,
    id_col: str | None,
    lat_col: str | None,
    lon_col: str | None,
    category_col: str | None,
) -> None:
    """One record per row; the image is ``<images>/<id>`` (OSV-5M: ``<images>/<id>.jpg``)."""
    header = csv_header(path)
    id_i = _required(path, header, id_col, ("id",) if osv5m else ID_VARIANTS, "id")
    lat_i = _required(path, header, lat_col, OSV5M_LAT if osv5m else LAT_VARIANTS, "latitude")
    lon_i = _required(path, header, lon_col, OSV5M_LON if osv5m else LON_VARIANTS, "longitude")
    cat_i = pick_column(path, header, category_col, (), "category")
    used = {id_i, lat_i, lon_i, cat_i}
    extra = [
        (i, name)
        for i, name in enumerate(header)
        if i not in used and name and not name.startswith("Unnamed:")
    ]
    need = max(id_i, lat_i, lon_i) + 1
    subfolders: dict[str, str] | None = None
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh, delimiter=_delimiter(fh.readline()))
            for row in reader:
                where = f"line {reader.line_num + 1}"  # the header was read before
                if not any(cell.strip() for cell in row):
                    continue
                builder.total += 1
                if len(row) < need:
                    builder.skip(
                        "bad_record", where, f"{len(row)} fields, header has {len(header)}"
                    )
                    continue
                sample_id = builder.take_id(where, row[id_i])
                if sample_id is None:
                    continue
                coords = builder.take_coordinates(where, sample_id, row[lat_i], row[lon_i])
                if coords is None:
                    continue
                if osv5m:
                    refs = [f"{sample_id}.jpg"]
                    image, _ = builder.resolver.find(images, refs)
                    if image is None:  # the zips of OSV-5M unpack into numbered subfolders
                        if subfolders is None:
                            subfolders = _subfolder_index(images)
                        sub = subfolders.get(refs[0])
                        if sub is not None:
                            refs.insert(0, f"{sub}/{refs[0]}")
                        image = builder.take_image(where, sample_id, images, refs)
                elif os.path.splitext(sample_id)[1].lower() in CSV_IMAGE_SUFFIXES:
                    image = builder.take_image(where, sample_id, images, [sample_id])
                else:
                    refs = [sample_id, *(sample_id + s for s in CSV_IMAGE_SUFFIXES)]
                    image = builder.take_image(where, sample_id, images, refs)
                if image is None:
                    continue
                category = None
                if cat_i is not None and cat_i < len(row) and row[cat_i].strip():
                    category = row[cat_i].strip()
                metadata = {name: row[i] for i, name in extra if i < len(row) and row[i] != ""}
                builder.add(sample_id, image, *coords, category=category, metadata=metadata)
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: not UTF-8 text") from None
    except csv.Error as exc:
        raise DatasetError(f"{path}: malformed CSV ({one_line(exc)})") from None
    except OSError as exc:
        raise _read_error(path, exc) from None


def _subfolder_index(images: Path) -> dict[str, str]:
    """File name → immediate subfolder of ``images`` holding it."""
    index: dict[str, str] = {}
    try:
        subdirs = sorted(e.name for e in os.scandir(images) if e.is_dir(follow_symlinks=False))
        for sub in subdirs:
            with os.scandir(images / sub) as entries:
                for entry in entries:
                    index.setdefault(entry.name, sub)
    except OSError:
        pass
    return index


# --- a folder of the user's own geotagged photos --------------------------------------


def load_folder(root: Path, builder: RecordBuilder) -> None:
    """Every photo below ``root`` (hidden entries skipped); truth is its EXIF/XMP GPS fix."""
    for folder, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or Path(name).suffix.lower() not in FOLDER_SUFFIXES:
                continue
            rel = Path(folder, name).relative_to(root).as_posix()
            builder.total += 1
            sample_id = builder.take_id(rel, rel)
            if sample_id is None:
                continue
            image = builder.take_image(rel, sample_id, root, [rel])
            if image is None:
                continue
            try:
                exif = read_exif(image)
            except ToolError as exc:
                builder.skip("bad_record", rel, one_line(exc))
                continue
            if exif.gps is None:
                builder.skip("no_gps", rel, "no GPS position in EXIF or XMP")
                continue
            if exif.gps.status_void:
                builder.skip("no_gps", rel, "GPS status is void (no fix when taken)")
                continue
            coords = builder.take_coordinates(rel, sample_id, exif.gps.lat, exif.gps.lon)
            if coords is None:
                continue
            metadata: dict[str, Any] = {"gps_source": exif.gps.source}
            if exif.taken_at:
                metadata["taken_at"] = exif.taken_at
            builder.add(sample_id, image, *coords, metadata=metadata)


# --- Hugging Face `datasets` save_to_disk ---------------------------------------------


def _load_from_disk(path: Path) -> Any:
    hint = f"{path}: a Hugging Face `datasets` folder; install `datasets` to load it"
    try:
        module = importlib.import_module("datasets")
    except ImportError:
        raise DatasetError(hint) from None
    load = getattr(module, "load_from_disk", None)
    if not callable(load):
        raise DatasetError(hint)
    try:
        data = load(str(path))
    except Exception as exc:  # any failure inside `datasets` is one fatal line
        raise DatasetError(f"{path}: datasets.load_from_disk failed ({one_line(exc)})") from None
    if isinstance(data, Mapping):  # a DatasetDict: take the test split, or the only one
        splits = list(data)
        for split in ("test", "validation", "train"):
            if split in data and (split == "test" or len(splits) == 1):
                return data[split]
        if len(splits) == 1:
            return data[splits[0]]
        raise DatasetError(f"{path}: several splits ({', '.join(splits)}) and none named test")
    return data


def _pick_key(
    path: Path, keys: list[str], explicit: str | None, variants: tuple[str, ...]
) -> str | None:
    if explicit:
        if explicit not in keys:
            raise DatasetError(f"{path}: no column {explicit!r} (columns: {', '.join(keys)})")
        return explicit
    folded = {k.casefold(): k for k in keys}
    return next((folded[v] for v in variants if v in folded), None)


def _embedded_bytes(value: Any) -> bytes | None:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, Mapping) and isinstance(value.get("bytes"), (bytes, bytearray)):
        return bytes(value["bytes"])
    if isinstance(value, Image.Image):
        buffer = io.BytesIO()
        value.save(buffer, format="PNG")
        return buffer.getvalue()
    return None


def _write_embedded(data: bytes, cache: Path) -> tuple[Path, str] | None:
    """Store image bytes under their hash in ``cache``; None when they are not an image."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt = (image.format or "img").lower()
    except Exception:  # any decoder failure means "not an image"
        return None
    name = f"{hashlib.sha256(data).hexdigest()[:24]}.{'jpg' if fmt == 'jpeg' else fmt}"
    target = cache / name
    if not target.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(target.suffix + f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
    return target, f"@embedded/{name}"


def load_hf(
    path: Path,
    builder: RecordBuilder,
    *,
    cache: Path,
    id_col: str | None,
    lat_col: str | None,
    lon_col: str | None,
    category_col: str | None,
) -> None:
    """Rows of ``datasets.load_from_disk``; embedded images are written to ``cache``."""
    rows = iter(_load_from_disk(path))
    first = next(rows, None)
    if first is None:
        return
    keys = list(first)
    id_key = _pick_key(path, keys, id_col, _HF_ID)
    lat_key = _pick_key(path, keys, lat_col, LAT_VARIANTS)
    lon_key = _pick_key(path, keys, lon_col, LON_VARIANTS)
    image_key = _pick_key(path, keys, None, _HF_IMAGE)
    if lat_key is None or lon_key is None or image_key is None:
        raise DatasetError(
            f"{path}: needs image, latitude and longitude columns (columns: {', '.join(keys)})"
        )
    used = {id_key, lat_key, lon_key, image_key, category_col}
    for index, row in enumerate(_chain(first, rows)):
        where = f"row {index}"
        builder.total += 1
        if not isinstance(row, Mapping):
            builder.skip("bad_record", where, "row is not a mapping")
            continue
        sample_id = builder.take_id(where, row.get(id_key) if id_key else index)
        if sample_id is None:
            continue
        coords = builder.take_coordinates(where, sample_id, row.get(lat_key), row.get(lon_key))
        if coords is None:
            continue
        value = row.get(image_key)
        data = _embedded_bytes(value)
        relative = None
        if data is not None:
            written = _write_embedded(data, cache)
            if written is None:
                builder.skip("bad_record", where, f"id {sample_id!r}: embedded data is no image")
                continue
            image, relative = written
        else:
            ref = value.get("path") if isinstance(value, Mapping) else value
            if not isinstance(ref, str) or not ref.strip():
                builder.skip("bad_record", where, f"id {sample_id!r}: no image path or bytes")
                continue
            found = builder.take_image(where, sample_id, builder.root, [ref.strip()])
            if found is None:
                continue
            image = found
        category = greval_category(row, category_col, "", builder)
        metadata = {
            k: v
            for k, v in row.items()
            if k not in used and isinstance(v, (str, int, float, bool)) and k not in CATEGORY_KEYS
        }
        builder.add(
            sample_id, image, *coords, category=category, metadata=metadata, relative=relative
        )


def _chain(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield first
    yield from rest
