"""The openai runtime against hostile model servers on 127.0.0.1: a day's Retry-After, a reply
that trickles, one that never ends, one that announces 50 MB. Each fails the request in one
line, in bounded time and memory, and a photo's run still ends with an answer."""

from __future__ import annotations

import socket
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from gre.agent.vlm import make_backend
from gre.agent.vlm.chat import ChatError, ChatRequest, Message
from gre.agent.vlm.openai_http import MAX_REPLY_BYTES, OpenAIChat
from gre.config import Settings
from gre.graphs.locator import Locator
from gre.testing.fake_openai import FakeOpenAI, Reply
from gre.tools.base import ToolRegistry

MiB = 2**20
Behaviour = Callable[[socket.socket, threading.Event], None]
MODELS = b'{"object": "list", "data": [{"id": "fake-vl", "object": "model"}]}'


class Hostile:
    """A raw HTTP server on 127.0.0.1: ``GET …/models`` is answered (unless told not to),
    every other request is handed to ``behaviour``."""

    def __init__(self, behaviour: Behaviour, *, answer_models: bool = True) -> None:
        self.behaviour = behaviour
        self.answer_models = answer_models
        self.accepted = 0
        self.stop = threading.Event()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}/v1"

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
            while not self.stop.is_set():
                head = _read_request(conn)
                if head is None:
                    return
                if self.answer_models and b"/models " in head.split(b"\r\n")[0]:
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        + f"Content-Length: {len(MODELS)}\r\n\r\n".encode()
                        + MODELS
                    )
                    continue
                self.behaviour(conn, self.stop)
                return
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


def _read_request(conn: socket.socket) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        part = conn.recv(65536)
        if not part:
            return None
        data += part
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    while len(body) < length:
        part = conn.recv(65536)
        if not part:
            return None
        body += part
    return head


CHUNKED = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"


def trickle(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(CHUNKED + b"1\r\n{\r\n")
    while not stop.wait(0.2):
        conn.sendall(b"1\r\n \r\n")


def endless(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(CHUNKED + b'1\r\n{\r\n1\r\n"\r\n')
    chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"
    while not stop.is_set():
        conn.sendall(chunk)


def huge(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
    conn.sendall(f"Content-Length: {50 * 10**6}\r\n\r\n".encode())
    for _ in range(50 * 10**6 // 0x10000):
        if stop.is_set():
            return
        conn.sendall(b"x" * 0x10000)


def _settings(url: str, cache: Path, **kw: Any) -> Settings:
    values: dict[str, Any] = {
        "backend": "openai",
        "model_url": url,
        "model": "fake-vl",
        "cache_dir": cache,
        "offline": True,
        "model_retries": 0,
        "max_steps": 3,
    }
    return Settings(**(values | kw))


def _request() -> ChatRequest:
    return ChatRequest(messages=[Message.text("user", "hello")], max_tokens=8)


def _one_line(err: pytest.ExceptionInfo[BaseException]) -> str:
    message = str(err.value)
    assert message and "\n" not in message
    return message


def test_a_day_long_retry_after_fails_the_stage_and_the_answer_still_comes(
    photo: Path, session_cache: Path
) -> None:
    with FakeOpenAI(responder=lambda body: Reply(status=503, retry_after=99999)) as server:
        settings = _settings(server.url, session_cache, model_retries=3)
        backend = make_backend(settings)
        t0 = time.monotonic()
        with Locator(settings, backend=backend, registry=ToolRegistry()) as loc:
            trace = loc.locate(photo)
        elapsed = time.monotonic() - t0
    assert elapsed < 10.0
    assert trace.stages and not any(s.ok for s in trace.stages)
    error = trace.stages[0].error or ""
    assert "asks to retry after 99999 s" in error and "HTTP 503" in error
    assert len(server.requests) == len(trace.stages)  # one request a stage, no waiting
    assert trace.prediction.abstained and trace.error is None


def test_a_retry_after_within_the_cap_is_waited_for(session_cache: Path) -> None:
    replies = [Reply(status=429, retry_after=0.3), Reply(text="hi")]
    with FakeOpenAI(replies=replies) as server:
        chat = OpenAIChat(_settings(server.url, session_cache, model_retries=1))
        t0 = time.monotonic()
        assert chat.chat(_request()).text == "hi"
        assert time.monotonic() - t0 >= 0.29
        chat.close()


def test_a_trickling_reply_times_out_at_the_model_timeout(session_cache: Path) -> None:
    with Hostile(trickle) as server:
        chat = OpenAIChat(_settings(server.url, session_cache, model_timeout_s=1.0))
        t0 = time.monotonic()
        with pytest.raises(ChatError, match="timed out") as err:
            chat.chat(_request())
        elapsed = time.monotonic() - t0
        chat.close()
    assert 0.9 <= elapsed < 5.0
    assert "failed after 1 attempt(s)" in _one_line(err)


def test_an_endless_reply_is_cut_at_the_cap_with_bounded_memory(session_cache: Path) -> None:
    with Hostile(endless) as server:
        chat = OpenAIChat(_settings(server.url, session_cache, model_retries=2))
        tracemalloc.start()
        try:
            with pytest.raises(
                ChatError, match=f"sent more than {MAX_REPLY_BYTES // MiB} MiB"
            ) as err:
                chat.chat(_request())
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        chat.close()
    _one_line(err)
    assert peak < 48 * MiB and server.accepted == 1  # refused, not retried


def test_a_content_length_over_the_cap_is_refused_at_once(session_cache: Path) -> None:
    with Hostile(huge) as server:
        chat = OpenAIChat(_settings(server.url, session_cache))
        tracemalloc.start()
        try:
            with pytest.raises(ChatError, match="announced 50000000 bytes") as err:
                chat.chat(_request())
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        chat.close()
    _one_line(err)
    assert peak < 8 * MiB


def test_a_silent_server_is_bounded_for_the_model_list_and_the_reply(
    session_cache: Path,
) -> None:
    def stall(conn: socket.socket, stop: threading.Event) -> None:
        stop.wait(30)

    with Hostile(stall, answer_models=False) as server:
        chat = OpenAIChat(_settings(server.url, session_cache, model_timeout_s=0.5))
        t0 = time.monotonic()
        with pytest.raises(ChatError, match="unreachable: timed out") as err:
            chat.models()
        _one_line(err)
        with pytest.raises(ChatError, match="timed out"):
            chat.chat(_request())
        assert time.monotonic() - t0 < 5.0
        chat.close()
