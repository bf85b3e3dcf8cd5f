"""The ``openai`` runtime: any OpenAI-compatible chat server (vLLM, SGLang, llama.cpp, Ollama).

Images travel as base64 JPEG data URLs, downscaled to ``model_max_pixels`` and
encoded once per photo. Structured output uses ``response_format`` of type
``json_schema`` (vLLM silently ignores the old ``guided_json`` field, so it is
not used). Requests that meet 429, 5xx, time-outs or connection errors are
retried with exponential backoff (honouring ``Retry-After`` up to
``min(MAX_BACKOFF_S, model_timeout_s)``; a longer one fails the request at once);
a semaphore shared by every run of the process bounds the requests in flight.
Each attempt ends within ``model_timeout_s`` in all (a wall-clock deadline, not a
per-read time-out) and a reply over :data:`MAX_REPLY_BYTES` is refused
(:func:`~gre.tools.support.http.bounded_fetch`).

Function calling (``model_tool_calling``): a request's ``tools`` go out with
``tool_choice: "auto"`` and the reply's ``tool_calls`` come back as
:class:`~gre.agent.vlm.chat.FunctionCall` records, checked for shape only. A
server that refuses ``tools`` (vLLM answers HTTP 400 "\"auto\" tool choice requires
--enable-auto-tool-choice and --tool-call-parser to be set") raises
:class:`~gre.agent.vlm.chat.ToolCallsRefused`; under ``auto`` that server is then
asked without tools for the rest of the process.
"""

from __future__ import annotations

import json
import random
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from gre.agent.vlm.chat import (
    ChatError,
    ChatRequest,
    ChatResponse,
    FunctionCall,
    ImagePart,
    Message,
    TextPart,
    ToolCallsRefused,
)
from gre.agent.vlm.images import DataUrlCache
from gre.agent.vlm.lanes import ClientLanes
from gre.config import Settings
from gre.tools.support.http import (
    CONNECT_TIMEOUT_S,
    HttpError,
    HttpResponse,
    TooLarge,
    bounded_fetch,
    retry_after_s,
)

MAX_BACKOFF_S = 30.0
MAX_REPLY_BYTES = 8 * 2**20
"""The largest reply accepted from a model server (a completion of 32k tokens is ~0.2 MiB)."""

_NO_TOOLS: set[str] = set()
"""Servers (base URLs) that refused ``tools`` in this process."""
_NO_TOOLS_LOCK = threading.Lock()


def base_url(url: str) -> str:
    """The API base: ``http://host:8000`` and ``http://host:8000/v1/`` both give ``…/v1``."""
    url = url.rstrip("/")
    return url if urlsplit(url).path not in ("", "/") else url + "/v1"


def _wire_call(call: FunctionCall) -> dict[str, Any]:
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments or "{}"},
    }


def _wire_turn(message: Message) -> dict[str, Any]:
    if message.tool_calls:
        return {
            "role": "assistant",
            "content": message.plain() or None,
            "tool_calls": [_wire_call(c) for c in message.tool_calls],
        }
    return {"role": "tool", "tool_call_id": message.tool_call_id or "", "content": message.plain()}


def openai_messages(
    request: ChatRequest, images: DataUrlCache, max_pixels: int
) -> list[dict[str, Any]]:
    """Our messages in the OpenAI chat format, images inline as data URLs."""
    out: list[dict[str, Any]] = []
    for message in request.messages:
        if message.tool_calls or message.role == "tool":
            out.append(_wire_turn(message))
            continue
        if message.role != "user" or not message.images():
            out.append({"role": message.role, "content": message.plain()})
            continue
        parts: list[dict[str, Any]] = []
        for part in message.content:
            if isinstance(part, ImagePart):
                url = images.get(part.path, max_pixels)
                parts.append({"type": "image_url", "image_url": {"url": url}})
            elif isinstance(part, TextPart):
                parts.append({"type": "text", "text": part.text})
        out.append({"role": "user", "content": parts})
    return out


def _error_message(response: httpx.Response) -> str:
    try:
        data = response.json()
        message = data.get("error", {}).get("message") or data.get("message") or data
    except ValueError:
        message = response.text
    return " ".join(str(message).split())[:300]


def refuses_tools(response: httpx.Response) -> bool:
    """A client error that says the server does not take ``tools`` (vLLM, llama.cpp, …)."""
    return (
        400 <= response.status_code < 500
        and response.status_code != 429
        and ("tool" in _error_message(response).lower())
    )


def _wire_calls(raw: Any) -> tuple[list[FunctionCall], list[str]]:
    """A reply's ``tool_calls`` as records; what cannot be read is said, never raised."""
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        return [], [f"the reply's tool_calls is a {type(raw).__name__}, not a list; ignored"]
    calls: list[FunctionCall] = []
    for item in raw:
        if not isinstance(item, dict):
            calls.append(FunctionCall(problem=f"the call is a {type(item).__name__}"))
            continue
        call_id = item.get("id")
        call_id = call_id if isinstance(call_id, str) else ""
        function = item.get("function")
        if not isinstance(function, dict):
            calls.append(FunctionCall(id=call_id, problem="the call has no function object"))
            continue
        name = function.get("name")
        arguments = function.get("arguments")
        problem = None
        if isinstance(arguments, dict):  # some servers send the object itself
            arguments = json.dumps(arguments, ensure_ascii=False)
        elif arguments is not None and not isinstance(arguments, str):
            problem = f"its arguments are a {type(arguments).__name__}, not JSON text"
            arguments = ""
        calls.append(
            FunctionCall(
                id=call_id,
                name=name if isinstance(name, str) else "",
                arguments=arguments or "",
                problem=problem,
            )
        )
    return calls, []


class OpenAIChat:
    """A chat model behind an OpenAI-compatible HTTP API."""

    name = "openai"

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        backoff_s: float = 0.5,
    ) -> None:
        if not settings.model_url:
            raise ChatError(
                "the openai backend needs a server URL: set GRE_MODEL_URL "
                "(e.g. http://127.0.0.1:8000/v1 for `vllm serve`)"
            )
        self.settings = settings
        self.url = base_url(settings.model_url)
        self.model = settings.model
        self.backoff_s = backoff_s
        headers = {"User-Agent": settings.user_agent}
        if settings.api_key is not None:
            headers["Authorization"] = f"Bearer {settings.api_key.get_secret_value()}"
        timeout = httpx.Timeout(
            settings.model_timeout_s, connect=min(10.0, settings.model_timeout_s)
        )
        tls = httpx.create_ssl_context()  # one for every lane (each costs ~40 ms to make)

        def client(limits: httpx.Limits) -> httpx.Client:
            return httpx.Client(
                timeout=timeout, headers=headers, transport=transport, limits=limits, verify=tls
            )

        self._lanes = ClientLanes(client, settings.model_concurrency)
        self._slots = threading.BoundedSemaphore(settings.model_concurrency)
        self._images = DataUrlCache()
        self._model_lock = threading.Lock()

    @property
    def native_tool_calls(self) -> bool:
        """Whether requests may carry ``tools`` (the setting, and what the server said)."""
        mode = self.settings.model_tool_calling
        if mode == "off":
            return False
        if mode == "on":
            return True
        with _NO_TOOLS_LOCK:
            return self.url not in _NO_TOOLS

    def models(self) -> list[str]:
        """The model ids the server lists (``GET /models``); raises ChatError."""
        try:
            response = self._fetch("GET", f"{self.url}/models")
        except TooLarge as exc:
            raise ChatError(f"model server at {self.url} sent too much: {exc}") from None
        except (httpx.HTTPError, HttpError) as exc:
            raise ChatError(f"model server at {self.url} unreachable: {_describe(exc)}") from None
        if response.status_code != 200:
            raise ChatError(
                f"model server at {self.url} answered HTTP {response.status_code}: "
                f"{_error_message(response)}"
            )
        try:
            return [str(m["id"]) for m in response.json().get("data", [])]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ChatError(f"model server at {self.url} sent an unreadable model list") from None

    def load(self) -> None:
        """Check the server before the first photo: it answers and serves the model."""
        served = self.models()
        with self._model_lock:
            if self.model is None and served:
                self.model = served[0]
        if not served:
            raise ChatError(f"model server at {self.url} serves no model")
        if self.model not in served:
            raise ChatError(
                f"model server at {self.url} serves {', '.join(served)}, not {self.model!r}"
            )

    def _model_name(self) -> str:
        with self._model_lock:
            if self.model is None:
                served = self.models()
                if not served:
                    raise ChatError(f"model server at {self.url} serves no model")
                self.model = served[0]
            return self.model

    def chat(self, request: ChatRequest) -> ChatResponse:
        body: dict[str, Any] = {
            "model": self._model_name(),
            "messages": openai_messages(request, self._images, self.settings.model_max_pixels),
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.json_schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": request.schema_name, "schema": request.json_schema},
            }
        if request.tools:
            body["tools"] = request.tools
            body["tool_choice"] = "auto"
        attempts = self.settings.model_retries + 1
        timeout = self.settings.model_timeout_s
        # waits between attempts never take the call past every attempt's time-out together
        overall = time.monotonic() + timeout * attempts
        patience = min(MAX_BACKOFF_S, timeout)
        last = ""
        made = 0
        for attempt in range(attempts):
            t0 = time.perf_counter()
            wait: float | None = None
            made += 1
            try:
                with self._slots:
                    response = self._fetch("POST", f"{self.url}/chat/completions", json=body)
            except TooLarge as exc:
                raise ChatError(f"model server's reply refused: {exc}") from None
            except (httpx.HTTPError, HttpError) as exc:
                last = _describe(exc)
            else:
                if response.status_code == 200:
                    return self._parse(response, (time.perf_counter() - t0) * 1000)
                last = f"HTTP {response.status_code}: {_error_message(response)}"
                if request.tools and refuses_tools(response):
                    self._refused_tools()
                    raise ToolCallsRefused(f"model server refused function calling: {last}")
                if response.status_code != 429 and response.status_code < 500:
                    raise ChatError(f"model server refused the request: {last}")
                wait = _retry_after(response)
                room = min(patience, overall - time.monotonic())
                if wait is not None and wait > room and attempt + 1 < attempts:
                    raise ChatError(
                        f"model server asks to retry after {wait:g} s, longer than gre waits "
                        f"({max(0.0, room):.0f} s); {last}"
                    )
            if attempt + 1 < attempts:
                backoff = min(MAX_BACKOFF_S, self.backoff_s * 2**attempt)
                pause = wait if wait is not None else backoff * (0.5 + random.random() / 2)
                if time.monotonic() + pause > overall:
                    break
                time.sleep(pause)
        raise ChatError(f"model server failed after {made} attempt(s): {last}")

    def _fetch(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One exchange within ``model_timeout_s`` in all, the body capped; raises httpx's
        errors and HttpError (TooSlow, TooLarge)."""
        timeout = self.settings.model_timeout_s
        with self._lanes.lease() as client:
            got: HttpResponse = bounded_fetch(
                client,
                method,
                url,
                deadline_s=timeout,
                max_bytes=MAX_REPLY_BYTES,
                connect_s=min(CONNECT_TIMEOUT_S, timeout),
                **kwargs,
            )
        # the body is decoded already: its encoding headers no longer apply
        headers = {
            k: v
            for k, v in got.headers.items()
            if k not in ("content-encoding", "transfer-encoding", "content-length")
        }
        return httpx.Response(got.status, headers=headers, content=got.content)

    def _refused_tools(self) -> None:
        if self.settings.model_tool_calling == "auto":
            with _NO_TOOLS_LOCK:
                _NO_TOOLS.add(self.url)

    def _parse(self, response: httpx.Response, latency_ms: float) -> ChatResponse:
        try:
            data = response.json()
            choice = data["choices"][0]
            message = choice["message"]
            text = message.get("content") or ""
            calls, problems = _wire_calls(message.get("tool_calls"))
            usage = {k: int(v) for k, v in (data.get("usage") or {}).items() if isinstance(v, int)}
            return ChatResponse(
                text=str(text),
                finish_reason=choice.get("finish_reason"),
                usage=usage,
                latency_ms=latency_ms,
                model=data.get("model"),
                tool_calls=calls,
                problems=problems,
            )
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise ChatError("model server sent a reply that is not a chat completion") from None

    def close(self) -> None:
        self._lanes.close()


def _describe(exc: httpx.HTTPError | HttpError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    if isinstance(exc, TimeoutError):
        return f"timed out ({' '.join(str(exc).split())})"
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _retry_after(response: httpx.Response) -> float | None:
    """The seconds the server's ``Retry-After`` asks for, or None (never capped here)."""
    return retry_after_s(response.headers.get("Retry-After"))
