"""A small OpenAI-compatible chat server on 127.0.0.1, for tests, benchmarks and dry runs.

It speaks enough of the protocol (``GET /v1/models``, ``POST /v1/chat/completions``)
for gre's ``openai`` backend, answers from a script or a function, can fail or
stall on purpose, and records every request it received::

    with FakeOpenAI(replies=[Reply(text='{"summary": "..."}')]) as server:
        settings = Settings(backend="openai", model_url=server.url, model="fake")

A reply may call functions (``Reply(text=None, tool_calls=[call("gazetteer", {...})])``,
or any raw JSON value as ``tool_calls`` to test malformed ones), and
``FakeOpenAI(refuse_tools=True)`` answers every request with ``tools`` as vLLM does
when started without ``--enable-auto-tool-choice``.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import Any

from gre.testing.local_server import LocalServer

TOOLS_REFUSED = (
    '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'
)
"""vLLM's message (HTTP 400) for a request with tools when auto tool choice is not enabled."""

_ids = itertools.count(1)


def call(name: str, arguments: Any, *, id: str | None = None) -> dict[str, Any]:
    """One well-formed tool call as an OpenAI server sends it (arguments as JSON text)."""
    return {
        "id": id if id is not None else f"chatcmpl-tool-{next(_ids):04d}",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)},
    }


def stage_of(body: dict[str, Any]) -> str | None:
    """The stage a request is for: its schema's name, else its "Stage N of 3" text."""
    name = (body.get("response_format") or {}).get("json_schema", {}).get("name", "")
    if name.startswith("gre_"):
        return str(name.removeprefix("gre_"))
    text = json.dumps(body.get("messages", []))
    found = re.search(r"Stage ([123]) of 3", text)
    return ("scene", "details", "semantic")[int(found[1]) - 1] if found else None


@dataclass(frozen=True)
class Reply:
    """One scripted answer: a completion, or an HTTP error, after an optional delay.

    ``text`` None sends ``content: null``; ``tool_calls``, when not None, is sent
    verbatim as the message's ``tool_calls`` (well-formed from :func:`call`, or not).
    """

    text: str | None = ""
    tool_calls: Any = None
    status: int = 200
    delay_s: float = 0.0
    finish_reason: str = "stop"
    retry_after: float | None = None
    prompt_tokens: int = 100
    completion_tokens: int = 20


Responder = Callable[[dict[str, Any]], Reply]


@dataclass
class FakeOpenAI:
    """The server. Use as a context manager; ``url`` is the base URL (ending in /v1)."""

    replies: list[Reply] = field(default_factory=list)
    responder: Responder | None = None
    model: str = "fake-vl"
    latency_s: float = 0.0
    max_concurrency: int = 64
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    in_flight: int = 0
    peak_in_flight: int = 0
    refused: int = 0
    refuse_tools: bool = False

    def __post_init__(self) -> None:
        self._queue: deque[Reply] = deque(self.replies)
        self._lock = threading.Lock()
        self._http = LocalServer()

    @property
    def url(self) -> str:
        return self._http.base_url + "/v1"

    def start(self) -> FakeOpenAI:
        self._http.start(_handler(self))
        return self

    def stop(self) -> None:
        self._http.stop()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def next_reply(self, body: dict[str, Any]) -> Reply:
        """The scripted reply for a request (the responder, else the queue, else empty JSON)."""
        if self.responder is not None:
            return self.responder(body)
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        return Reply(text="{}")

    def _enter(self) -> bool:
        with self._lock:
            if self.in_flight >= self.max_concurrency:
                self.refused += 1
                return False
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            return True

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1


def _handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out at once, no 40 ms stalls

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return None

        def _send(self, status: int, payload: dict[str, Any], extra: dict[str, str]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in extra.items():
                self.send_header(key, value)
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # client gave up
                self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                self._send(
                    200, {"object": "list", "data": [{"id": fake.model, "object": "model"}]}, {}
                )
            else:
                self._send(404, {"error": {"message": "not found"}}, {})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send(404, {"error": {"message": "not found"}}, {})
                return
            with fake._lock:
                fake.requests.append(body)
                fake.headers.append(dict(self.headers.items()))
            if fake.refuse_tools and body.get("tools"):
                error = {"message": TOOLS_REFUSED, "type": "BadRequestError", "param": None}
                self._send(400, {"error": {**error, "code": 400}}, {})
                return
            if not fake._enter():
                self._send(429, {"error": {"message": "too many requests in flight"}}, {})
                return
            try:
                reply = fake.next_reply(body)
                time.sleep(fake.latency_s + reply.delay_s)
            finally:
                fake._leave()
            if reply.status != 200:
                extra = {"Retry-After": f"{reply.retry_after:g}"} if reply.retry_after else {}
                self._send(reply.status, {"error": {"message": f"scripted {reply.status}"}}, extra)
                return
            message: dict[str, Any] = {"role": "assistant", "content": reply.text}
            finish = reply.finish_reason
            if reply.tool_calls is not None:
                message["tool_calls"] = reply.tool_calls
                if reply.tool_calls and finish == "stop":
                    finish = "tool_calls"  # as vLLM reports a reply that called tools
            self._send(
                200,
                {
                    "id": f"chatcmpl-{len(fake.requests)}",
                    "object": "chat.completion",
                    "model": body.get("model", fake.model),
                    "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                    "usage": {
                        "prompt_tokens": reply.prompt_tokens,
                        "completion_tokens": reply.completion_tokens,
                        "total_tokens": reply.prompt_tokens + reply.completion_tokens,
                    },
                },
                {},
            )

    return Handler
