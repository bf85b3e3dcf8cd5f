"""The one HTTP path of every network tool: User-Agent, per-host rate limits, retries, a disk cache.

OpenStreetMap's public services ask for an identifying User-Agent, at most one
request per second (Nominatim) and caching of repeated queries; this client
does all three for every tool, so no tool can forget. Responses are cached in
SQLite under the cache directory, keyed by method, URL, parameters and body.

Faults are bounded here too, for the tools and the model client alike
(:func:`bounded_fetch`): a request ends within its deadline however slowly the
server sends (a wall-clock limit, not a per-read one), bodies are capped while
they stream (and refused at once when ``Content-Length`` is over the cap), and
a name lookup, connect or TLS handshake that does not finish within the connect
time-out fails the request. A host that could not be reached (name lookup
failed or timed out, no route, connect time-out) opens a :class:`Breaker` shared
by every client, tool and thread of the process, so later calls fail at once;
and a photo's network calls draw on one :class:`NetworkBudget` when the run
sets one (:func:`network_budget`).
"""

from __future__ import annotations

import atexit
import hashlib
import json
import math
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from gre.config import Settings
from gre.errors import GreError
from gre.tools.base import ToolError
from gre.tools.support.cache import SqliteCache

MAX_BACKOFF_S = 60.0
"""The longest pause between tries, and the longest ``Retry-After`` honoured by waiting."""
MAX_REST_S = 3600.0
"""The longest a host that asked for a longer ``Retry-After`` is left alone."""
RETRY_STATUS = frozenset({429, 502, 503, 504})
DOWN_COOLDOWN_S = 300.0  # an unreachable host is not tried again for this long (doubling)
CONNECT_TIMEOUT_S = 10.0
"""Name lookup, connect and TLS handshake together, per attempt."""
MAX_BYTES = 20 * 2**20
"""The largest body a tool's request accepts (streamed; refused early by Content-Length)."""
# Name-resolution failures: the resolver answered, so retrying within seconds cannot help.
_DNS_FAILURES = (
    "name or service not known",
    "temporary failure in name resolution",
    "nodename nor servname",
    "getaddrinfo failed",
    "no address associated",
)
# No way to the host at all: retrying cannot help either.
_NO_ROUTE = ("network is unreachable", "no route to host", "host is unreachable", "blocked")

T = TypeVar("T")


class HttpError(ToolError, OSError):
    """A request failed for good; the message is one line."""


class RateLimited(HttpError):
    """The service kept answering 429 (too many requests) after the retries."""


class TooLarge(HttpError):
    """A response body over the size cap (refused by its Content-Length, or cut off)."""


class TooSlow(HttpError, TimeoutError):
    """A request ran past its wall-clock deadline."""


class BudgetSpent(HttpError):
    """The photo's network budget is spent: the call was not made."""


def _one_line(text: object, limit: int = 300) -> str:
    return " ".join(str(text).split())[:limit]


def _secs(seconds: float) -> str:
    return f"{round(seconds, 1):g}"


def _size(n: int) -> str:
    return f"{n // 2**20} MiB" if n >= 2**20 and n % 2**20 == 0 else f"{n} bytes"


def describe(exc: BaseException) -> str:
    """An exception as ``Type: message`` on one line (``Type`` alone when it says nothing)."""
    text = _one_line(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclass(frozen=True)
class HttpResponse:
    status: int
    content: bytes
    headers: dict[str, str]
    from_cache: bool = False

    def json(self) -> Any:
        try:
            return json.loads(self.content)
        except ValueError:
            raise HttpError("the service answered with something that is not JSON") from None

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


def _pack(response: HttpResponse) -> bytes:
    """A response as cache bytes: status and headers as one JSON line, then the body."""
    return json.dumps([response.status, response.headers]).encode() + b"\n" + response.content


def _unpack(blob: bytes) -> HttpResponse:
    head, _, content = blob.partition(b"\n")
    status, headers = json.loads(head)
    return HttpResponse(status, content, headers, from_cache=True)


# ------------------------------------------------------------------ a request with a deadline


class _Exchange:
    """One request run by a worker thread, watched by the caller."""

    def __init__(self) -> None:
        self.progress = threading.Event()  # connected, or finished
        self.done = threading.Event()
        self.connected = False
        self.abandoned = False
        self.response: HttpResponse | None = None
        self.error: BaseException | None = None

    def trace(self, name: str, info: dict[str, Any]) -> None:
        """httpcore's trace hook: the first HTTP event means lookup, connect and TLS are done."""
        if not self.connected and name.startswith(("http11.", "http2.")):
            self.connected = True
            self.progress.set()


def bounded_fetch(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    deadline_s: float,
    max_bytes: int,
    connect_s: float = CONNECT_TIMEOUT_S,
    read_s: float | None = None,
    **kwargs: Any,
) -> HttpResponse:
    """One HTTP exchange that ends within ``deadline_s`` seconds, whatever the server does.

    The request runs in a daemon thread; the caller waits at most ``connect_s`` for the
    connection (name lookup, TCP and TLS, which httpx's own time-outs do not bound
    together) and ``deadline_s`` in all, and the body is read in chunks with the
    deadline and ``max_bytes`` checked between them (a ``Content-Length`` over the cap
    is refused before the body is read). Raises httpx's errors for transport failures
    (``httpx.ConnectTimeout`` when no connection was made in time), :class:`TooSlow`
    and :class:`TooLarge`. ``kwargs`` go to ``httpx.Client.stream``.
    """
    host = urlsplit(url).netloc
    start = time.monotonic()
    deadline = start + deadline_s
    connect_s = min(connect_s, deadline_s)
    read = deadline_s if read_s is None else min(read_s, deadline_s)
    timeout = httpx.Timeout(read, connect=connect_s, write=deadline_s, pool=deadline_s)
    exchange = _Exchange()

    def work() -> None:
        try:
            with client.stream(
                method, url, timeout=timeout, extensions={"trace": exchange.trace}, **kwargs
            ) as response:
                exchange.connected = True
                exchange.progress.set()
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise TooLarge(
                        f"{host} announced {int(declared)} bytes, more than {_size(max_bytes)}"
                    )
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    if exchange.abandoned:
                        return
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(f"{host} sent more than {_size(max_bytes)}")
                    if time.monotonic() > deadline:
                        raise TooSlow(f"{host} was still sending after {_secs(deadline_s)} s")
                    chunks.append(chunk)
                exchange.response = HttpResponse(
                    response.status_code,
                    b"".join(chunks),
                    {k.lower(): v for k, v in response.headers.items()},
                )
        except BaseException as exc:  # handed to the caller's thread
            exchange.error = exc
        finally:
            exchange.done.set()
            exchange.progress.set()

    threading.Thread(target=work, name=f"gre-http {host}", daemon=True).start()
    exchange.progress.wait(connect_s)
    if not exchange.connected and not exchange.done.is_set():
        exchange.abandoned = True
        if connect_s < deadline_s:
            raise httpx.ConnectTimeout(
                f"no connection to {host} within {_secs(connect_s)} s (name lookup, connect or TLS)"
            )
        raise TooSlow(f"{host} could not be reached within {_secs(deadline_s)} s")
    if not exchange.done.wait(max(0.0, deadline - time.monotonic())):
        exchange.abandoned = True
        raise TooSlow(f"{host} did not answer within {_secs(deadline_s)} s")
    if exchange.error is not None:
        raise exchange.error
    assert exchange.response is not None
    return exchange.response


class Overdue(GreError, TimeoutError):
    """:func:`call_within` gave up waiting."""


def call_within(fn: Callable[[], T], seconds: float, *, name: str = "gre-call") -> T:
    """``fn()`` run in a daemon thread, its result or its exception; Overdue after ``seconds``.

    For libraries that do their own HTTP: an overdue call is left to end by its own
    time-outs; its result is then dropped.
    """
    box: list[T] = []
    error: list[BaseException] = []
    done = threading.Event()

    def work() -> None:
        try:
            box.append(fn())
        except BaseException as exc:  # handed to the caller's thread
            error.append(exc)
        finally:
            done.set()

    threading.Thread(target=work, name=name, daemon=True).start()
    if not done.wait(max(0.0, seconds)):
        raise Overdue(f"no answer within {_secs(seconds)} s")
    if error:
        raise error[0]
    return box[0]


def retry_after_s(value: str | None) -> float | None:
    """The seconds a ``Retry-After`` header asks for (a number or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if math.isnan(seconds):
        return None
    return min(max(0.0, seconds), 1e9)


# ------------------------------------------------------------------ breaker and budget


class Breaker:
    """Hosts (or providers) that could not be reached lately, and hosts that have answered.

    One per process (:data:`BREAKER`) is shared by every tool's client and thread: a host
    that failed to connect is not tried again for ``cooldown_s``, twice that after a second
    failure in a row, and so on up to :data:`MAX_REST_S` (an answer starts over); and until
    a host has answered once, its requests go one at a time (:meth:`first_contact`), so
    that many queries to a dead host cost one attempt.
    """

    def __init__(self, cooldown_s: float = DOWN_COOLDOWN_S) -> None:
        self.cooldown_s = cooldown_s
        self._down: dict[str, tuple[float, float, str, str]] = {}  # since, until, state, why
        self._strikes: dict[str, int] = {}  # failures in a row
        self._answered: set[str] = set()
        self._gates: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        """Raise HttpError at once while ``key`` is resting."""
        now = time.monotonic()
        with self._lock:
            down = self._down.get(key)
            if down is None:
                return
            since, until, state, why = down
            if now >= until:
                del self._down[key]
                return
        raise HttpError(
            f"{key} {state} {now - since:.0f} s ago ({why}); "
            f"not contacted again for {until - now:.0f} s"
        )

    def trip(
        self,
        key: str,
        why: str,
        *,
        seconds: float | None = None,
        state: str = "was unreachable",
    ) -> None:
        """Leave ``key`` alone for ``seconds`` (by default the cooldown, doubled per strike)."""
        now = time.monotonic()
        with self._lock:
            strikes = self._strikes.get(key, 0)
            self._strikes[key] = strikes + 1
            rest = min(MAX_REST_S, self.cooldown_s * 2**strikes) if seconds is None else seconds
            self._down[key] = (now, now + rest, state, _one_line(why, 200))
            self._answered.discard(key)

    def answered(self, key: str) -> None:
        """``key`` answered: its requests no longer wait for one another."""
        with self._lock:
            self._answered.add(key)
            self._strikes.pop(key, None)

    @contextmanager
    def first_contact(self, key: str, timeout_s: float) -> Iterator[None]:
        """Until ``key`` has answered, one caller at a time (the others wait up to timeout_s)."""
        with self._lock:
            gate = None if key in self._answered else self._gates.setdefault(key, threading.Lock())
        if gate is None:
            yield
            return
        if not gate.acquire(timeout=max(0.0, timeout_s)):
            raise HttpError(f"no time left while waiting for a first answer from {key}")
        try:
            yield
        finally:
            gate.release()


BREAKER = Breaker()
"""The process's breaker: every shared client and the search providers use it."""


class NetworkBudget:
    """Seconds one photo may spend on network calls, shared by the threads of its tools."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._spent = 0.0
        self._lock = threading.Lock()

    @property
    def spent(self) -> float:
        with self._lock:
            return self._spent

    def left(self) -> float:
        with self._lock:
            return max(0.0, self.seconds - self._spent)

    def spend(self, seconds: float) -> None:
        with self._lock:
            self._spent += max(0.0, seconds)

    def check(self, what: str) -> None:
        """Raise BudgetSpent when nothing is left."""
        if self.left() <= 0:
            raise BudgetSpent(
                f"the photo's network budget ({_secs(self.seconds)} s) is spent; "
                f"{what} was not contacted"
            )


_BUDGET: ContextVar[NetworkBudget | None] = ContextVar("gre_network_budget", default=None)


@contextmanager
def network_budget(seconds: float) -> Iterator[NetworkBudget]:
    """Network calls made in this context (and in contexts copied from it) share ``seconds``.

    A run enters it once per photo (``settings.network_budget_s``); worker threads see it
    when they run in a copy of the context (``contextvars.copy_context().run``).
    """
    budget = NetworkBudget(seconds)
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


def current_budget() -> NetworkBudget | None:
    """The budget of the photo being run, or None outside one."""
    return _BUDGET.get()


def _unreachable(exc: httpx.ConnectError) -> bool:
    text = str(exc).lower()
    return any(marker in text for marker in (*_DNS_FAILURES, *_NO_ROUTE))


# ------------------------------------------------------------------ the client


class HttpClient:
    """A shared, polite HTTP client for the tools of one process.

    ``timeout_s`` bounds each read, ``connect_s`` each connection (lookup, TCP, TLS),
    and ``deadline_s`` (``settings.tool_timeout_s`` by default) a whole request,
    retries included; the photo's :class:`NetworkBudget`, when one is set, can only
    shorten it.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout_s: float = 30.0,
        backoff_s: float = 1.0,
        down_cooldown_s: float = DOWN_COOLDOWN_S,
        deadline_s: float | None = None,
        connect_s: float | None = None,
        breaker: Breaker | None = None,
    ) -> None:
        self.settings = settings
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.connect_s = connect_s if connect_s is not None else min(CONNECT_TIMEOUT_S, timeout_s)
        self.deadline_s = deadline_s if deadline_s is not None else settings.tool_timeout_s
        self.breaker = breaker if breaker is not None else Breaker(down_cooldown_s)
        self._client = httpx.Client(
            headers={"User-Agent": settings.user_agent},
            timeout=httpx.Timeout(timeout_s, connect=self.connect_s),
            transport=transport,
            follow_redirects=True,
        )
        self._cache = SqliteCache(Path(settings.cache_dir) / "http" / "responses.sqlite")
        self._next_slot: dict[str, float] = {}
        self._host_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    @property
    def down_cooldown_s(self) -> float:
        return self.breaker.cooldown_s

    def _wait_turn(self, host: str, min_interval_s: float) -> None:
        """Block until ``host`` may be called again (one caller at a time per host)."""
        if min_interval_s <= 0:
            return
        with self._lock:
            lock = self._host_locks.setdefault(host, threading.Lock())
        with lock:
            now = time.monotonic()
            wait = self._next_slot.get(host, 0.0) - now
            if wait > 0:
                time.sleep(wait)
            self._next_slot[host] = max(now, self._next_slot.get(host, 0.0)) + min_interval_s

    def request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | str | None = None,
        headers: dict[str, str] | None = None,
        min_interval_s: float = 0.0,
        cache_ttl_s: float = 0.0,
        retries: int = 2,
        max_bytes: int = MAX_BYTES,
    ) -> HttpResponse:
        """One request: cached if allowed, rate limited per host, retried on 429/5xx/errors."""
        host = urlsplit(url).netloc
        if self.settings.offline:
            raise HttpError(f"offline: {host} was not contacted")
        key = hashlib.sha256(
            json.dumps([method.upper(), url, params or {}, data or ""], sort_keys=True).encode()
        ).hexdigest()
        if cache_ttl_s > 0:
            cached = self._cache.get(key, cache_ttl_s)
            if cached is not None:
                return _unpack(cached)
        budget = current_budget()
        if budget is not None:
            budget.check(host)
        self.breaker.check(host)
        kwargs: dict[str, Any] = {"params": params, "headers": headers}
        if isinstance(data, str):
            kwargs["content"] = data.encode()
        elif data is not None:
            kwargs["data"] = data
        started = time.monotonic()
        allowed = self.deadline_s
        by_budget = budget is not None and budget.left() < allowed
        if budget is not None:
            allowed = min(allowed, budget.left())
        try:
            response = self._tries(
                method,
                url,
                host,
                kwargs,
                started + allowed,
                by_budget,
                min_interval_s,
                retries,
                max_bytes,
            )
        finally:
            if budget is not None:
                budget.spend(time.monotonic() - started)
        if cache_ttl_s > 0:
            self._cache.put(key, _pack(response))
        return response

    def _tries(
        self,
        method: str,
        url: str,
        host: str,
        kwargs: dict[str, Any],
        deadline: float,
        by_budget: bool,
        min_interval_s: float,
        retries: int,
        max_bytes: int,
    ) -> HttpResponse:
        last = ""
        tries = 0
        out_of_time = False
        for attempt in range(retries + 1):
            self._wait_turn(host, min_interval_s)
            left = deadline - time.monotonic()
            if left <= 0:
                out_of_time = True
                break
            wait: float | None = None
            try:
                with self.breaker.first_contact(host, left):
                    self.breaker.check(host)
                    left = deadline - time.monotonic()
                    tries += 1
                    response = bounded_fetch(
                        self._client,
                        method,
                        url,
                        deadline_s=left,
                        max_bytes=max_bytes,
                        connect_s=self.connect_s,
                        read_s=self.timeout_s,
                        **kwargs,
                    )
                    self.breaker.answered(host)
            except (httpx.TimeoutException, TooSlow) as exc:
                last = describe(exc)
                if by_budget and time.monotonic() >= deadline - 0.05:
                    raise BudgetSpent(
                        f"{host} failed: {last}; the photo's network budget is spent"
                    ) from None
                if not isinstance(exc, httpx.PoolTimeout):  # the pool is ours, not the host's
                    self.breaker.trip(host, last)
                break
            except httpx.ConnectError as exc:
                last = describe(exc)
                if _unreachable(exc):
                    self.breaker.trip(host, last)
                    break
            except httpx.HTTPError as exc:
                last = describe(exc)
            else:
                if response.status == 200:
                    return response
                last = f"HTTP {response.status}"
                if response.status not in RETRY_STATUS:
                    raise HttpError(f"{host} answered {last}: {_one_line(response.text, 200)}")
                wait = retry_after_s(response.headers.get("retry-after"))
                room = min(MAX_BACKOFF_S, deadline - time.monotonic())
                if wait is not None and wait > room:
                    self._rest(host, last, wait)
            if attempt < retries:
                backoff = min(MAX_BACKOFF_S, self.backoff_s * 2**attempt)
                pause = wait if wait is not None else backoff * (0.5 + random.random() / 2)
                if time.monotonic() + pause >= deadline:
                    out_of_time = True
                    break
                time.sleep(pause)
        if last == "HTTP 429":
            raise RateLimited(f"{host} is rate limiting (HTTP 429 after {tries} tries)")
        if last.startswith("ConnectError"):
            self.breaker.trip(host, last)
        if tries == 0 and by_budget:
            raise BudgetSpent(f"{host} was not contacted: the photo's network budget is spent")
        if tries == 0:
            raise HttpError(f"{host} was not contacted: no time left of {_secs(self.deadline_s)} s")
        plural = "try" if tries == 1 else "tries"
        late = f"; out of time ({_secs(self.deadline_s)} s)" if out_of_time else ""
        raise HttpError(f"{host} failed after {tries} {plural}: {last}{late}")

    def _rest(self, host: str, status: str, asked: float) -> None:
        """The server asks for a longer pause than this request can wait: honour it, fail now."""
        why = f"{status} with Retry-After: {_secs(asked)} s"
        self.breaker.trip(host, why, seconds=min(asked, MAX_REST_S), state="asked for a rest")
        if status == "HTTP 429":
            raise RateLimited(f"{host} is rate limiting ({why}); not retried")
        raise HttpError(f"{host} is unavailable ({why}); not retried")

    def close(self) -> None:
        self._client.close()
        self._cache.close()


_shared: dict[tuple[str, str, bool], HttpClient] = {}
_shared_lock = threading.Lock()


@atexit.register
def _close_shared() -> None:
    with _shared_lock:
        for client in _shared.values():
            client.close()
        _shared.clear()


def shared_client(settings: Settings) -> HttpClient:
    """The process's client for this cache dir, User-Agent and offline flag.

    Sharing one client is what makes rate limits hold across tools and runs; every
    shared client uses the process's :data:`BREAKER`.
    """
    key = (str(Path(settings.cache_dir).resolve()), settings.user_agent, settings.offline)
    with _shared_lock:
        client = _shared.get(key)
        if client is None:
            client = _shared[key] = HttpClient(settings, breaker=BREAKER)
        return client
