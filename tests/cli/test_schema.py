"""`gre schema trace|log`: JSON Schemas of what gre writes, and real records valid under them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from test_trace_contract import schema_errors
from typer.testing import CliRunner

from gre.cli import app
from gre.eval.log import RunHeader, RunLog, SampleResult, SampleStart
from gre.records import Prediction, Trace


def _schema(kind: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["schema", kind])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_trace_schema_is_the_trace_model() -> None:
    schema = _schema("trace")
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "Trace" and schema["type"] == "object"
    assert schema["additionalProperties"] is False
    for key in ("schema_version", "gre_version", "input_path", "started_at", "finished_at"):
        assert key in schema["required"]
    assert schema["properties"]["started_at"]["anyOf"][0]["format"] == "date-time"
    photo = schema["$defs"]["TracePhoto"]
    assert photo["properties"]["work_path"]["anyOf"][1] == {"type": "null"}


def test_log_schema_covers_header_start_and_result() -> None:
    schema = _schema("log")
    assert schema["$schema"].endswith("2020-12/schema") and "oneOf" in schema
    assert set(schema["discriminator"]["mapping"]) == {"header", "start", "result"}
    assert {"RunHeader", "SampleStart", "SampleResult"} <= set(schema["$defs"])


def test_records_of_a_real_log_validate(tmp_path: Path) -> None:
    schema = _schema("log")
    path = tmp_path / "run.jsonl"
    log = RunLog(path)
    trace = Trace(backend="none", prediction=Prediction(lat=48.58, lon=7.75, level="city"))
    records = [
        RunHeader(
            run_id="r1",
            created_at="2026-01-02T03:04:05+00:00",
            gre_version="0.1.0",
            dataset={"name": "toy", "size": 2},
            config={"graph": "staged", "ignore_metadata": True},
            shard=(1, 2),
        ),
        SampleStart(sample_id="s1", attempt=1, session="abc"),
        SampleResult(
            sample_id="s1",
            status="ok",
            lat_true=48.6,
            lon_true=7.7,
            lat=48.58,
            lon=7.75,
            error_km=4.2,
            level="city",
            trace=trace.model_dump(mode="json"),
        ),
        SampleResult(sample_id="s2", status="failed", lat_true=0, lon_true=0, error="x"),
    ]
    for record in records:
        log.append(record)
    log.close()
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [d["type"] for d in lines] == ["header", "start", "result", "result"]
    for data in lines:
        assert schema_errors(data, schema, schema) == [], data["type"]
    wrong = {**lines[1], "type": "finish"}
    assert schema_errors(wrong, schema, schema)
    no_id = {k: v for k, v in lines[2].items() if k != "sample_id"}
    assert schema_errors(no_id, schema, schema)


def test_an_unknown_schema_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["schema", "nope"])
    assert result.exit_code == 2
    assert result.stderr == "error: no schema named 'nope'; known: trace, log\n"


def test_schema_is_listed_in_help() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0 and "schema" in result.stdout
