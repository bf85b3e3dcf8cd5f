"""The evaluation run log: one JSON Lines file, a versioned header then one record per sample.

Records are appended, flushed and fsynced as each sample finishes, so a run
that dies loses nothing that finished. Reading tolerates a torn last line (a
crash mid-write) and keeps the last record of a sample that was retried.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, Literal, TextIO

from pydantic import BaseModel, Field, ValidationError

from gre.errors import GreError

LOG_SCHEMA_VERSION = 1

Status = Literal["ok", "abstained", "failed"]


class RunHeader(BaseModel):
    """What a run was: enough to reproduce it and to refuse to mix two different runs."""

    type: Literal["header"] = "header"
    schema_version: int = LOG_SCHEMA_VERSION
    run_id: str
    created_at: str
    gre_version: str
    git_revision: str | None = None
    dataset: dict[str, Any] = Field(
        default_factory=dict, description="name, path, format, size, content hash"
    )
    config: dict[str, Any] = Field(default_factory=dict, description="graph, backend, model, …")
    seed: int = 0
    shard: tuple[int, int] = (1, 1)
    limit: int | None = None


class SampleResult(BaseModel):
    """One sample's outcome."""

    type: Literal["result"] = "result"
    sample_id: str
    status: Status
    lat_true: float
    lon_true: float
    lat: float | None = None
    lon: float | None = None
    error_km: float | None = None
    level: str | None = None
    radius_km: float | None = None
    confidence: float | None = None
    category: str | None = None
    attempts: int = 1
    error: str | None = None
    duration_ms: float = 0.0
    usage: dict[str, int] = Field(default_factory=dict)
    leaks_dropped: int = 0
    trace: dict[str, Any] | None = None


class SampleStart(BaseModel):
    """Written before each attempt: a sample that kills the process is still counted."""

    type: Literal["start"] = "start"
    sample_id: str
    attempt: int


class LogContents(BaseModel):
    header: RunHeader
    results: dict[str, SampleResult]
    starts: dict[str, int] = Field(default_factory=dict, description="attempts begun per sample")


class LogError(GreError, ValueError):
    """A run log cannot be used (one-line message)."""


class RunLog:
    """Appends records durably; safe to share between threads of one process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._fh: TextIO | None = None

    def _open(self) -> TextIO:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("a", encoding="utf-8")
        return self._fh

    def append(self, record: BaseModel) -> None:
        """Write one record as one line, then flush and fsync it."""
        line = json.dumps(record.model_dump(mode="json"), ensure_ascii=False)
        with self._lock:
            fh = self._open()
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None


def read_log(path: Path) -> tuple[RunHeader, dict[str, SampleResult]]:
    """The header and the last record per sample; a torn final line is ignored."""
    contents = scan_log(path)
    return contents.header, contents.results


def scan_log(path: Path) -> LogContents:
    """Everything in a log: header, last result per sample, attempts begun per sample."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise LogError(f"{path}: cannot read run log ({exc.strerror or exc})") from None
    header: RunHeader | None = None
    results: dict[str, SampleResult] = {}
    starts: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):  # torn by a crash mid-write
                break
            raise LogError(f"{path}:{number}: not JSON") from None
        try:
            if data.get("type") == "header":
                if header is None:
                    header = RunHeader.model_validate(data)
            elif data.get("type") == "start":
                start = SampleStart.model_validate(data)
                starts[start.sample_id] = max(starts.get(start.sample_id, 0), start.attempt)
            else:
                result = SampleResult.model_validate(data)
                results[result.sample_id] = result
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err.get("loc", ()))
            raise LogError(f"{path}:{number}: invalid record: {where}: {err['msg']}") from None
    if header is None:
        raise LogError(f"{path}: no run header (not a gre eval log)")
    if header.schema_version > LOG_SCHEMA_VERSION:
        raise LogError(
            f"{path}: log schema {header.schema_version} is newer than this gre "
            f"(reads {LOG_SCHEMA_VERSION}); upgrade gre"
        )
    return LogContents(header=header, results=results, starts=starts)


def repair_torn_tail(path: Path) -> None:
    """Cut a torn last line (no newline) left by a crash, so appends start on a fresh line."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb+") as fh:
        fh.seek(-1, os.SEEK_END)
        if fh.read(1) == b"\n":
            return
        data = path.read_bytes()
        cut = data.rfind(b"\n") + 1
        fh.truncate(cut)
