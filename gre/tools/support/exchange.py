"""One HTTP exchange with a deadline, and the errors of every network call.

:func:`bounded_fetch` runs a request that ends within its deadline however slowly
the server sends (a wall-clock limit, not a per-read one): bodies are capped while
they stream (and refused at once when ``Content-Length`` is over the cap), and a
name lookup, connect or TLS handshake that does not finish within the connect
time-out fails the request. :func:`call_within` bounds libraries that do their own
HTTP. The tools' client (:mod:`gre.tools.support.http`) and the model client share
both.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from gre.errors import GreError
from gre.tools.base import ToolError

CONNECT_TIMEOUT_S = 10.0
"""Name lookup, connect and TLS handshake together, per attempt."""

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


def one_line(text: object, limit: int = 300) -> str:
    return " ".join(str(text).split())[:limit]


def secs(seconds: float) -> str:
    return f"{round(seconds, 1):g}"


def size_text(n: int) -> str:
    return f"{n // 2**20} MiB" if n >= 2**20 and n % 2**20 == 0 else f"{n} bytes"


def describe(exc: BaseException) -> str:
    """An exception as ``Type: message`` on one line (``Type`` alone when it says nothing)."""
    text = one_line(exc)
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
                        f"{host} announced {int(declared)} bytes, more than {size_text(max_bytes)}"
                    )
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    if exchange.abandoned:
                        return
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(f"{host} sent more than {size_text(max_bytes)}")
                    if time.monotonic() > deadline:
                        raise TooSlow(f"{host} was still sending after {secs(deadline_s)} s")
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
                f"no connection to {host} within {secs(connect_s)} s (name lookup, connect or TLS)"
            )
        raise TooSlow(f"{host} could not be reached within {secs(deadline_s)} s")
    if not exchange.done.wait(max(0.0, deadline - time.monotonic())):
        exchange.abandoned = True
        raise TooSlow(f"{host} did not answer within {secs(deadline_s)} s")
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
        raise Overdue(f"no answer within {secs(seconds)} s")
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
