"""The openai backend against a real HTTP server on 127.0.0.1 that speaks the protocol."""

from __future__ import annotations

import base64
import io
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from gre.agent.vlm import make_backend
from gre.agent.vlm.chat import ChatError, ChatRequest, Message
from gre.agent.vlm.openai_http import OpenAIChat, base_url
from gre.config import Settings
from gre.graphs.locator import Locator
from gre.records import Stage
from gre.testing.fake_openai import FakeOpenAI, Reply, stage_of
from gre.tools.base import ToolRegistry

VALID: dict[str, dict[str, Any]] = {
    "scene": {
        "summary": "old European town centre, temperate",
        "clues": [{"kind": "architecture", "value": "half-timbered houses", "confidence": 0.7}],
        "hypotheses": [
            {"level": "country", "country_code": "FR", "confidence": 0.5, "rationale": "style"}
        ],
        "ocr_regions": [{"x0": 0.1, "y0": 0.1, "x1": 0.6, "y1": 0.5, "why": "sign"}],
    },
    "details": {
        "summary": "French road sign",
        "clues": [{"kind": "text", "value": "STRASBOURG", "confidence": 0.9}],
        "hypotheses": [],
        "ocr_regions": [],
    },
    "semantic": {
        "summary": "the sign names Strasbourg",
        "clues": [{"kind": "place_name", "value": "Strasbourg", "confidence": 0.9}],
        "hypotheses": [
            {
                "level": "city",
                "name": "Strasbourg",
                "country_code": "FR",
                "lat": 48.5734,
                "lon": 7.7521,
                "confidence": 0.8,
                "rationale": "named on the sign",
            }
        ],
    },
}


def _stage_of(body: dict[str, Any]) -> Stage:
    stage = stage_of(body)
    assert stage in ("scene", "details", "semantic")
    return stage  # type: ignore[return-value]


def by_stage(body: dict[str, Any]) -> Reply:
    return Reply(text=json.dumps(VALID[_stage_of(body)]), prompt_tokens=500)


def _settings(server: FakeOpenAI, cache: Path, **kw: Any) -> Settings:
    values: dict[str, Any] = {
        "backend": "openai",
        "model_url": server.url,
        "model": "fake-vl",
        "cache_dir": cache,
        "offline": True,
        "model_retries": 2,
        "max_steps": 3,
    }
    values.update(kw)
    return Settings(**values)


def _locate(settings: Settings, photo: Path, registry: ToolRegistry | None = None) -> Any:
    backend = make_backend(settings)
    if hasattr(backend, "chat"):
        backend.chat.backoff_s = 0.01  # keep retry tests fast
    with Locator(settings, backend=backend, registry=registry or ToolRegistry()) as loc:
        return loc.locate(photo)


def test_requests_carry_image_schema_and_a_stable_prefix(photo: Path, session_cache: Path) -> None:
    with FakeOpenAI(responder=by_stage) as server:
        settings = _settings(server, session_cache, api_key="sk-test", model_max_pixels=200_000)
        trace = _locate(settings, photo)
    assert [s.ok for s in trace.stages] == [True, True, True]
    assert len(server.requests) == 3
    first = server.requests[0]
    assert first["model"] == "fake-vl"
    assert first["response_format"]["type"] == "json_schema"
    assert "guided_json" not in first
    schema = first["response_format"]["json_schema"]["schema"]
    assert schema["$defs"]["ClueOut"]["properties"]["kind"]["enum"][0] == "setting"
    semantic = server.requests[2]["response_format"]["json_schema"]["schema"]["properties"]
    assert "osm_queries" not in semantic and "search_queries" not in semantic
    system, user = first["messages"][:2]
    assert system["role"] == "system" and "geolocation" in system["content"]
    image, text = user["content"][0], user["content"][1]
    assert image["type"] == "image_url" and text["type"] == "text"
    url = image["image_url"]["url"]
    assert url.startswith("data:image/jpeg;base64,")
    sent = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert sent.width * sent.height <= 200_000 and sent.width / sent.height == pytest.approx(
        4 / 3, rel=0.01
    )
    # every stage of the photo repeats the same system prompt and image bytes first
    for req in server.requests[1:]:
        assert req["messages"][0] == system
        assert req["messages"][1]["content"][0] == image
    assert [_stage_of(r) for r in server.requests] == ["scene", "details", "semantic"]
    assert server.headers[0]["Authorization"] == "Bearer sk-test"
    assert server.headers[0]["User-Agent"].startswith("gre-suite/")
    # what the model said flowed through the graph and was verified
    assert trace.prediction.label.startswith("Strasbourg")
    assert trace.stages[0].usage["prompt_tokens"] == 500
    assert trace.stages[0].raw and "half-timbered" in trace.stages[0].raw
    assert trace.model == "fake-vl" and trace.backend == "openai"


def test_later_stages_see_earlier_clues(photo: Path, session_cache: Path) -> None:
    with FakeOpenAI(responder=by_stage) as server:
        _locate(_settings(server, session_cache), photo)
    semantic_text = server.requests[2]["messages"][1]["content"][1]["text"]
    assert "half-timbered houses" in semantic_text and "STRASBOURG" in semantic_text


def test_429_and_500_are_retried(photo: Path, session_cache: Path) -> None:
    replies = [
        Reply(status=429, retry_after=0.01),
        Reply(status=503),
        Reply(text=json.dumps(VALID["scene"])),
    ]
    with FakeOpenAI(replies=replies) as server:
        settings = _settings(server, session_cache, max_steps=3)
        chat = OpenAIChat(settings, backoff_s=0.01)
        reply = chat.chat(_request())
        chat.close()
    assert len(server.requests) == 3
    assert "half-timbered" in reply.text


def test_persistent_errors_become_a_failed_stage(photo: Path, session_cache: Path) -> None:
    with FakeOpenAI(responder=lambda body: Reply(status=500)) as server:
        trace = _locate(_settings(server, session_cache, model_retries=1), photo)
    assert [s.ok for s in trace.stages] == [False, False, False]
    assert "failed after 2 attempt(s): HTTP 500" in (trace.stages[0].error or "")
    assert len(server.requests) == 6
    assert trace.prediction.abstained and trace.error is None


def test_timeouts_and_refused_connections_fail_cleanly(photo: Path, session_cache: Path) -> None:
    with FakeOpenAI(responder=lambda body: Reply(text="{}", delay_s=1.0)) as server:
        settings = _settings(server, session_cache, model_timeout_s=0.2, model_retries=1)
        trace = _locate(settings, photo)
    assert not trace.stages[0].ok and "timed out" in (trace.stages[0].error or "")
    dead = Settings(
        backend="openai",
        model_url="http://127.0.0.1:9/v1",
        model="x",
        cache_dir=session_cache,
        model_retries=0,
        max_steps=3,
    )
    trace = _locate(dead, photo)
    assert not trace.stages[0].ok and "ConnectError" in (trace.stages[0].error or "")
    assert trace.prediction.abstained


def test_client_errors_are_not_retried(session_cache: Path) -> None:
    with FakeOpenAI(replies=[Reply(status=400)]) as server:
        chat = OpenAIChat(_settings(server, session_cache), backoff_s=0.01)
        with pytest.raises(ChatError, match="refused the request: HTTP 400"):
            chat.chat(_request())
    assert len(server.requests) == 1


def test_invalid_output_is_retried_with_the_error(photo: Path, session_cache: Path) -> None:
    good = json.dumps(VALID["scene"])
    replies = [Reply(text="I think it is France."), Reply(text=good)]
    with FakeOpenAI(replies=replies) as server:
        settings = _settings(server, session_cache)
        trace = _locate(settings, photo)
    scene = trace.stages[0]
    assert scene.ok and scene.attempts == 2 and not scene.repaired
    retry = server.requests[1]["messages"]
    assert retry[-2] == {"role": "assistant", "content": "I think it is France."}
    assert "not valid" in retry[-1]["content"] and "JSON" in retry[-1]["content"]


def test_twice_invalid_output_is_repaired_or_failed(photo: Path, session_cache: Path) -> None:
    salvage = (
        'Sure! {"summary": "coastal town", "clues": [{"kind": "mood", "value": "x", '
        '"confidence": 0.5}, {"kind": "terrain", "value": "cliffs", "confidence": 0.6}]}'
        " hope it helps"
    )
    replies = [
        Reply(text="nope"),
        Reply(text=salvage),
        Reply(text="nope"),
        Reply(text="still nope"),
    ]
    with FakeOpenAI(replies=replies) as server:
        trace = _locate(_settings(server, session_cache), photo)
    scene, details = trace.stages[0], trace.stages[1]
    assert scene.ok and scene.repaired
    assert [c.value for c in scene.clues] == ["cliffs"]
    assert "mood" in (scene.error or "")
    assert not details.ok and "repair failed" in (details.error or "")
    assert details.raw == "still nope"


def test_truncated_output_is_retried(photo: Path, session_cache: Path) -> None:
    replies = [
        Reply(text='{"summary": "a very lo', finish_reason="length"),
        Reply(text=json.dumps(VALID["scene"])),
    ]
    with FakeOpenAI(replies=replies) as server:
        trace = _locate(_settings(server, session_cache), photo)
    assert trace.stages[0].ok and trace.stages[0].attempts == 2
    assert "cut off" in server.requests[1]["messages"][-1]["content"]


def test_concurrency_is_bounded_across_callers(session_cache: Path) -> None:
    with FakeOpenAI(responder=lambda body: Reply(text="{}"), latency_s=0.15) as server:
        chat = OpenAIChat(_settings(server, session_cache, model_concurrency=2))
        threads = [threading.Thread(target=chat.chat, args=(_request(),)) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        chat.close()
    assert len(server.requests) == 6
    assert server.peak_in_flight == 2


def test_model_name_is_discovered_and_base_url_normalised(session_cache: Path) -> None:
    assert base_url("http://h:8000") == "http://h:8000/v1"
    assert base_url("http://h:8000/v1/") == "http://h:8000/v1"
    assert base_url("https://api.example.com/openai/v1") == "https://api.example.com/openai/v1"
    with FakeOpenAI(replies=[Reply(text="hi")], model="served-model") as server:
        settings = _settings(server, session_cache, model=None)
        chat = OpenAIChat(settings)
        assert chat.models() == ["served-model"]
        chat.chat(_request())
        chat.close()
    assert server.requests[0]["model"] == "served-model"


def test_missing_url_is_a_clear_error() -> None:
    with pytest.raises(ChatError, match="GRE_MODEL_URL"):
        OpenAIChat(Settings(backend="openai"))


def _request() -> ChatRequest:
    return ChatRequest(messages=[Message.text("user", "hello")], max_tokens=8)


def test_load_checks_the_server_and_the_model(session_cache: Path) -> None:
    with FakeOpenAI(model="gre-7b") as server:
        chats = [
            OpenAIChat(_settings(server, session_cache, model=m)) for m in ("gre-7b", "other", None)
        ]
        good, other, auto = chats
        good.load()
        with pytest.raises(ChatError, match="serves gre-7b, not 'other'"):
            other.load()
        auto.load()
        assert auto.model == "gre-7b"
        for chat in chats:
            chat.close()


def test_the_backend_declares_follow_ups_and_function_calling(session_cache: Path) -> None:
    with FakeOpenAI() as server:
        native = make_backend(_settings(server, session_cache))
        fielded = make_backend(_settings(server, session_cache, model_tool_calling="off"))
    assert native.capabilities.follow_up and native.capabilities.native_tool_calls
    assert fielded.capabilities.follow_up and not fielded.capabilities.native_tool_calls


def test_the_setting_reads_its_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRE_MODEL_TOOL_CALLING", raising=False)
    assert Settings().model_tool_calling == "auto"
    monkeypatch.setenv("GRE_MODEL_TOOL_CALLING", "off")
    assert Settings().model_tool_calling == "off"
    monkeypatch.setenv("GRE_MODEL_TOOL_CALLING", "sometimes")
    with pytest.raises(ValueError, match="auto"):
        Settings()
