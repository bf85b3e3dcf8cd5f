"""A scriptable HTTP server on 127.0.0.1 that replays recorded responses and records requests.

Tests of network tools point the tool at ``server.url`` and queue the real
responses of the real service (Overpass, Nominatim, a search engine)::

    with ReplayServer({"/api/interpreter": [Canned(body=overpass_json)]}) as server:
        ...
    server.requests[0].form  # what the tool sent
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from gre.testing.local_server import LocalServer


@dataclass(frozen=True)
class Canned:
    """One response: status, body, headers, and a delay before sending it."""

    body: bytes | str = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    content_type: str = "application/json"


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def form(self) -> dict[str, list[str]]:
        """The body parsed as an HTML form (``data=...`` posts)."""
        return parse_qs(self.body.decode("utf-8", errors="replace"))


@dataclass
class ReplayServer:
    """Routes (paths) to queues of canned responses; the last response of a queue repeats."""

    routes: dict[str, list[Canned]] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._queues = {path: deque(items) for path, items in self.routes.items()}
        self._lock = threading.Lock()
        self._http = LocalServer()

    @property
    def url(self) -> str:
        return self._http.base_url

    def add(self, path: str, *responses: Canned) -> None:
        with self._lock:
            self._queues.setdefault(path, deque()).extend(responses)

    def _next(self, path: str) -> Canned:
        with self._lock:
            queue = self._queues.get(path)
            if not queue:
                return Canned(body='{"error": "no canned response"}', status=404)
            return queue.popleft() if len(queue) > 1 else queue[0]

    def __enter__(self) -> ReplayServer:
        self._http.start(_handler(self))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._http.stop()


def _handler(replay: ReplayServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            return None

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            seen = Seen(
                self.command,
                parts.path,
                parse_qs(parts.query),
                {k.lower(): v for k, v in self.headers.items()},
                body,
                time.monotonic(),
            )
            with replay._lock:
                replay.requests.append(seen)
            canned = replay._next(parts.path)
            time.sleep(canned.delay_s)
            data = canned.body.encode() if isinstance(canned.body, str) else canned.body
            self.send_response(canned.status)
            self.send_header("Content-Type", canned.content_type)
            self.send_header("Content-Length", str(len(data)))
            for key, value in canned.headers.items():
                self.send_header(key, value)
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(data)

        do_GET = _serve
        do_POST = _serve

    return Handler
