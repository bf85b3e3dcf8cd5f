"""Built-once, read-many SQLite indexes (the gazetteer, OSM extracts).

What both indexes need alike: a build that happens once across threads and
processes (a lock file), atomically (a temporary file, then ``os.replace``),
a ``meta`` table that says whether a file is complete and current, and
read-only connections, one per thread, that can all be closed at once.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

try:  # POSIX only; elsewhere concurrent builders race and the atomic replace settles it
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]


@contextlib.contextmanager
def exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` (threads and processes wait their turn)."""
    with open(lock_path, "a+b") as fh:
        if fcntl is not None:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def read_meta(path: Path) -> dict[str, str]:
    """The ``meta`` table of an index file; empty when the file is missing or unreadable."""
    if not path.is_file():
        return {}
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return dict(conn.execute("SELECT key, value FROM meta").fetchall())
        finally:
            conn.close()
    except sqlite3.Error:
        return {}


def ensure_built(
    path: Path,
    is_current: Callable[[Path], bool],
    build: Callable[[], object],
    stale: Callable[[], Iterable[Path]],
) -> Path:
    """Run ``build`` unless ``path`` is current; once across concurrent callers.

    After a build, the files ``stale`` names (older versions) are removed.
    """
    if is_current(path):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(path.parent / ".build.lock"):
        if not is_current(path):
            build()
            for old in stale():
                if old.name != path.name:
                    with contextlib.suppress(OSError):
                        old.unlink()
    return path


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """A temporary file beside ``path`` to build into; it replaces ``path`` on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the indexes hold public data
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


class ReadOnlyConnections:
    """One read-only connection per thread to an index file; ``close`` ends them all."""

    def __init__(self, path: Path, what: str, pragmas: Iterable[str] = ()) -> None:
        self.path = Path(path)
        self._what = what
        self._pragmas = ("PRAGMA query_only = 1", *pragmas)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._conns: list[sqlite3.Connection] = []
        self._closed = False

    def get(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use); RuntimeError once closed."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and not self._closed:
            return conn
        with self._lock:
            if self._closed:
                raise RuntimeError(f"the {self._what} is closed")
            conn = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
            )
            for pragma in self._pragmas:
                conn.execute(pragma)
            self._conns.append(conn)
        self._local.conn = conn
        return conn

    def close(self) -> None:
        """Close every thread's connection."""
        with self._lock:
            self._closed = True
            for conn in self._conns:
                conn.close()
            self._conns.clear()
