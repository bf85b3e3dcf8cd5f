"""The SQLite key-value cache under the HTTP client and the search tool."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from gre.tools.support.cache import SqliteCache


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_bytes_and_json_round_trip(tmp_path: Path) -> None:
    cache = SqliteCache(tmp_path / "sub" / "c.sqlite")  # the directory is created
    cache.put("b", b"\x00\xffbody\n")
    cache.put_json("j", {"a": [1, 2.5, "é"], "b": None})
    assert cache.get("b", 60) == b"\x00\xffbody\n"
    assert cache.get_json("j", 60) == {"a": [1, 2.5, "é"], "b": None}
    assert cache.get("missing", 60) is None and cache.get_json("missing", 60) is None
    cache.close()


def test_an_entry_older_than_the_ttl_reads_as_absent(tmp_path: Path) -> None:
    clock = Clock()
    cache = SqliteCache(tmp_path / "c.sqlite", clock=clock)
    cache.put_json("k", [1])
    clock.now += 10.0
    assert cache.get_json("k", 10.0) == [1], "exactly the ttl old is still fresh"
    assert cache.get_json("k", 9.9) is None
    clock.now += 1.0
    assert cache.get_json("k", 10.0) is None
    assert cache.get_json("k", 3600.0) == [1], "expiry is the reader's choice; nothing is deleted"
    cache.close()


def test_put_overwrites_and_restamps(tmp_path: Path) -> None:
    clock = Clock()
    cache = SqliteCache(tmp_path / "c.sqlite", clock=clock)
    cache.put("k", b"old")
    clock.now += 100.0
    cache.put("k", b"new")
    assert cache.get("k", 1.0) == b"new"
    cache.close()
    conn = sqlite3.connect(tmp_path / "c.sqlite")
    assert conn.execute("SELECT count(*) FROM entry").fetchone() == (1,)
    conn.close()


def test_threads_share_one_cache(tmp_path: Path) -> None:
    cache = SqliteCache(tmp_path / "c.sqlite")
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(50):
                cache.put_json(f"{n}-{i}", {"n": n, "i": i})
                assert cache.get_json(f"{n}-{i}", 60) == {"n": n, "i": i}
                cache.put(f"shared-{i}", str(n).encode())
                assert cache.get(f"shared-{i}", 60) is not None
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(
        cache.get_json(f"{n}-{i}", 60) == {"n": n, "i": i} for n in range(8) for i in range(50)
    )
    cache.close()


def test_entries_survive_a_reopen_and_close_is_final(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    first = SqliteCache(path)
    first.put("k", b"v")
    first.put_json("j", ["x"])
    first.close()
    with pytest.raises(sqlite3.ProgrammingError):
        first.get("k", 60)
    again = SqliteCache(path)
    assert again.get("k", 60) == b"v" and again.get_json("j", 60) == ["x"]
    other = SqliteCache(path)  # a second handle on the same file sees the writes
    other.put("k", b"w")
    assert again.get("k", 60) == b"w"
    other.close()
    again.close()
