"""The evaluation run log: one JSON Lines file, a versioned header then one record per sample.

Records are appended with one ``write`` each, then fsynced, so a run that dies
loses nothing that finished. A write that fails (a full disk) is undone, so the
log never holds a torn record in its middle, and the log refuses further writes.
Reading tolerates a torn last line (a crash mid-write) and keeps the last result
of a sample that was retried; any other bad line is an error naming its line, or
is skipped and counted (``skip_bad``). One process writes a log at a time: the
writer holds :class:`LogLock` on ``<log>.lock``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, ValidationError

from gre.errors import GreError

try:  # POSIX only; elsewhere two writers of one log are not kept apart
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

LOG_SCHEMA_VERSION = 1
HEADER_PREFIX = b'{"type": "header"'
"""How every header line this module writes begins (``type`` is its first field)."""
MAX_HEADER_BYTES = 1 << 20

Status = Literal["ok", "abstained", "failed"]

RESULT_SETTINGS: tuple[str, ...] = (
    "graph",
    "backend",
    "model",
    "ignore_metadata",
    "offline",
    "corroborate_gps",
    "max_steps",
    "max_tool_requests",
    "max_image_pixels",
    "max_file_bytes",
    "model_max_pixels",
    "model_max_tokens",
    "model_tool_calling",
    "temperature",
    "hf_dtype",
    "photo_prior",
    "ocr_languages",
    "disabled_tools",
    "osm_extract",
    "search_provider",
    "searxng_url",
    "search_max_results",
)
"""Settings that change a photo's result: a log is resumed only with the same values.

Those that change only speed or plumbing (concurrency, model URLs, time-outs, retries,
cache folder) may differ between the runs of one log.
"""
RESULT_CONFIG: tuple[str, ...] = ("max_attempts", "seed")
"""The same for the evaluation's own options."""


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
    retryable: bool = Field(
        default=False,
        description="a failure that is not the sample's (the model was unavailable): "
        "the next run of the same command retries it",
    )
    duration_ms: float = 0.0
    usage: dict[str, int] = Field(default_factory=dict)
    leaks_dropped: int = 0
    trace: dict[str, Any] | None = None


class SampleStart(BaseModel):
    """Written before each attempt: a sample that kills the process is still counted."""

    type: Literal["start"] = "start"
    sample_id: str
    attempt: int
    session: str | None = Field(
        default=None, description="the process run that made the attempt (None in older logs)"
    )


LogRecord = Annotated[RunHeader | SampleStart | SampleResult, Field(discriminator="type")]
"""Any line of a run log (``gre schema log`` prints its JSON Schema)."""


class LogContents(BaseModel):
    header: RunHeader
    results: dict[str, SampleResult]
    starts: dict[str, int] = Field(default_factory=dict, description="attempts begun per sample")
    open_starts: dict[str, dict[str, int]] = Field(
        default_factory=dict,
        description="per sample, per session ('' for older logs): starts that no later "
        "result of the sample closed, i.e. attempts whose process ended mid-way",
    )
    bad_lines: list[str] = Field(
        default_factory=list, description="lines skipped (skip_bad), as 'line N: why'"
    )


class LogError(GreError, ValueError):
    """A run log cannot be used (one-line message)."""


class LogLineError(LogError):
    """A line in the middle of a run log is not a valid record (``line`` names it)."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


class LogWriteError(GreError, OSError):
    """A record could not be written (a full disk); the log is left as it was before it."""


class LogBusy(GreError, RuntimeError):
    """Another process is writing the run log."""


def encode_record(record: BaseModel) -> bytes:
    """One record as one UTF-8 JSON line; text that is not valid Unicode is escaped."""
    data = record.model_dump(mode="json")
    try:
        return (json.dumps(data, ensure_ascii=False) + "\n").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: \\u escapes read back the same
        return (json.dumps(data) + "\n").encode("ascii")


class RunLog:
    """Appends records durably; safe to share between threads of one process.

    Appends from many threads share fsyncs (group commit): each record is written
    at once, and its append returns after an fsync that began after its write; one
    fsync covers every record written while the previous one ran.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()  # writes and the counters below
        self._sync_lock = threading.Lock()  # one fsync at a time
        self._fd: int | None = None
        self._broken: LogWriteError | None = None
        self._written = 0  # records written
        self._synced = 0  # of those, records an fsync has covered
        self._end = 0  # the file's size after the last write
        self._durable_end: int | None = None  # its size after the last good fsync

    def _open(self) -> int:
        if self._fd is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            except OSError as exc:
                raise LogWriteError(
                    f"{self.path}: cannot open the run log ({exc.strerror or exc})"
                ) from None
        return self._fd

    @staticmethod
    def _write_all(fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]

    @staticmethod
    def _sync(fd: int) -> None:
        os.fsync(fd)

    @staticmethod
    def _cut(fd: int, size: int) -> None:
        """Undo a failed write: the file ends at ``size`` again (best effort)."""
        with contextlib.suppress(OSError):
            os.ftruncate(fd, size)

    def _fail(self, exc: OSError) -> LogWriteError:
        reason = exc.strerror or str(exc) or type(exc).__name__
        self._broken = LogWriteError(f"{self.path}: cannot write the run log ({reason})")
        return self._broken

    def append(self, record: BaseModel) -> None:
        """Write one record as one line, then fsync it; LogWriteError when it cannot be.

        A failed write is cut off again, and so are the records a failed fsync was
        to cover, so the log ends after its last durable record; every later append
        fails at once with the same error.
        """
        data = encode_record(record)
        with self._lock:
            if self._broken is not None:
                raise self._broken
            fd = self._open()
            size = os.fstat(fd).st_size
            if self._durable_end is None:
                self._durable_end = size
            try:
                self._write_all(fd, data)
            except OSError as exc:
                self._cut(fd, size)
                raise self._fail(exc) from None
            self._written += 1
            mine = self._written
            self._end = size + len(data)
        with self._sync_lock:
            with self._lock:
                if self._broken is not None:
                    raise self._broken
                if self._synced >= mine:
                    return  # an fsync that began after this write has ended
                target, end = self._written, self._end
            try:
                self._sync(fd)
            except OSError as exc:
                with self._lock:
                    self._cut(fd, self._durable_end)
                    raise self._fail(exc) from None
            with self._lock:
                self._synced, self._durable_end = target, end

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                with contextlib.suppress(OSError):
                    os.close(self._fd)
                self._fd = None


class LogLock:
    """Holds ``<log>.lock`` exclusively while a run writes the log; raises LogBusy if taken.

    The lock is an ``flock`` on the file, so the kernel drops it when its holder
    dies: a lock file left behind by a killed run blocks nothing. The holder's
    pid is written in the file for the message; the file is removed on release.
    """

    def __init__(self, log: Path) -> None:
        self.log = log
        self.path = log.with_name(log.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        if fcntl is None:  # pragma: no cover - not POSIX
            return
        for _ in range(20):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise LogError(f"{self.path}: cannot create ({exc.strerror or exc})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                holder = _read_pid(fd)
                os.close(fd)
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    who = f"pid {holder}" if holder else "another process"
                    raise LogBusy(
                        f"{self.log}: another gre eval ({who}) is writing this log; "
                        "wait for it to finish or use another --out"
                    ) from None
                return  # the file system has no locks: run unlocked
            try:  # a releasing holder may have removed the file we opened: lock the new one
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except OSError:
                same = False
            if same:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, 0)
                    os.write(fd, f"{os.getpid()}\n".encode())
                self._fd = fd
                return
            os.close(fd)
        raise LogBusy(f"{self.log}: could not take {self.path.name}; try again")

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
            os.close(self._fd)  # drops the flock
            self._fd = None

    def __enter__(self) -> LogLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() and len(text) < 12 else None


LogState = Literal["absent", "empty", "torn_header", "log"]


def _header_start(line: bytes) -> bool:
    """Whether ``line`` begins as a header line does (or is the start of that beginning)."""
    return HEADER_PREFIX.startswith(line[: len(HEADER_PREFIX)])


def log_state(path: Path) -> LogState:
    """What ``path`` holds, read without changing it; LogError when it is not a run log.

    ``torn_header``: the file is one partial header line and nothing else (the
    run died, or the disk was full, while it started).
    """
    try:
        with path.open("rb") as fh:
            head = fh.readline(MAX_HEADER_BYTES)
            more = bool(fh.read(1))
    except FileNotFoundError:
        return "absent"
    except IsADirectoryError:
        raise LogError(f"{path}: is a folder, not a run log") from None
    except OSError as exc:
        raise LogError(f"{path}: cannot read run log ({exc.strerror or exc})") from None
    if not head:
        return "empty"
    if _header(head) is not None:
        return "log"
    if not head.endswith(b"\n") and not more and _header_start(head):
        return "torn_header"
    raise LogError(f"{path}: not a gre eval log (its first line is not a run header)")


def _header(line: bytes) -> dict[str, Any] | None:
    """The line as a header record's data, or None."""
    try:
        data = json.loads(line.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) and data.get("type") == "header" else None


def read_log(path: Path, *, skip_bad: bool = False) -> tuple[RunHeader, dict[str, SampleResult]]:
    """The header and the last record per sample; a torn final line is ignored."""
    contents = scan_log(path, skip_bad=skip_bad)
    return contents.header, contents.results


def _lines(path: Path) -> Iterator[tuple[int, bytes, bool]]:
    """(number, line, ends with a newline) for each line of ``path``."""
    try:
        with path.open("rb") as fh:
            for number, line in enumerate(fh, start=1):
                yield number, line, line.endswith(b"\n")
    except IsADirectoryError:
        raise LogError(f"{path}: is a folder, not a run log") from None
    except OSError as exc:
        raise LogError(f"{path}: cannot read run log ({exc.strerror or exc})") from None


class _Bad(GreError, ValueError):
    """A line that is not a record (the message says why)."""


def _parse_line(line: bytes) -> dict[str, Any]:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise _Bad("not UTF-8 text") from None
    try:
        data = json.loads(text)
    except RecursionError:
        raise _Bad("not JSON (nested too deeply)") from None
    except ValueError:
        raise _Bad("not JSON") from None
    if not isinstance(data, dict):
        raise _Bad("not a JSON object")
    return data


def _invalid(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ()))
    return f"invalid record: {where}: {err['msg']}" if where else f"invalid record: {err['msg']}"


def _read_header(path: Path, number: int, line: bytes) -> RunHeader:
    data = _header(line)
    if data is None:
        raise LogError(f"{path}: not a gre eval log (line {number} is not a run header)")
    version = data.get("schema_version")
    if isinstance(version, int) and version > LOG_SCHEMA_VERSION:
        raise LogError(
            f"{path}: log schema {version} is newer than this gre "
            f"(reads {LOG_SCHEMA_VERSION}); upgrade gre"
        )
    try:
        return RunHeader.model_validate(data)
    except ValidationError as exc:
        raise LogError(f"{path}:{number}: {_invalid(exc)}") from None


def scan_log(path: Path, *, skip_bad: bool = False) -> LogContents:
    """Everything in a log: header, last result per sample, attempts begun per sample.

    A last line without its newline that is not a record was torn by a crash and
    is ignored. Any other bad line raises :class:`LogLineError` naming it, or with
    ``skip_bad`` is skipped and listed in ``bad_lines``. The header must be the
    first line and is never skipped.
    """
    state = log_state(path)
    if state == "absent":
        raise LogError(f"{path}: cannot read run log (no such file)")
    if state == "empty":
        raise LogError(f"{path}: empty, not a gre eval log")
    if state == "torn_header":
        raise LogError(f"{path}: torn run header (the run died as it started); no results")
    header: RunHeader | None = None
    results: dict[str, SampleResult] = {}
    starts: dict[str, int] = {}
    open_starts: dict[str, dict[str, int]] = {}
    bad: list[str] = []
    for number, line, complete in _lines(path):
        if not line.strip():
            continue
        if header is None:
            header = _read_header(path, number, line)
            continue
        try:
            data = _parse_line(line)
            kind = data.get("type")
            if kind == "header":
                raise _Bad("a second run header (two logs joined?)")
            if kind == "start":
                start = SampleStart.model_validate(data)
                starts[start.sample_id] = max(starts.get(start.sample_id, 0), start.attempt)
                per_session = open_starts.setdefault(start.sample_id, {})
                key = start.session or ""
                per_session[key] = per_session.get(key, 0) + 1
            else:
                result = SampleResult.model_validate(data)
                results[result.sample_id] = result
                open_starts.pop(result.sample_id, None)
        except (_Bad, ValidationError) as exc:
            if not complete:  # torn by a crash mid-write
                break
            why = _invalid(exc) if isinstance(exc, ValidationError) else str(exc)
            if not skip_bad:
                raise LogLineError(f"{path}:{number}: {why}", number) from None
            bad.append(f"line {number}: {why}")
    if header is None:  # only blank lines
        raise LogError(f"{path}: not a gre eval log (no run header)")
    return LogContents(
        header=header, results=results, starts=starts, open_starts=open_starts, bad_lines=bad
    )


def repair_torn_tail(path: Path) -> None:
    """End a log on a whole line: a torn last line is cut, a record missing its newline ends.

    Appends then start on a fresh line.
    """
    with path.open("rb+") as fh:
        end = fh.seek(0, os.SEEK_END)
        if end == 0:
            return
        fh.seek(end - 1)
        if fh.read(1) == b"\n":
            return
        cut, pos = 0, end
        while pos > 0:
            step = min(1 << 16, pos)
            pos -= step
            fh.seek(pos)
            found = fh.read(step).rfind(b"\n")
            if found >= 0:
                cut = pos + found + 1
                break
        fh.seek(cut)
        try:
            _parse_line(fh.read())
        except _Bad:
            fh.truncate(cut)
        else:
            fh.seek(0, os.SEEK_END)
            fh.write(b"\n")
