"""Network faults against the tools' HTTP client and the ddgs provider: servers on 127.0.0.1
that stall, trickle, never stop or ask for a day's rest, and hosts whose name lookup hangs."""

from __future__ import annotations

import contextvars
import socket
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from gre.config import Settings
from gre.testing.replay_server import Canned, ReplayServer
from gre.tools.base import ToolError
from gre.tools.search.tool import DDGS_KEY, DdgsProvider, Throttle
from gre.tools.support import http as http_module
from gre.tools.support.http import (
    BREAKER,
    Breaker,
    BudgetSpent,
    HttpClient,
    HttpError,
    RateLimited,
    TooLarge,
    current_budget,
    network_budget,
)

MiB = 2**20
Behaviour = Callable[[socket.socket, threading.Event], None]


class Hostile:
    """A raw HTTP server on 127.0.0.1: each connection is handed to ``behaviour``."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.accepted = 0
        self.stop = threading.Event()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self.accepted += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            _read_request(conn)
            self.behaviour(conn, self.stop)
        except OSError:
            pass
        finally:
            conn.close()

    def __enter__(self) -> Hostile:
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop.set()
        self._sock.close()


def _read_request(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        part = conn.recv(65536)
        if not part:
            return
        data += part
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    while len(body) < length:
        part = conn.recv(65536)
        if not part:
            return
        body += part


CHUNKED = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"


def trickle(conn: socket.socket, stop: threading.Event) -> None:
    """Headers at once, then one byte every 0.2 s, never the end."""
    conn.sendall(CHUNKED)
    while not stop.wait(0.2):
        conn.sendall(b"1\r\n \r\n")


def endless(conn: socket.socket, stop: threading.Event) -> None:
    """A chunked body that never ends, as fast as the client reads."""
    conn.sendall(CHUNKED)
    chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"
    while not stop.is_set():
        conn.sendall(chunk)


def huge(conn: socket.socket, stop: threading.Event) -> None:
    """Content-Length: 50 MB, and the body behind it."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
    conn.sendall(f"Content-Length: {50 * 10**6}\r\n\r\n".encode())
    for _ in range(50 * 10**6 // 0x10000):
        if stop.is_set():
            return
        conn.sendall(b"x" * 0x10000)


def silent(conn: socket.socket, stop: threading.Event) -> None:
    """Accepts, reads the request, never answers."""
    stop.wait(30)


def _client(tmp_path: Path, **kw: Any) -> HttpClient:
    kw.setdefault("backoff_s", 0.01)
    return HttpClient(Settings(cache_dir=tmp_path), **kw)


def _one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    message = str(exc.value)
    assert "\n" not in message and message
    return message


# ---------------------------------------------------------------------- Retry-After


def test_a_long_retry_after_fails_at_once_and_rests_the_host(tmp_path: Path) -> None:
    client = _client(tmp_path)
    day = [Canned(status=429, headers={"Retry-After": "99999"})]
    date = [Canned(status=503, headers={"Retry-After": "Fri, 31 Dec 2100 23:59:59 GMT"})]
    with ReplayServer({"/busy": day}) as busy, ReplayServer({"/down": date}) as down:
        t0 = time.monotonic()
        with pytest.raises(RateLimited, match="Retry-After: 99999 s") as err:
            client.request("GET", busy.url + "/busy", retries=3)
        assert "not retried" in _one_line(err)
        with pytest.raises(HttpError, match="asked for a rest"):
            client.request("GET", busy.url + "/busy", retries=3)
        with pytest.raises(HttpError, match="HTTP 503 with Retry-After"):
            client.request("GET", down.url + "/down", retries=3)
        assert time.monotonic() - t0 < 5.0
    assert len(busy.requests) == 1 and len(down.requests) == 1


def test_a_short_retry_after_is_still_honoured(tmp_path: Path) -> None:
    replies = [Canned(status=503, headers={"Retry-After": "0.3"}), Canned(body="{}")]
    with ReplayServer({"/a": replies}) as server:
        assert _client(tmp_path).request("GET", server.url + "/a").json() == {}
    first, second = server.requests
    assert second.at - first.at >= 0.29


# ---------------------------------------------------------------------- deadline and size


def test_a_trickling_server_fails_at_the_request_deadline(tmp_path: Path) -> None:
    client = _client(tmp_path, deadline_s=1.0)
    with Hostile(trickle) as server:
        t0 = time.monotonic()
        with pytest.raises(HttpError, match="1 s") as err:
            client.request("GET", server.url + "/slow", retries=2)
        elapsed = time.monotonic() - t0
    assert 0.9 <= elapsed < 5.0 and server.accepted == 1
    assert "failed after 1 try" in _one_line(err)


def test_an_endless_chunked_reply_is_cut_at_the_cap_with_bounded_memory(
    tmp_path: Path,
) -> None:
    client = _client(tmp_path)
    with Hostile(endless) as server:
        tracemalloc.start()
        try:
            with pytest.raises(TooLarge, match="sent more than 20 MiB") as err:
                client.request("GET", server.url + "/forever")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    _one_line(err)
    assert peak < 64 * MiB and server.accepted == 1  # not retried


def test_a_content_length_over_the_cap_is_refused_before_the_body(tmp_path: Path) -> None:
    client = _client(tmp_path)
    with Hostile(huge) as server:
        tracemalloc.start()
        try:
            with pytest.raises(TooLarge, match="announced 50000000 bytes") as err:
                client.request("GET", server.url + "/big")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert "more than 20 MiB" in _one_line(err)
    assert peak < 8 * MiB


# ---------------------------------------------------------------------- dead hosts


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """socket.getaddrinfo for names under .example: hangs ('hang.*'), or fails at once."""
    real = socket.getaddrinfo
    seen: dict[str, Any] = {"calls": [], "release": threading.Event()}

    def fake(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.endswith(".example"):
            seen["calls"].append(host)
            if host.startswith("hang."):
                seen["release"].wait(30)
                raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    yield seen
    seen["release"].set()


def test_a_hanging_name_lookup_costs_one_attempt_for_every_thread(
    tmp_path: Path, lookups: dict[str, Any]
) -> None:
    client = _client(tmp_path, connect_s=0.5)
    errors: list[str] = []

    def ask(i: int) -> None:
        try:
            client.request("GET", f"https://hang.example/q{i}", retries=2)
        except HttpError as exc:
            errors.append(str(exc))

    t0 = time.monotonic()
    threads = [threading.Thread(target=ask, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    elapsed = time.monotonic() - t0
    assert lookups["calls"] == ["hang.example"] and len(errors) == 6
    first = [e for e in errors if "failed after 1 try" in e]
    assert len(first) == 1 and "no connection to hang.example within 0.5 s" in first[0]
    assert sum("was unreachable" in e for e in errors) == 5
    assert elapsed < 5.0


def test_a_failed_lookup_opens_the_breaker_shared_by_every_tool(
    tmp_path: Path, lookups: dict[str, Any]
) -> None:
    breaker = Breaker()
    overpass, nominatim = _client(tmp_path, breaker=breaker), _client(tmp_path, breaker=breaker)
    with pytest.raises(HttpError, match="failed after 1 try: ConnectError"):
        overpass.request("GET", "https://dead.example/a", retries=2)
    for i in range(5):
        with pytest.raises(HttpError, match="was unreachable"):
            (overpass if i % 2 else nominatim).request("GET", f"https://dead.example/{i}")
    assert lookups["calls"] == ["dead.example"]
    assert http_module.shared_client(Settings(cache_dir=tmp_path)).breaker is BREAKER


def test_a_host_that_accepts_but_never_answers_costs_one_connection(tmp_path: Path) -> None:
    client = _client(tmp_path, timeout_s=0.3)
    with Hostile(silent) as server:
        t0 = time.monotonic()
        with ThreadPoolExecutor(4) as pool:
            futures = [
                pool.submit(client.request, "GET", f"{server.url}/q{i}", retries=2)
                for i in range(4)
            ]
            errors = [f.exception() for f in futures]
        with pytest.raises(HttpError, match="was unreachable"):
            client.request("GET", server.url + "/again")
        elapsed = time.monotonic() - t0
    assert all(isinstance(e, HttpError) for e in errors)
    assert server.accepted == 1 and elapsed < 5.0


# ---------------------------------------------------------------------- the photo's budget


def test_the_photo_network_budget_bounds_every_call(tmp_path: Path) -> None:
    client = _client(tmp_path, timeout_s=30.0)
    servers = [Hostile(silent) for _ in range(4)]
    for server in servers:
        server.__enter__()
    try:
        t0 = time.monotonic()
        with network_budget(1.0) as budget:
            messages = []
            for server in servers:
                with pytest.raises(HttpError) as err:
                    client.request("GET", server.url + "/q")
                messages.append(_one_line(err))
        elapsed = time.monotonic() - t0
    finally:
        for server in servers:
            server.__exit__(None, None, None)
    assert elapsed < 4.0 and budget.spent >= 0.9
    assert [s.accepted for s in servers] == [1, 0, 0, 0]
    assert all("network budget" in m for m in messages)
    assert "network budget (1 s) is spent" in messages[-1]
    # a timeout cut short by the budget is not the host's fault: it is not rested
    client.breaker.check(servers[0].url.removeprefix("http://"))
    assert current_budget() is None


def test_worker_threads_share_the_budget_through_a_copied_context() -> None:
    with network_budget(5.0) as budget, ThreadPoolExecutor(2) as pool:
        seen = pool.submit(contextvars.copy_context().run, current_budget).result()
        bare = pool.submit(current_budget).result()
    assert seen is budget and bare is None


def test_a_spent_budget_fails_at_once_with_one_line(tmp_path: Path) -> None:
    with ReplayServer({"/a": [Canned(body="{}")]}) as server, network_budget(0.5) as budget:
        budget.spend(0.5)
        with pytest.raises(BudgetSpent) as err:
            _client(tmp_path).request("GET", server.url + "/a")
    assert "127.0.0.1" in _one_line(err) and server.requests == []


# ---------------------------------------------------------------------- ddgs


class StuckDDGS:
    """A ddgs stand-in whose search never returns (until released)."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = threading.Event()

    def __call__(self) -> StuckDDGS:
        return self

    def text(self, query: str, **kwargs: Any) -> list[dict[str, Any]]:
        self.calls += 1
        self.release.wait(30)
        return []


def test_a_stuck_ddgs_search_is_bounded_and_opens_the_breaker() -> None:
    stuck = StuckDDGS()
    breaker = Breaker()
    provider = DdgsProvider(
        stuck, min_interval_s=0.0, throttle=Throttle(), deadline_s=0.5, breaker=breaker
    )
    other = DdgsProvider(stuck, min_interval_s=0.0, throttle=Throttle(), breaker=breaker)
    try:
        t0 = time.monotonic()
        with pytest.raises(ToolError, match=r"timed out \(ddgs\): no answer within 0.5 s"):
            provider.search("q", 5, None)
        for p in (provider, other):
            with pytest.raises(ToolError, match="ddgs was unreachable"):
                p.search("q2", 5, None)
        assert time.monotonic() - t0 < 3.0 and stuck.calls == 1
    finally:
        stuck.release.set()


def test_ddgs_connection_errors_open_the_breaker_and_the_budget_bounds_it() -> None:
    ddgs_exceptions = pytest.importorskip("ddgs.exceptions")
    error = ddgs_exceptions.DDGSException(
        "ConnectError: error sending request: dns error: failed to lookup address"
    )

    class Failing:
        calls = 0

        def __call__(self) -> Failing:
            return self

        def text(self, query: str, **kwargs: Any) -> list[dict[str, Any]]:
            Failing.calls += 1
            raise error

    provider = DdgsProvider(Failing(), min_interval_s=0.0, throttle=Throttle(), breaker=Breaker())
    with pytest.raises(ToolError, match="web search failed"):
        provider.search("q", 5, None)
    with pytest.raises(ToolError, match="ddgs was unreachable"):
        provider.search("q", 5, None)
    assert Failing.calls == 1
    stuck = StuckDDGS()
    slow = DdgsProvider(stuck, min_interval_s=0.0, throttle=Throttle(), breaker=Breaker())
    try:
        t0 = time.monotonic()
        with network_budget(0.4), pytest.raises(ToolError, match="network budget is spent"):
            slow.search("q", 5, None)
        assert time.monotonic() - t0 < 3.0
    finally:
        stuck.release.set()
    assert DdgsProvider.from_settings(Settings()).breaker is BREAKER
    assert DDGS_KEY == "ddgs"


def test_the_breaker_rests_a_host_longer_each_time_until_it_answers() -> None:
    breaker = Breaker(cooldown_s=100.0)

    def rest() -> str:
        with pytest.raises(HttpError) as err:
            breaker.check("dead.example")
        return _one_line(err)

    breaker.trip("dead.example", "ConnectTimeout")
    assert "not contacted again for 100 s" in rest()
    breaker.trip("dead.example", "ConnectTimeout")
    assert "not contacted again for 200 s" in rest()
    breaker.answered("dead.example")
    breaker.trip("dead.example", "ConnectTimeout")
    assert rest() == (
        "dead.example was unreachable 0 s ago (ConnectTimeout); not contacted again for 100 s"
    )
    breaker.check("up.example")
