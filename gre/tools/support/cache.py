"""A small disk cache: one SQLite file of key -> value, each read with a time to live.

Values are bytes (:meth:`SqliteCache.put`) or anything JSON can hold
(:meth:`SqliteCache.put_json`). One connection in WAL mode behind one lock makes an
instance safe to share between threads; other processes may open the same file.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


class SqliteCache:
    """Key-value pairs in SQLite; an entry older than the reader's ``ttl_s`` reads as absent."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._clock = clock
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS entry (key TEXT PRIMARY KEY, value BLOB, stored REAL)"
        )
        self._lock = threading.Lock()

    def _get(self, key: str, ttl_s: float) -> str | bytes | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT value, stored FROM entry WHERE key = ?", (key,)
            ).fetchone()
        if row is None or self._clock() - row[1] > ttl_s:
            return None
        value: str | bytes = row[0]
        return value

    def _put(self, key: str, value: str | bytes) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO entry VALUES (?, ?, ?)", (key, value, self._clock())
            )

    def get(self, key: str, ttl_s: float) -> bytes | None:
        """The bytes stored under ``key`` at most ``ttl_s`` seconds ago, else None."""
        value = self._get(key, ttl_s)
        return value.encode() if isinstance(value, str) else value

    def put(self, key: str, value: bytes) -> None:
        """Store ``value`` under ``key`` (replacing it), stamped now."""
        self._put(key, bytes(value))

    def get_json(self, key: str, ttl_s: float) -> Any:
        """The JSON value stored under ``key`` at most ``ttl_s`` seconds ago, else None."""
        value = self._get(key, ttl_s)
        return None if value is None else json.loads(value)

    def put_json(self, key: str, value: Any) -> None:
        """Store ``value`` as JSON under ``key`` (replacing it), stamped now."""
        self._put(key, json.dumps(value))

    def close(self) -> None:
        """Close the file; later reads and writes raise :class:`sqlite3.ProgrammingError`."""
        with self._lock:
            self._conn.close()
