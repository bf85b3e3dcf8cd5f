"""`gre schema trace|log`: the JSON Schema of what gre writes, from its pydantic models."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from pydantic.json_schema import GenerateJsonSchema

DIALECT = "https://json-schema.org/draft/2020-12/schema"
KINDS = ("trace", "log")


def _generator() -> type[GenerateJsonSchema]:
    """A schema generator for written JSON: every field is always present, so required."""
    from pydantic.json_schema import GenerateJsonSchema

    class AsWritten(GenerateJsonSchema):
        def field_is_required(self, field: Any, total: bool) -> bool:
            if self.mode == "serialization" and field.get("serialization_exclude_if") is None:
                return True
            return super().field_is_required(field, total)

    return AsWritten


def trace_schema() -> dict[str, Any]:
    """The JSON Schema of a trace (one line of ``gre locate --json``)."""
    from gre.records import Trace

    schema = Trace.model_json_schema(mode="serialization", schema_generator=_generator())
    return {"$schema": DIALECT, **schema}


def log_schema() -> dict[str, Any]:
    """The JSON Schema of one record (line) of a ``gre eval`` run log: header, start or result."""
    from pydantic import TypeAdapter

    from gre.eval.log import LOG_SCHEMA_VERSION, LogRecord

    schema = TypeAdapter(LogRecord).json_schema(mode="serialization", schema_generator=_generator())
    return {
        "$schema": DIALECT,
        "title": "gre eval log record",
        "description": f"One line of a run log (log schema {LOG_SCHEMA_VERSION}): a header "
        "first, then a start record before each attempt and a result record after it.",
        **schema,
    }


def schema_command(
    kind: Annotated[
        str,
        typer.Argument(
            help="trace: a `gre locate --json` trace; log: a `gre eval` run log's records.",
            show_default=False,
        ),
    ],
) -> None:
    """Print the JSON Schema (draft 2020-12) of a trace or of the eval log's records."""
    from gre.cli.common import fail

    if kind not in KINDS:
        raise fail(f"no schema named {kind[:40]!r}; known: {', '.join(KINDS)}")
    schema = trace_schema() if kind == "trace" else log_schema()
    typer.echo(json.dumps(schema, indent=2, ensure_ascii=False))
