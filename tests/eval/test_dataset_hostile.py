"""Hostile dataset files: huge integers, deep nesting, lone surrogates, and a fuzz of every
loader: a dataset file either loads or raises DatasetError, nothing else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from typer.testing import CliRunner

from gre.cli import app
from gre.eval.datasets import DatasetError, load_dataset
from gre.eval.log import RunHeader, RunLog, SampleResult, scan_log

HUGE = "9" * 5000  # past Python's 4300-digit limit for int()


def _images(root: Path, n: int = 2) -> None:
    (root / "imgs").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.new("RGB", (8, 8), (i, 0, 0)).save(root / f"imgs/s{i}.jpg")


def _record(sample_id: str, lat: str = "10", lon: str = "20", image: str = "imgs/s1.jpg") -> str:
    return (
        f'{{"sample_id": {sample_id}, "image_path": "{image}", "gt_lat": {lat}, "gt_lon": {lon}}}'
    )


GOOD = _record('"s1"')


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
@pytest.mark.parametrize(
    ("bad", "kind"),
    [
        (_record('"s0"', lat=HUGE, image="imgs/s0.jpg"), "bad_coordinates"),
        (_record('"s0"', lon=f"-{HUGE}.5", image="imgs/s0.jpg"), "bad_coordinates"),
        (_record(HUGE, image="imgs/s0.jpg"), "bad_record"),
        (_record('"s\\ud800"', image="imgs/s0.jpg"), "bad_record"),
    ],
    ids=["huge-lat", "huge-float", "huge-id", "lone-surrogate-id"],
)
def test_huge_numbers_and_bad_ids_skip_their_record(
    tmp_path: Path, suffix: str, bad: str, kind: str
) -> None:
    _images(tmp_path)
    path = tmp_path / f"bench{suffix}"
    body = f"[{bad}, {GOOD}]" if suffix == ".json" else f"{bad}\n{GOOD}\n"
    path.write_text(body, encoding="utf-8")
    data = load_dataset(path)
    assert [s.id for s in data.samples] == ["s1"]
    assert data.report.skipped == {kind: 1}


def test_a_huge_number_in_a_csv_field_skips_its_row(tmp_path: Path) -> None:
    for i in range(3):
        Image.new("RGB", (8, 8)).save(tmp_path / f"p{i}.jpg")
    path = tmp_path / "bench.csv"
    path.write_text(
        f"IMG_ID,LAT,LON\np0.jpg,{HUGE},1\np1.jpg,1,-{HUGE}\np2.jpg,1,1\n", encoding="utf-8"
    )
    data = load_dataset(path)
    assert [s.id for s in data.samples] == ["p2.jpg"]
    assert data.report.skipped == {"bad_coordinates": 2}


def test_deep_nesting_is_one_error_in_json_and_a_skipped_line_in_jsonl(tmp_path: Path) -> None:
    _images(tmp_path)
    deep = "[" * 100_000 + "]" * 100_000
    whole = tmp_path / "deep.json"
    whole.write_text(f'[{{"sample_id": "s0", "x": {deep}}}, {GOOD}]', encoding="utf-8")
    with pytest.raises(DatasetError, match="nested too deeply") as info:
        load_dataset(whole)
    assert "\n" not in str(info.value)
    lines = tmp_path / "deep.jsonl"
    lines.write_text(f'{{"sample_id": "s0", "x": {deep}}}\n{GOOD}\n', encoding="utf-8")
    data = load_dataset(lines)
    assert [s.id for s in data.samples] == ["s1"] and data.report.skipped == {"bad_record": 1}
    assert "nested too deeply" in data.report.examples["bad_record"][0]


def test_gre_eval_on_a_deep_dataset_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", str(path), "--out", str(tmp_path / "r.jsonl")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "nested too deeply" in result.stderr


def test_a_lone_surrogate_in_a_category_is_replaced_and_logged(tmp_path: Path) -> None:
    _images(tmp_path)
    path = tmp_path / "bench.json"
    path.write_text(
        '[{"sample_id": "s1", "image_path": "imgs/s1.jpg", "gt_lat": 1, "gt_lon": 2, '
        '"category": "odd\\udfff"}]',
        encoding="utf-8",
    )
    data = load_dataset(path)
    sample = data.samples[0]
    assert sample.category == "odd\ufffd"
    log = tmp_path / "run.jsonl"
    writer = RunLog(log)
    writer.append(RunHeader(run_id="r", created_at="now", gre_version="0"))
    writer.append(
        SampleResult(
            sample_id=sample.id,
            status="abstained",
            lat_true=sample.lat,
            lon_true=sample.lon,
            category=sample.category,
        )
    )
    writer.close()
    assert scan_log(log).results["s1"].category == "odd\ufffd"


# --- fuzz ---------------------------------------------------------------------------------------

FUZZ = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

KEYS = st.sampled_from(
    ["sample_id", "image_path", "gt_lat", "gt_lon", "category", "id", "data", "x", ""]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["imgs/s0.jpg", "../../etc/passwd", "/abs.jpg", "s\ud800", "1e999"])
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=20,
)


def _loads_or_dataset_error(path: Path, **options: object) -> None:
    try:
        data = load_dataset(path, **options)  # type: ignore[arg-type]
    except DatasetError as exc:
        assert "\n" not in str(exc)
        return
    assert data.samples and data.report.loaded == len(data.samples)


@pytest.fixture
def fuzz_root(tmp_path: Path) -> Path:
    _images(tmp_path)
    return tmp_path


@FUZZ
@given(
    content=st.binary(max_size=400) | st.text(max_size=300).map(lambda t: t.encode("utf-8")),
    name=st.sampled_from(["bench.json", "bench.jsonl", "bench.csv", "bench.tsv", "b.ndjson"]),
    fmt=st.sampled_from(["auto", "greval", "csv", "osv5m"]),
)
def test_fuzz_any_bytes_load_or_raise_dataset_error(
    fuzz_root: Path, content: bytes, name: str, fmt: str
) -> None:
    path = fuzz_root / name
    path.write_bytes(content)
    _loads_or_dataset_error(path, format=fmt)


@FUZZ
@given(value=JSON_VALUES, lines=st.booleans())
def test_fuzz_json_shaped_records_load_or_raise_dataset_error(
    fuzz_root: Path, value: object, lines: bool
) -> None:
    path = fuzz_root / ("bench.jsonl" if lines else "bench.json")
    if lines and isinstance(value, list):
        text = "\n".join(json.dumps(v) for v in value)
    else:
        text = json.dumps(value)
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    _loads_or_dataset_error(path)


CELLS = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=8) | st.sampled_from(
    ["s0.jpg", "imgs/s0.jpg", "12.5", "-200", HUGE, "nan", "inf", '"', "\x00"]
)


@FUZZ
@given(
    header=st.lists(
        st.sampled_from(["IMG_ID", "LAT", "LON", "id", "latitude", "longitude", "x", ""]),
        max_size=5,
    ),
    rows=st.lists(st.lists(CELLS, max_size=5), max_size=5),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
)
def test_fuzz_csv_tables_load_or_raise_dataset_error(
    fuzz_root: Path, header: list[str], rows: list[list[str]], delimiter: str
) -> None:
    path = fuzz_root / "bench.csv"
    text = "\n".join(delimiter.join(row) for row in [header, *rows])
    path.write_text(text, encoding="utf-8")
    _loads_or_dataset_error(path, images=fuzz_root / "imgs")
