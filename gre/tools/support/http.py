"""The one HTTP path of every network tool: User-Agent, per-host rate limits, retries, a disk cache.

OpenStreetMap's public services ask for an identifying User-Agent, at most one
request per second (Nominatim) and caching of repeated queries; this client
does all three for every tool, so no tool can forget. Responses are cached in
SQLite under the cache directory, keyed by method, URL, parameters and body.

Faults are bounded too: each try is one :func:`~gre.tools.support.exchange.bounded_fetch`
(a wall-clock deadline, a body cap), a host that could not be reached opens the
process's :class:`~gre.tools.support.breaker.Breaker`, and a photo's calls draw on
its :class:`~gre.tools.support.breaker.NetworkBudget`. The names of those modules
are re-exported here, the one import path of the tools.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import random
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from gre.config import Settings
from gre.tools.support.breaker import (
    BREAKER,
    DOWN_COOLDOWN_S,
    MAX_REST_S,
    Breaker,
    NetworkBudget,
    current_budget,
    network_budget,
)
from gre.tools.support.cache import SqliteCache
from gre.tools.support.exchange import (
    CONNECT_TIMEOUT_S,
    BudgetSpent,
    HttpError,
    HttpResponse,
    Overdue,
    RateLimited,
    TooLarge,
    TooSlow,
    bounded_fetch,
    call_within,
    describe,
    one_line,
    retry_after_s,
    secs,
)

__all__ = [
    "BREAKER",
    "CONNECT_TIMEOUT_S",
    "MAX_BYTES",
    "Breaker",
    "BudgetSpent",
    "HttpClient",
    "HttpError",
    "HttpResponse",
    "NetworkBudget",
    "Overdue",
    "RateLimited",
    "TooLarge",
    "TooSlow",
    "bounded_fetch",
    "call_within",
    "current_budget",
    "describe",
    "network_budget",
    "retry_after_s",
    "shared_client",
]

MAX_BACKOFF_S = 60.0
"""The longest pause between tries, and the longest ``Retry-After`` honoured by waiting."""
RETRY_STATUS = frozenset({429, 502, 503, 504})
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


def _pack(response: HttpResponse) -> bytes:
    """A response as cache bytes: status and headers as one JSON line, then the body."""
    return json.dumps([response.status, response.headers]).encode() + b"\n" + response.content


def _unpack(blob: bytes) -> HttpResponse:
    head, _, content = blob.partition(b"\n")
    status, headers = json.loads(head)
    return HttpResponse(status, content, headers, from_cache=True)


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
                    raise HttpError(f"{host} answered {last}: {one_line(response.text, 200)}")
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
            raise HttpError(f"{host} was not contacted: no time left of {secs(self.deadline_s)} s")
        plural = "try" if tries == 1 else "tries"
        late = f"; out of time ({secs(self.deadline_s)} s)" if out_of_time else ""
        raise HttpError(f"{host} failed after {tries} {plural}: {last}{late}")

    def _rest(self, host: str, status: str, asked: float) -> None:
        """The server asks for a longer pause than this request can wait: honour it, fail now."""
        why = f"{status} with Retry-After: {secs(asked)} s"
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
