"""The one HTTP path of every network tool: User-Agent, per-host rate limits, retries, a disk cache.

OpenStreetMap's public services ask for an identifying User-Agent, at most one
request per second (Nominatim) and caching of repeated queries; this client
does all three for every tool, so no tool can forget. Responses are cached in
SQLite under the cache directory, keyed by method, URL, parameters and body.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from gre.config import Settings
from gre.tools.base import ToolError
from gre.tools.support.cache import SqliteCache

MAX_BACKOFF_S = 60.0
RETRY_STATUS = frozenset({429, 502, 503, 504})
DOWN_COOLDOWN_S = 60.0  # a host that could not be reached is not tried again for this long
# Name-resolution failures: the resolver answered, so retrying within seconds cannot help.
_DNS_FAILURES = (
    "name or service not known",
    "temporary failure in name resolution",
    "nodename nor servname",
    "getaddrinfo failed",
    "no address associated",
)


class HttpError(ToolError, OSError):
    """A request failed for good; the message is one line."""


class RateLimited(HttpError):
    """The service kept answering 429 (too many requests) after the retries."""


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


class HttpClient:
    """A shared, polite HTTP client for the tools of one process."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout_s: float = 30.0,
        backoff_s: float = 1.0,
        down_cooldown_s: float = DOWN_COOLDOWN_S,
    ) -> None:
        self.settings = settings
        self.backoff_s = backoff_s
        self.down_cooldown_s = down_cooldown_s
        self._client = httpx.Client(
            headers={"User-Agent": settings.user_agent},
            timeout=httpx.Timeout(timeout_s, connect=min(10.0, timeout_s)),
            transport=transport,
            follow_redirects=True,
        )
        self._cache = SqliteCache(Path(settings.cache_dir) / "http" / "responses.sqlite")
        self._next_slot: dict[str, float] = {}
        self._host_locks: dict[str, threading.Lock] = {}
        self._down: dict[str, tuple[float, str]] = {}  # host -> (when, why) it was unreachable
        self._lock = threading.Lock()

    def _check_up(self, host: str) -> None:
        """Fail fast for a host that was unreachable moments ago (a circuit breaker)."""
        with self._lock:
            down = self._down.get(host)
        if down is None:
            return
        ago = time.monotonic() - down[0]
        if ago < self.down_cooldown_s:
            raise HttpError(
                f"{host} was unreachable {ago:.0f} s ago ({down[1]}); "
                f"not contacted again for {self.down_cooldown_s - ago:.0f} s"
            )
        with self._lock:
            self._down.pop(host, None)

    def _mark_down(self, host: str, why: str) -> None:
        with self._lock:
            self._down[host] = (time.monotonic(), why)

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
        max_bytes: int = 20 * 2**20,
    ) -> HttpResponse:
        """One request: cached if allowed, rate limited per host, retried on 429/5xx/errors."""
        if self.settings.offline:
            raise HttpError(f"offline: {urlsplit(url).netloc} was not contacted")
        key = hashlib.sha256(
            json.dumps([method.upper(), url, params or {}, data or ""], sort_keys=True).encode()
        ).hexdigest()
        if cache_ttl_s > 0:
            cached = self._cache.get(key, cache_ttl_s)
            if cached is not None:
                return _unpack(cached)
        host = urlsplit(url).netloc
        self._check_up(host)
        last = ""
        tries = 0
        for attempt in range(retries + 1):
            self._wait_turn(host, min_interval_s)
            wait: float | None = None
            tries += 1
            try:
                response = self._fetch(method, url, params, data, headers, max_bytes)
            except httpx.ConnectError as exc:
                last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                if any(marker in str(exc).lower() for marker in _DNS_FAILURES):
                    break
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            else:
                if response.status == 200:
                    if cache_ttl_s > 0:
                        self._cache.put(key, _pack(response))
                    return response
                last = f"HTTP {response.status}"
                if response.status not in RETRY_STATUS:
                    raise HttpError(f"{host} answered {last}: {response.text[:200].strip()}")
                wait = _retry_after(response.headers.get("retry-after"))
            if attempt < retries:
                backoff = min(MAX_BACKOFF_S, self.backoff_s * 2**attempt)
                time.sleep(wait if wait is not None else backoff * (0.5 + random.random() / 2))
        if last == "HTTP 429":
            raise RateLimited(f"{host} is rate limiting (HTTP 429 after {tries} tries)")
        if last.startswith(("ConnectError", "ConnectTimeout")):
            self._mark_down(host, last)
        plural = "try" if tries == 1 else "tries"
        raise HttpError(f"{host} failed after {tries} {plural}: {last}")

    def _fetch(
        self,
        method: str,
        url: str,
        params: dict[str, Any] | None,
        data: dict[str, Any] | str | None,
        headers: dict[str, str] | None,
        max_bytes: int,
    ) -> HttpResponse:
        kwargs: dict[str, Any] = {"params": params, "headers": headers}
        if isinstance(data, str):
            kwargs["content"] = data.encode()
        elif data is not None:
            kwargs["data"] = data
        with self._client.stream(method, url, **kwargs) as response:
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise HttpError(f"{urlsplit(url).netloc} sent more than {max_bytes} bytes")
                chunks.append(chunk)
            return HttpResponse(
                response.status_code,
                b"".join(chunks),
                {k.lower(): v for k, v in response.headers.items()},
            )

    def close(self) -> None:
        self._client.close()
        self._cache.close()


def _retry_after(value: str | None) -> float | None:
    try:
        return min(MAX_BACKOFF_S, max(0.0, float(value))) if value else None
    except ValueError:
        return None


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

    Sharing one client is what makes rate limits hold across tools and runs.
    """
    key = (str(Path(settings.cache_dir).resolve()), settings.user_agent, settings.offline)
    with _shared_lock:
        client = _shared.get(key)
        if client is None:
            client = _shared[key] = HttpClient(settings)
        return client
