"""Dataset loaders: every format, every bad-record kind, strict mode, the geotagged folder."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from gre.eval.datasets import (
    GREVAL_CATEGORIES,
    DatasetError,
    Sample,
    agent_copy,
    load_dataset,
    normalize_category,
)
from gre.tools.exif import read_exif

EXIF_TRUTH = {  # ../shared/data/MANIFEST.md
    "exifsamples_arezzo_DSCN0010.jpg": (43.4674483, 11.8851267),
    "exifsamples_arezzo_DSCN0025.jpg": (43.468365, 11.881635),
    "immich_thompson-springs.jpg": (39.115, -108.4009683),
    "exifsamples_madrid_HMD_Nokia_8.3_5G_hdr.heif": (40.6629935, -3.7637405),
    "mei_angel_of_the_north_FujiFilm_FinePixS1Pro_4.jpg": (54.9135, -1.5888333),
}


def _touch(path: Path, data: bytes = b"\xff\xd8\xff fake jpeg") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _png_bytes(color: tuple[int, int, int] = (10, 200, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), color).save(buffer, format="PNG")
    return buffer.getvalue()


def _jsonl(path: Path, records: list[Any]) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _rec(sid: str, image: str, lat: Any = 48.85, lon: Any = 2.35, **extra: Any) -> dict[str, Any]:
    return {"sample_id": sid, "image_path": image, "gt_cot": "think", "gt_lat": lat,
            "gt_lon": lon, **extra}  # fmt: skip


def _csv(path: Path, header: list[str], rows: list[list[Any]], delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


# --- GREval-Bench ---------------------------------------------------------------------


def test_greval_jsonl_loads_with_categories(tmp_path: Path) -> None:
    bench = tmp_path / "bench"
    _touch(bench / "img" / "a.jpg")
    _touch(bench / "img" / "b.jpg")
    _touch(bench / "outdoor" / "road_traffic" / "c.jpg")
    _touch(bench / "img" / "d.jpg")
    path = _jsonl(
        bench / "greval.jsonl",
        [
            _rec("a", "img/a.jpg", 41.9, 12.5, category="Natural"),
            _rec("b", "img/b.jpg", "-33.9", "151.2", scene="Indoor/Offices"),
            _rec("c", "outdoor/road_traffic/c.jpg"),
            _rec("d", "img/d.jpg", type="beach"),
        ],
    )
    ds = load_dataset(path)
    assert ds.format == "greval" and ds.name == "greval" and not ds.strip_metadata
    assert ds.root == bench.resolve()
    assert [s.id for s in ds.samples] == ["a", "b", "c", "d"]
    a, b, c, d = ds.samples
    assert a.image == (bench / "img" / "a.jpg").resolve() and a.image.is_absolute()
    assert (a.lat, a.lon, a.category) == (41.9, 12.5, "natural")
    assert (b.lat, b.lon, b.category) == (-33.9, 151.2, "offices")
    assert c.category == "road_traffic"  # from the category-named folder
    assert d.category == "beach"  # unknown: kept raw, and reported
    assert ds.report.unknown_categories == {"beach": 1}
    assert "unknown category" in ds.report.summary()
    assert a.metadata == {"gt_cot": "think"}
    assert ds.report.total == ds.report.loaded == 4 and ds.report.skipped == {}
    assert ds.header()["size"] == 4 and ds.header()["content_hash"] == ds.content_hash


@pytest.mark.parametrize("wrap", [False, True])
def test_greval_json_array_or_object(tmp_path: Path, wrap: bool) -> None:
    _touch(tmp_path / "x.jpg")
    records = [_rec("x", "x.jpg"), _rec("y", "x.jpg", 1, 2)]
    data: Any = {"version": 1, "data": records} if wrap else records
    (tmp_path / "bench.json").write_text(json.dumps(data), encoding="utf-8")
    ds = load_dataset(tmp_path / "bench.json")
    assert ds.format == "greval" and [s.id for s in ds.samples] == ["x", "y"]
    assert ds.samples[1].image == ds.samples[0].image


def test_greval_absolute_path_inside_root_is_fine(tmp_path: Path) -> None:
    image = _touch(tmp_path / "sub" / "a.jpg")
    ds = load_dataset(_jsonl(tmp_path / "b.jsonl", [_rec("a", str(image.resolve()))]))
    assert ds.samples[0].image == image.resolve()


def _bad_greval(tmp_path: Path) -> Path:
    root = tmp_path / "bench"
    _touch(root / "ok.jpg")
    outside = _touch(tmp_path / "outside.jpg")
    (root / "link.jpg").symlink_to(outside)
    (root / "inner_link.jpg").symlink_to(root / "ok.jpg")
    records: list[Any] = [
        _rec("ok", "ok.jpg"),
        _rec("dotdot", "../outside.jpg"),
        _rec("dotdot2", "sub/../../outside.jpg"),
        _rec("absolute", str(outside)),
        _rec("symlink", "link.jpg"),
        _rec("inner", "inner_link.jpg"),  # a symlink inside the root is fine
        _rec("missing", "nope.jpg"),
        _rec("ok", "ok.jpg", 10, 10),  # duplicate id
        _rec("text", "ok.jpg", "abc", 2),
        _rec("none", "ok.jpg", None, 2),
        _rec("nan", "ok.jpg", "nan", 2),
        _rec("inf", "ok.jpg", 1, float("inf")),
        _rec("huge", "ok.jpg", "1e400", 2),
        _rec("lat91", "ok.jpg", 91, 2),
        _rec("lon-181", "ok.jpg", 1, -181.5),
        _rec("bool", "ok.jpg", True, 2),
        _rec("comma", "ok.jpg", "12,5", 2),
        _rec("empty", "ok.jpg", "", 2),
        '{"sample_id": "torn", "image_path": ',  # malformed JSON line
        [1, 2, 3],  # not an object
        {"sample_id": "nokeys", "image_path": "ok.jpg"},  # missing gt_lat/gt_lon
        _rec("", "ok.jpg"),  # empty id
        _rec("noimage", ""),
    ]
    return _jsonl(root / "bench.jsonl", records)


def test_greval_bad_records_are_skipped_and_reported(tmp_path: Path) -> None:
    ds = load_dataset(_bad_greval(tmp_path), format="greval")
    assert [s.id for s in ds.samples] == ["ok", "inner"]
    assert ds.samples[0].lat == 48.85  # the first "ok" wins
    report = ds.report
    assert report.total == 23 and report.loaded == 2
    assert report.skipped == {
        "escapes_root": 4,
        "missing_image": 1,
        "duplicate_id": 1,
        "bad_coordinates": 10,
        "bad_record": 5,
    }
    assert sum(report.skipped.values()) + report.loaded == report.total
    assert len(report.examples["bad_coordinates"]) == 5  # first five only
    assert report.examples["escapes_root"][0].startswith("line 2: id 'dotdot'")
    assert "line 19" in report.examples["bad_record"][0]
    assert "malformed JSON" in report.examples["bad_record"][0]
    assert report.examples["missing_image"] == ["line 7: id 'missing': image 'nope.jpg' not found"]
    summary = report.summary()
    assert "\n" not in summary and summary.startswith("loaded 2 of 23 records; skipped 4 escapes")


def test_strict_mode_is_fatal_with_count_and_first_example(tmp_path: Path) -> None:
    path = _bad_greval(tmp_path)
    with pytest.raises(DatasetError, match=r"strict mode: 21 record\(s\) rejected") as err:
        load_dataset(path, strict=True)
    message = str(err.value)
    assert "\n" not in message and "first: line 2: id 'dotdot'" in message
    clean = _jsonl(tmp_path / "bench" / "clean.jsonl", [_rec("ok", "ok.jpg")])
    assert load_dataset(clean, strict=True).report.loaded == 1


def test_greval_images_folder_override(tmp_path: Path) -> None:
    _touch(tmp_path / "pics" / "a.jpg")
    (tmp_path / "meta").mkdir()
    table = _jsonl(tmp_path / "meta" / "b.jsonl", [_rec("a", "a.jpg")])
    ds = load_dataset(table, images=tmp_path / "pics")
    assert ds.root == (tmp_path / "pics").resolve() and ds.report.loaded == 1


# --- CSV (Im2GPS3k / YFCC4k) and OSV-5M -----------------------------------------------


def test_im2gps_csv_with_images_subfolder(tmp_path: Path) -> None:
    _touch(tmp_path / "images" / "1_abc.jpg")
    _touch(tmp_path / "images" / "2_def.png")
    _touch(tmp_path / "images" / "3_ghi")
    table = _csv(
        tmp_path / "im2gps3k_places365.csv",
        ["IMG_ID", "AUTHOR", "LAT", "LON", "S3_Label"],
        [["1_abc.jpg", "alice", 40.7, -74.0, 1], ["2_def", "bob", -22.9, -43.2, 0],
         ["3_ghi", "", 35.6, 139.7, 2]],
    )  # fmt: skip
    ds = load_dataset(table)
    assert ds.format == "csv" and ds.root == (tmp_path / "images").resolve()
    by_id = {s.id: s for s in ds.samples}
    assert by_id["1_abc.jpg"].image.name == "1_abc.jpg"
    assert by_id["2_def"].image.name == "2_def.png"  # extension tried
    assert by_id["3_ghi"].image.name == "3_ghi"  # as given
    assert by_id["1_abc.jpg"].metadata == {"AUTHOR": "alice", "S3_Label": "1"}
    assert by_id["3_ghi"].metadata == {"S3_Label": "2"}
    assert (by_id["2_def"].lat, by_id["2_def"].lon) == (-22.9, -43.2)


@pytest.mark.parametrize(
    ("header", "delimiter"),
    [
        (["img_id", "lat", "lng"], ","),
        (["filename", "Latitude", "Longitude"], ","),
        (["image", "LAT", "lon"], ";"),
        (["Id", "latitude", "long"], "\t"),
        (["file_name", "gt_lat", "gt_lon"], "|"),
    ],
)
def test_csv_column_variants(tmp_path: Path, header: list[str], delimiter: str) -> None:
    _touch(tmp_path / "p1.jpg")
    table = _csv(tmp_path / "t.csv", header, [["p1", "51.5", "-0.12"]], delimiter)
    ds = load_dataset(table)
    assert ds.format == "csv" and ds.root == tmp_path.resolve()
    assert (ds.samples[0].id, ds.samples[0].lat, ds.samples[0].lon) == ("p1", 51.5, -0.12)


def test_csv_explicit_columns(tmp_path: Path) -> None:
    _touch(tmp_path / "imgs" / "p1.webp")
    table = _csv(tmp_path / "t.csv", ["photo", "y", "x", "kind"], [["p1", "1.5", "2.5", "urban"]])
    with pytest.raises(DatasetError, match=r"no id column found.*id_col"):
        load_dataset(table)
    with pytest.raises(DatasetError, match="no latitude column 'nope'"):
        load_dataset(table, id_col="photo", lat_col="nope", lon_col="x")
    ds = load_dataset(
        table, images=tmp_path / "imgs", id_col="PHOTO", lat_col="y", lon_col="x",
        category_col="kind",
    )  # fmt: skip
    sample = ds.samples[0]
    assert (sample.lat, sample.lon, sample.category) == (1.5, 2.5, "urban")
    assert sample.image == (tmp_path / "imgs" / "p1.webp").resolve()


def test_csv_bad_records(tmp_path: Path) -> None:
    _touch(tmp_path / "images" / "a.jpg")
    _touch(tmp_path / "secret.jpg")
    (tmp_path / "images" / "ln.jpg").symlink_to(tmp_path / "secret.jpg")
    table = _csv(
        tmp_path / "t.csv",
        ["IMG_ID", "LAT", "LON"],
        [
            ["a.jpg", 1, 2],
            ["a.jpg", 3, 4],  # duplicate
            ["../secret.jpg", 1, 2],  # escapes
            [str(tmp_path / "secret.jpg"), 1, 2],  # absolute outside
            ["ln.jpg", 1, 2],  # symlink out
            ["gone", 1, 2],  # missing
            ["b.jpg", "north", 2],
            ["c.jpg", 100, 2],
            ["d.jpg", "NaN", "1"],
            ["e.jpg", 1],  # short row
        ],
    )
    ds = load_dataset(table)
    assert [s.id for s in ds.samples] == ["a.jpg"] and ds.samples[0].lat == 1.0
    assert ds.report.skipped == {
        "escapes_root": 3,
        "missing_image": 1,
        "duplicate_id": 1,
        "bad_coordinates": 3,
        "bad_record": 1,
    }
    assert ds.report.examples["duplicate_id"] == ["line 3: id 'a.jpg' already used"]
    assert ds.report.examples["bad_record"] == ["line 11: 2 fields, header has 3"]
    with pytest.raises(DatasetError, match="strict mode: 9 record"):
        load_dataset(table, strict=True)


def _osv_rows(shared_data: Path, n: int) -> tuple[list[str], list[list[str]]]:
    with (shared_data / "benchmarks" / "osv5m_game_select.csv").open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        return header, [next(reader) for _ in range(n)]


def test_osv5m_csv(tmp_path: Path, shared_data: Path) -> None:
    header, rows = _osv_rows(shared_data, 4)
    ids = [row[header.index("id")] for row in rows]
    for sid in ids[:3]:
        _touch(tmp_path / "images" / f"{sid}.jpg")
    table = _csv(tmp_path / "select.csv", header, rows)
    ds = load_dataset(table)
    assert ds.format == "osv5m"
    assert [s.id for s in ds.samples] == ids[:3]
    assert ds.report.skipped == {"missing_image": 1}
    first = ds.samples[0]
    assert first.image == (tmp_path / "images" / f"{ids[0]}.jpg").resolve()
    assert first.lat == float(rows[0][header.index("true_lat")])
    assert first.lon == float(rows[0][header.index("true_lon")])
    assert first.metadata["country"] == rows[0][header.index("country")]
    assert not any(key.startswith("Unnamed") for key in first.metadata)


def test_osv5m_original_header_and_numbered_subfolders(tmp_path: Path) -> None:
    header = ["id", "latitude", "longitude", "thumb_original_url", "country", "sequence"]
    table = _csv(tmp_path / "test.csv", header, [["111", "45.1", "7.6", "", "IT", "s1"]])
    _touch(tmp_path / "images" / "test" / "00" / "111.jpg")
    ds = load_dataset(table)
    assert ds.format == "osv5m" and ds.root == (tmp_path / "images" / "test").resolve()
    assert ds.samples[0].image == (tmp_path / "images" / "test" / "00" / "111.jpg").resolve()
    assert ds.samples[0].metadata == {"country": "IT", "sequence": "s1"}
    plain = _csv(tmp_path / "plain.csv", ["id", "latitude", "longitude"], [["111", 1, 2]])
    assert load_dataset(plain, images=tmp_path / "images" / "test" / "00").format == "csv"


def test_csv_twenty_thousand_rows(tmp_path: Path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    rows = []
    for i in range(20_000):
        (images / f"{i:05d}.jpg").touch()
        rows.append([f"{i:05d}.jpg", f"{(i % 170) - 85}.25", f"{(i % 350) - 175}.5"])
    ds = load_dataset(_csv(tmp_path / "big.csv", ["IMG_ID", "LAT", "LON"], rows))
    assert ds.report.loaded == 20_000 and ds.report.skipped == {}
    assert ds.samples[-1].image == (images / "19999.jpg").resolve()


# --- hashes ----------------------------------------------------------------------------


def _hash_dataset(folder: Path, lat: str = "10.5") -> Path:
    _touch(folder / "images" / "a.jpg")
    _touch(folder / "images" / "b.jpg", b"other bytes")
    return _csv(folder / "t.csv", ["IMG_ID", "LAT", "LON"], [["a.jpg", lat, 1], ["b.jpg", 2, 3]])


def test_content_hash_stable_and_sensitive(tmp_path: Path) -> None:
    first = load_dataset(_hash_dataset(tmp_path / "one"))
    assert load_dataset(tmp_path / "one" / "t.csv").content_hash == first.content_hash
    moved = load_dataset(_hash_dataset(tmp_path / "elsewhere" / "two"))  # another location
    assert moved.content_hash == first.content_hash
    changed = load_dataset(_hash_dataset(tmp_path / "three", lat="10.500001"))
    assert changed.content_hash != first.content_hash
    assert first.image_hash() == moved.image_hash()
    (tmp_path / "three" / "images" / "b.jpg").write_bytes(b"changed")
    assert load_dataset(tmp_path / "three" / "t.csv", format="csv").image_hash() != (
        first.image_hash()
    )


# --- the user's own geotagged photos ---------------------------------------------------


def test_geotagged_folder_truth_from_exif(shared_data: Path) -> None:
    ds = load_dataset(shared_data / "images" / "exif")
    assert ds.format == "folder" and ds.strip_metadata
    assert ds.report.loaded == ds.report.total == 5
    assert {s.id for s in ds.samples} == set(EXIF_TRUTH)
    for sample in ds.samples:
        lat, lon = EXIF_TRUTH[sample.id]
        assert sample.lat == pytest.approx(lat, abs=1e-5)
        assert sample.lon == pytest.approx(lon, abs=1e-5)
        assert sample.image.is_absolute() and sample.image.is_file()


def _assert_metadata_free(path: Path) -> None:
    data = path.read_bytes()
    for marker in (b"Exif\x00\x00", b"eXIf", b"GPS", b"ns.adobe.com/xap", b"x:xmpmeta", b"tEXt"):
        assert marker not in data, marker
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert len(image.getexif()) == 0
        assert not image.getexif().get_ifd(0x8825)  # no GPS IFD
        assert not {"exif", "xmp", "XML:com.adobe.xmp"} & set(image.info)
    exif = read_exif(path)
    assert exif.gps is None and not exif.tags and exif.taken_at is None


def test_agent_copy_has_no_metadata(shared_data: Path, tmp_path: Path) -> None:
    ds = load_dataset(shared_data / "images" / "exif")
    names = set()
    for sample in ds.samples:
        assert read_exif(sample.image).gps is not None  # the original does carry GPS
        copy = agent_copy(sample, tmp_path / "work")
        names.add(copy.name)
        assert copy.parent == tmp_path / "work"
        assert Path(sample.id).stem not in copy.name  # file names may name places
        _assert_metadata_free(copy)
        with Image.open(copy) as image:
            assert image.size[0] >= 100 and image.size[1] >= 100
    assert len(names) == 5


def test_folder_reports_no_gps_and_unreadable(tmp_path: Path, shared_data: Path) -> None:
    src = shared_data / "images" / "exif" / "exifsamples_arezzo_DSCN0010.jpg"
    root = tmp_path / "photos"
    (root / "trip").mkdir(parents=True)
    shutil.copyfile(src, root / "trip" / "arezzo.JPG")
    Image.new("RGB", (8, 8)).save(root / "plain.png")
    _touch(root / "broken.jpg", b"not an image")
    _touch(root / ".hidden.jpg")
    _touch(root / "notes.txt", b"hello")
    (root / "outside.jpg").symlink_to(src)
    ds = load_dataset(root)
    assert ds.format == "folder" and [s.id for s in ds.samples] == ["trip/arezzo.JPG"]
    assert ds.samples[0].lat == pytest.approx(43.4674483, abs=1e-5)
    assert ds.report.total == 4
    assert ds.report.skipped == {"escapes_root": 1, "bad_record": 1, "no_gps": 1}
    assert ds.report.examples["no_gps"] == ["plain.png: no GPS position in EXIF or XMP"]
    with pytest.raises(DatasetError, match="strict mode"):
        load_dataset(root, strict=True)


# --- Hugging Face save_to_disk ---------------------------------------------------------


def _fake_datasets(monkeypatch: pytest.MonkeyPatch, data: Any) -> list[str]:
    calls: list[str] = []

    def load_from_disk(path: str) -> Any:
        calls.append(path)
        return data

    module = types.ModuleType("datasets")
    module.load_from_disk = load_from_disk  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "datasets", module)
    return calls


def _hf_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "hf_bench"
    _touch(folder / "dataset_info.json", b"{}")
    _touch(folder / "state.json", b"{}")
    _touch(folder / "files" / "p.jpg")
    return folder


def test_hf_save_to_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _hf_folder(tmp_path)
    rows = [
        {"sample_id": "p", "image": "files/p.jpg", "gt_lat": 1.0, "gt_lon": 2.0, "gt_cot": "c",
         "category": "Medical"},
        {"sample_id": "b", "image": {"bytes": _png_bytes(), "path": None}, "gt_lat": 3.0,
         "gt_lon": 4.0},
        {"sample_id": "pil", "image": Image.new("RGB", (4, 4), (1, 2, 3)), "gt_lat": 5.0,
         "gt_lon": 6.0},
        {"sample_id": "out", "image": "../../x.jpg", "gt_lat": 5.0, "gt_lon": 6.0},
        {"sample_id": "junk", "image": b"not an image", "gt_lat": 5.0, "gt_lon": 6.0},
        {"sample_id": "p", "image": "files/p.jpg", "gt_lat": 1.0, "gt_lon": 2.0},
    ]  # fmt: skip
    calls = _fake_datasets(monkeypatch, rows)
    cache = tmp_path / "cache"
    ds = load_dataset(folder, cache_dir=cache)
    assert calls == [str(folder.resolve())]
    assert ds.format == "hf" and ds.root == folder.resolve()
    assert [s.id for s in ds.samples] == ["p", "b", "pil"]
    p, b, pil = ds.samples
    assert p.image == (folder / "files" / "p.jpg").resolve()
    assert (p.category, p.metadata) == ("medical", {"gt_cot": "c"})
    assert b.image.is_relative_to(cache) and b.image.read_bytes() == _png_bytes()
    with Image.open(pil.image) as image:
        assert image.getpixel((0, 0)) == (1, 2, 3)
    assert ds.report.skipped == {"escapes_root": 1, "duplicate_id": 1, "bad_record": 1}
    again = load_dataset(folder, format="hf", cache_dir=tmp_path / "other-cache")
    assert again.content_hash == ds.content_hash  # embedded images hash by content


def test_hf_dataset_dict_takes_test_split(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _hf_folder(tmp_path)
    row = {"id": 7, "image_path": "files/p.jpg", "latitude": 1.0, "longitude": 2.0}
    _fake_datasets(monkeypatch, {"train": [], "test": [row]})
    ds = load_dataset(folder, cache_dir=tmp_path / "c")
    assert [s.id for s in ds.samples] == ["7"]
    _fake_datasets(monkeypatch, {"a": [row], "b": [row]})
    with pytest.raises(DatasetError, match="several splits"):
        load_dataset(folder, cache_dir=tmp_path / "c")


def test_hf_without_datasets_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "datasets", None)  # import fails
    with pytest.raises(DatasetError, match="install `datasets`"):
        load_dataset(_hf_folder(tmp_path))


# --- detection and fatal errors --------------------------------------------------------


def test_fatal_errors_are_one_line(tmp_path: Path) -> None:
    cases: list[tuple[Path, str, dict[str, Any]]] = []
    cases.append((tmp_path / "nope.csv", "no such file or folder", {}))
    _touch(tmp_path / "data.parquet")
    cases.append((tmp_path / "data.parquet", "unknown dataset format", {}))
    _jsonl(tmp_path / "other.jsonl", [{"id": 1, "lat": 2}])
    cases.append((tmp_path / "other.jsonl", "records need sample_id, image_path", {}))
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    cases.append((tmp_path / "broken.json", "not valid JSON", {}))
    _csv(tmp_path / "empty.csv", ["IMG_ID", "LAT", "LON"], [])
    cases.append((tmp_path / "empty.csv", "no records found", {}))
    _csv(tmp_path / "allbad.csv", ["IMG_ID", "LAT", "LON"], [["zzz", 1, 2]])
    cases.append((tmp_path / "allbad.csv", r"no usable samples \(loaded 0 of 1", {}))
    cases.append((tmp_path / "allbad.csv", "format 'folder' needs a folder", {"format": "folder"}))
    cases.append((tmp_path, "format 'csv' needs a file", {"format": "csv"}))
    cases.append((tmp_path / "allbad.csv", "images folder not found", {"images": tmp_path / "x"}))
    (tmp_path / "latin.csv").write_bytes(b"IMG_ID,LAT,LON\n\xe9t\xe9,1,2\n")
    cases.append((tmp_path / "latin.csv", "not UTF-8", {}))
    for path, pattern, kwargs in cases:
        with pytest.raises(DatasetError, match=pattern) as err:
            load_dataset(path, **kwargs)
        assert "\n" not in str(err.value)


def test_empty_folder_is_fatal(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    with pytest.raises(DatasetError, match="no records found"):
        load_dataset(tmp_path / "photos")


def test_normalize_category() -> None:
    assert len(GREVAL_CATEGORIES) == 11
    assert normalize_category("Artificial Landscape") == "artificial_landscape"
    assert normalize_category("outdoor/Road-Traffic") == "road_traffic"
    assert normalize_category(" Indoor: Transportation ") == "transport"
    assert normalize_category("office") == "offices"
    assert normalize_category("Entertainment") == "entertainment"
    assert normalize_category("beach") is None
    assert all(normalize_category(name) == name for name in GREVAL_CATEGORIES)


def test_sample_model_round_trip(tmp_path: Path) -> None:
    sample = Sample(id="x", image=tmp_path / "x.jpg", lat=1, lon=2)
    assert sample.category is None and sample.metadata == {}
    assert Sample.model_validate_json(sample.model_dump_json()) == sample
    assert os.path.isabs(sample.image)
