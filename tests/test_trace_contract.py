"""The trace contract: versioned, timed, the input path kept, no dangling temp paths, and a
real trace valid under the JSON Schema that `gre schema trace` prints."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from gre import __version__
from gre.cli import app
from gre.config import Settings
from gre.graphs.locator import Locator
from gre.records import TRACE_SCHEMA_VERSION, Trace
from gre.tools.base import ToolRegistry
from gre.tools.exif.tool import ExifTool
from gre.tools.ocr.tool import OcrTool

# --- a small JSON Schema checker (the keywords pydantic's schemas use) --------------------------

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def _is(value: Any, kind: str) -> bool:
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    if kind == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES[kind])


def schema_errors(
    value: Any, schema: dict[str, Any], root: dict[str, Any], at: str = "$"
) -> list[str]:
    """Where ``value`` breaks ``schema`` ($ref into $defs, type, const, enum, bounds,
    required, properties, additionalProperties, items, prefixItems, anyOf/oneOf, pattern)."""
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/$defs/")
        return schema_errors(value, root["$defs"][name], root, at)
    errors: list[str] = []
    for key in ("anyOf", "oneOf"):
        if key in schema:
            matches = [s for s in schema[key] if not schema_errors(value, s, root, at)]
            if not matches or (key == "oneOf" and len(matches) > 1):
                errors.append(f"{at}: {len(matches)} of {key} match")
    kind = schema.get("type")
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        if not any(_is(value, k) for k in kinds):
            return [*errors, f"{at}: {type(value).__name__} is not {kind}"]
    if "const" in schema and value != schema["const"]:
        errors.append(f"{at}: {value!r} is not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{at}: {value!r} not in {schema['enum']}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        for key, ok in (
            ("minimum", lambda b: value >= b),
            ("maximum", lambda b: value <= b),
            ("exclusiveMinimum", lambda b: value > b),
            ("exclusiveMaximum", lambda b: value < b),
        ):
            if key in schema and not ok(schema[key]):
                errors.append(f"{at}: {value} breaks {key} {schema[key]}")
    if isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(f"{at}: longer than {schema['maxLength']}")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{at}: does not match {schema['pattern']}")
    if isinstance(value, dict):
        errors += [f"{at}: missing {k!r}" for k in schema.get("required", []) if k not in value]
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for k, v in value.items():
            if k in props:
                errors += schema_errors(v, props[k], root, f"{at}.{k}")
            elif extra is False:
                errors.append(f"{at}: unexpected {k!r}")
            elif isinstance(extra, dict):
                errors += schema_errors(v, extra, root, f"{at}.{k}")
    if isinstance(value, list):
        prefix = schema.get("prefixItems", [])
        for i, item in enumerate(value):
            sub = prefix[i] if i < len(prefix) else schema.get("items")
            if isinstance(sub, dict):
                errors += schema_errors(item, sub, root, f"{at}[{i}]")
        if "minItems" in schema and len(value) < schema["minItems"]:
            errors.append(f"{at}: fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{at}: more than {schema['maxItems']} items")
    return errors


def printed_schema(kind: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["schema", kind])
    assert result.exit_code == 0, result.output
    schema: dict[str, Any] = json.loads(result.stdout)
    return schema


def test_the_checker_catches_what_it_should() -> None:
    schema = printed_schema("trace")
    good = json.loads(Trace(backend="none", prediction={"level": "unknown"}).model_dump_json())
    assert schema_errors(good, schema, schema) == []
    assert schema_errors({**good, "surprise": 1}, schema, schema) == ["$: unexpected 'surprise'"]
    missing = {k: v for k, v in good.items() if k != "started_at"}
    assert schema_errors(missing, schema, schema) == ["$: missing 'started_at'"]
    assert schema_errors({**good, "steps": "3"}, schema, schema) == ["$.steps: str is not integer"]
    bad_level = {**good, "prediction": {**good["prediction"], "level": "planet"}}
    assert schema_errors(bad_level, schema, schema)


# --- a real tools-only run ---------------------------------------------------------------------


@pytest.fixture
def locator(settings: Settings) -> Any:
    registry = ToolRegistry()
    registry.register(ExifTool, package="gre")
    registry.register(OcrTool, package="gre")
    with Locator(settings, registry=registry) as loc:
        yield loc


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.jpg"
    Image.new("RGB", (48, 32), (120, 130, 140)).save(path)
    return path


def test_a_real_trace_is_versioned_timed_and_keeps_no_temp_paths(
    locator: Locator, tiny: Path
) -> None:
    before = dt.datetime.now(dt.UTC)
    trace = locator.locate(tiny)
    after = dt.datetime.now(dt.UTC)
    assert trace.error is None and locator.backend.name == "none"
    assert trace.schema_version == TRACE_SCHEMA_VERSION == 2
    assert trace.gre_version == __version__
    assert trace.started_at is not None and trace.finished_at is not None
    assert trace.started_at.utcoffset() == dt.timedelta(0)
    assert before - dt.timedelta(seconds=1) <= trace.started_at <= trace.finished_at <= after
    took = (trace.finished_at - trace.started_at).total_seconds() * 1000
    assert took == pytest.approx(trace.duration_ms, abs=1.0)
    assert trace.input_path == str(tiny)
    assert trace.photo is not None and trace.photo.path == str(tiny)
    assert trace.photo.work_path is None
    dumped = trace.model_dump(mode="json")
    text = json.dumps(dumped)
    assert str(locator.workdir) not in text
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", dumped["started_at"])
    calls = {c.tool: c for c in trace.tool_calls}
    assert calls["exif"].params["path"] == str(tiny)  # the original, which is the user's
    assert calls["ocr"].params["path"] is None  # the deleted working copy
    ocr = next(e for e in trace.evidence if e.tool == "ocr")
    assert ocr.query["path"] is None


def test_a_real_trace_validates_against_the_printed_schema(locator: Locator, tiny: Path) -> None:
    schema = printed_schema("trace")
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    data = json.loads(locator.locate(tiny).model_dump_json())
    assert schema_errors(data, schema, schema) == []
    assert set(schema["required"]) == set(data)  # every key a trace has is always there
    assert Trace.model_validate(data).model_dump(mode="json") == data


def test_a_photo_that_fails_ingest_keeps_its_path(locator: Locator, tmp_path: Path) -> None:
    bad = tmp_path / "not-a-photo.jpg"
    bad.write_bytes(b"no image here")
    missing = tmp_path / "gone.jpg"
    schema = printed_schema("trace")
    for path in (bad, missing):
        trace = locator.locate(path)
        assert trace.error and trace.photo is None
        assert trace.input_path == str(path)
        assert trace.started_at is not None and trace.finished_at is not None
        data = json.loads(trace.model_dump_json())
        assert schema_errors(data, schema, schema) == []


def test_a_schema_1_trace_still_reads() -> None:
    old = {
        "schema_version": 1,
        "photo": {
            "path": "old.jpg",
            "work_path": "/tmp/gre-x/abc.png",
            "sha256": "0" * 64,
            "format": "JPEG",
            "width": 4,
            "height": 3,
            "bytes": 100,
        },
        "backend": "none",
        "prediction": {"level": "country", "lat": 46.0, "lon": 2.0, "confidence": 0.4},
        "duration_ms": 12.0,
    }
    trace = Trace.model_validate(old)
    assert trace.schema_version == 1 and trace.gre_version is None
    assert trace.input_path == "old.jpg" and trace.started_at is None
    assert trace.photo is not None and trace.photo.work_path == "/tmp/gre-x/abc.png"
    unopened = Trace.model_validate({"schema_version": 1, "backend": "x", "prediction": {}})
    assert unopened.input_path is None and unopened.photo is None


def test_forget_paths_nulls_only_the_given_paths() -> None:
    trace = Trace.model_validate(
        {
            "backend": "none",
            "prediction": {},
            "tool_calls": [
                {
                    "id": "c1",
                    "tool": "ocr",
                    "stage": "details",
                    "params": {"path": "/tmp/w.png", "boxes": [{"p": "/tmp/w.png"}], "k": "kept"},
                    "ok": True,
                    "started_at": 0.0,
                    "duration_ms": 1.0,
                }
            ],
            "evidence": [
                {"id": "e1", "tool": "ocr", "query": {"path": "/tmp/w.png"}, "raw": ["/tmp/w.png"]}
            ],
        }
    )
    clean = trace.forget_paths("/tmp/w.png")
    assert clean.tool_calls[0].params == {"path": None, "boxes": [{"p": None}], "k": "kept"}
    assert clean.evidence[0].query == {"path": None} and clean.evidence[0].raw == [None]
    assert trace.tool_calls[0].params["path"] == "/tmp/w.png"  # the original is unchanged
    assert trace.forget_paths() is trace
