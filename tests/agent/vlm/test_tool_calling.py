"""Tool requests from a model, against a local OpenAI-compatible server: function calls,
the follow-up conversation, the JSON-field fallback, and malformed calls that never raise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from gre.agent.vlm.base import StageContext, ToolExchange
from gre.agent.vlm.chat import ChatRequest, FunctionCall, Message, text_only
from gre.agent.vlm.hf import template_messages
from gre.agent.vlm.model_backend import ModelBackend
from gre.agent.vlm.openai_http import OpenAIChat, refuses_tools
from gre.config import Settings
from gre.records import PhotoInfo, StageResult, ToolRequest
from gre.testing.fake_openai import TOOLS_REFUSED, FakeOpenAI, Reply, call, stage_of
from gre.tools.base import ToolCard
from gre.tools.gazetteer.tool import GazetteerTool

PLAQUE = ToolCard(
    name="plaque_reader",
    description="Reads blue heritage plaques and returns the building they name.",
    input_schema={"properties": {"text": {"type": "string"}}, "required": ["text"]},
)
CARDS = [GazetteerTool.card(), PLAQUE]
ANSWER = {
    "summary": "a plaque names the building",
    "clues": [{"kind": "landmark", "value": "Rose Hall", "confidence": 0.7}],
    "hypotheses": [],
}


def _context(photo: Path, **kw: Any) -> StageContext:
    info = PhotoInfo(
        path=str(photo),
        work_path=str(photo),
        sha256="0" * 64,
        format="JPEG",
        width=64,
        height=48,
        bytes=1,
    )
    values: dict[str, Any] = {"photo": info, "tools": CARDS, "max_requests": 3}
    values.update(kw)
    return StageContext.model_validate(values)


def _backend(server: FakeOpenAI, cache: Path, **kw: Any) -> ModelBackend:
    values: dict[str, Any] = {
        "backend": "openai",
        "model_url": server.url,
        "model": "fake-vl",
        "cache_dir": cache,
        "model_retries": 0,
    }
    values.update(kw)
    settings = Settings(**values)
    return ModelBackend(OpenAIChat(settings, backoff_s=0.01), settings)


def _propose(backend: ModelBackend, photo: Path, **kw: Any) -> StageResult:
    return backend.propose("semantic", [photo], _context(photo, **kw))


def _exchange(request: ToolRequest, text: str = 'plaque names "Rose Hall"') -> ToolExchange:
    return ToolExchange(request=request, ok=request.error is None, text=text, evidence="e7")


def test_a_function_call_comes_back_as_a_request_with_its_id(
    photo: Path, session_cache: Path
) -> None:
    reply = Reply(text=None, tool_calls=[call("plaque_reader", {"text": "ROSE"}, id="call-1")])
    with FakeOpenAI(replies=[reply]) as server:
        backend = _backend(server, session_cache)
        assert backend.capabilities.follow_up and backend.capabilities.native_tool_calls
        result = _propose(backend, photo, round=0)
    assert result.ok and result.error is None and result.attempts == 1
    assert [(r.tool, r.input, r.id, r.error) for r in result.tool_requests] == [
        ("plaque_reader", {"text": "ROSE"}, "call-1", None)
    ]
    assert result.raw and "call-1" in result.raw
    body = server.requests[0]
    assert body["tool_choice"] == "auto" and "response_format" not in body
    assert [t["function"]["name"] for t in body["tools"]] == ["gazetteer", "plaque_reader"]
    assert body["tools"][1] == PLAQUE.as_function()
    system = body["messages"][0]["content"]
    assert "- plaque_reader (offline): Reads blue heritage plaques" in system  # plugins too
    stage_text = body["messages"][1]["content"][1]["text"]
    assert "matching this JSON schema" in stage_text and stage_of(body) == "semantic"


def test_the_follow_up_carries_the_call_turns_and_results(photo: Path, session_cache: Path) -> None:
    asked = ToolRequest(tool="plaque_reader", input={"text": "ROSE"}, id="call-1")
    broken = ToolRequest(tool="gazetteer", id="call-2", error="function call not usable: x")
    exchanges = [[_exchange(asked), _exchange(broken, "function call not usable: x")]]
    with FakeOpenAI(replies=[Reply(text=json.dumps(ANSWER))]) as server:
        result = _propose(
            _backend(server, session_cache), photo, round=1, exchanges=exchanges, max_requests=2
        )
    assert result.ok and result.round == 1 and result.clues[0].value == "Rose Hall"
    body = server.requests[0]
    assert body["tools"] and "response_format" not in body
    turns = body["messages"][2:]
    assert [t["role"] for t in turns] == ["assistant", "tool", "tool", "user"]
    assert turns[0]["content"] is None
    assert turns[0]["tool_calls"] == [
        {
            "id": "call-1",
            "type": "function",
            "function": {"name": "plaque_reader", "arguments": '{"text": "ROSE"}'},
        },
        {"id": "call-2", "type": "function", "function": {"name": "gazetteer", "arguments": "{}"}},
    ]
    assert turns[1] == {
        "role": "tool",
        "tool_call_id": "call-1",
        "content": '<data>\nplaque names "Rose Hall"\n</data>',
    }
    assert turns[2]["tool_call_id"] == "call-2" and "failed" in turns[2]["content"]
    assert "call up to 2 of the tools" in turns[3]["content"]


def test_the_final_round_sends_no_tools_and_the_schema(photo: Path, session_cache: Path) -> None:
    asked = ToolRequest(tool="plaque_reader", input={"text": "ROSE"}, id="call-1")
    with FakeOpenAI(replies=[Reply(text=json.dumps(ANSWER))]) as server:
        result = _propose(
            _backend(server, session_cache),
            photo,
            round=2,
            exchanges=[[_exchange(asked)]],
            max_requests=0,
        )
    assert result.ok and result.tool_requests == []
    body = server.requests[0]
    assert "tools" not in body and "tool_choice" not in body
    schema = body["response_format"]["json_schema"]["schema"]
    assert "tool_requests" not in schema["properties"]
    assert [m["role"] for m in body["messages"]] == ["system", "user", "user"]
    history = body["messages"][2]["content"]
    assert 'plaque_reader {"text": "ROSE"} → plaque names "Rose Hall"' in history
    assert "No more tool requests" in history


def test_a_server_without_tool_choice_falls_back_to_the_json_field(
    photo: Path, session_cache: Path
) -> None:
    fielded = {
        **ANSWER,
        "tool_requests": [{"tool": "gazetteer", "input": {"name": "Colmar"}, "why": "sign"}],
    }
    with FakeOpenAI(refuse_tools=True, responder=lambda b: Reply(text=json.dumps(fielded))) as s:
        backend = _backend(s, session_cache)
        result = _propose(backend, photo)
        again = _propose(_backend(s, session_cache), photo)  # the fallback sticks in the process
    assert result.ok and result.attempts == 1  # the refusal is not a failed attempt
    assert [(r.tool, r.input, r.id) for r in result.tool_requests] == [
        ("gazetteer", {"name": "Colmar"}, "")
    ]
    assert "does not take function calls" in (result.error or "")
    assert not backend.capabilities.native_tool_calls
    refused, retried, later = s.requests
    assert refused["tools"] and "response_format" not in refused
    assert "tools" not in retried and "tools" not in later
    enum = retried["response_format"]["json_schema"]["schema"]["$defs"]["ToolRequestOut"]
    assert enum["properties"]["tool"]["enum"] == ["gazetteer", "plaque_reader"]
    assert again.ok and again.error is None and again.tool_requests[0].tool == "gazetteer"


def test_tool_calling_on_or_off(photo: Path, session_cache: Path) -> None:
    with FakeOpenAI(refuse_tools=True) as server:
        result = _propose(_backend(server, session_cache, model_tool_calling="on"), photo)
    assert not result.ok and len(server.requests) == 1
    assert "refused function calling" in (result.error or "") and "--enable-auto-tool-choice" in (
        result.error or ""
    )
    with FakeOpenAI(replies=[Reply(text=json.dumps(ANSWER))]) as server:
        backend = _backend(server, session_cache, model_tool_calling="off")
        assert not backend.capabilities.native_tool_calls
        assert _propose(backend, photo).ok
    assert "tools" not in server.requests[0] and "response_format" in server.requests[0]


def test_vllm_refusals_are_recognised_in_both_error_shapes() -> None:
    old = {"object": "error", "message": TOOLS_REFUSED, "type": "BadRequestError", "code": 400}
    new = {"error": {"message": TOOLS_REFUSED, "type": "BadRequestError", "code": 400}}
    assert refuses_tools(httpx.Response(400, json=old))
    assert refuses_tools(httpx.Response(400, json=new))
    assert not refuses_tools(httpx.Response(400, json={"error": {"message": "bad max_tokens"}}))
    assert not refuses_tools(httpx.Response(500, json=new))


MALFORMED: list[tuple[str, Any, str, str]] = [
    (
        "not JSON",
        [{"id": "c1", "type": "function", "function": {"name": "gazetteer", "arguments": "{x"}}],
        "gazetteer",
        "not JSON",
    ),
    ("not an object", [call("gazetteer", [1, 2])], "gazetteer", "JSON list, not an object"),
    ("unknown name", [call("rm_rf", {})], "rm_rf", "no tool named 'rm_rf' is offered"),
    ("empty name", [call("", {})], "", "names no function"),
    (
        "missing id",
        [{"type": "function", "function": {"name": "gazetteer", "arguments": "{}"}}],
        "gazetteer",
        "no call id",
    ),
    ("no function", [{"id": "c1", "type": "function"}], "", "no function object"),
    ("not a dict", ["gazetteer"], "", "the call is a str"),
    (
        "arguments a number",
        [{"id": "c1", "function": {"name": "gazetteer", "arguments": 7}}],
        "gazetteer",
        "not JSON text",
    ),
]


@pytest.mark.parametrize(("case", "calls", "tool", "why"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_a_malformed_call_is_a_failed_request_not_an_exception(
    photo: Path, session_cache: Path, case: str, calls: Any, tool: str, why: str
) -> None:
    with FakeOpenAI(replies=[Reply(text=None, tool_calls=calls)]) as server:
        result = _propose(_backend(server, session_cache), photo)
    assert result.ok and len(result.tool_requests) == 1 and len(server.requests) == 1
    request = result.tool_requests[0]
    assert request.tool == tool and request.id
    assert request.error and why in request.error and "\n" not in request.error


def test_duplicated_ids_are_told_apart(photo: Path, session_cache: Path) -> None:
    calls = [call("gazetteer", {"name": "A"}, id="c1"), call("plaque_reader", {}, id="c1")]
    with FakeOpenAI(replies=[Reply(text=None, tool_calls=calls)]) as server:
        result = _propose(_backend(server, session_cache), photo)
    first, second = result.tool_requests
    assert (first.id, first.error) == ("c1", None)
    assert second.id != "c1" and second.error and "repeats" in second.error


def test_text_beside_calls_is_read_or_noted(photo: Path, session_cache: Path) -> None:
    calls = [call("gazetteer", {"name": "Colmar"}, id="c1")]
    replies = [
        Reply(text=json.dumps(ANSWER), tool_calls=calls),
        Reply(text="Let me check the gazetteer.", tool_calls=calls),
    ]
    with FakeOpenAI(replies=replies) as server:
        backend = _backend(server, session_cache)
        both, chatter = _propose(backend, photo), _propose(backend, photo)
    assert both.ok and both.clues[0].value == "Rose Hall" and both.tool_requests[0].id == "c1"
    assert "read as the answer" in (both.error or "")
    assert chatter.ok and chatter.clues == [] and chatter.tool_requests[0].error is None
    assert "not a stage answer; ignored" in (chatter.error or "")


def test_tool_calls_that_are_not_a_list_leave_the_answer_standing(
    photo: Path, session_cache: Path
) -> None:
    reply = Reply(text=json.dumps(ANSWER), tool_calls={"name": "gazetteer"})
    with FakeOpenAI(replies=[reply]) as server:
        result = _propose(_backend(server, session_cache), photo)
    assert result.ok and result.tool_requests == [] and result.clues[0].value == "Rose Hall"
    assert "tool_calls is a dict, not a list" in (result.error or "")


def test_calls_the_server_could_not_parse_are_failed_requests(
    photo: Path, session_cache: Path
) -> None:
    text = 'Checking.\n<tool_call>\n{"name": "gazetteer", "arguments": {"name": "Col</tool_call>'
    with FakeOpenAI(replies=[Reply(text=text)]) as server:
        result = _propose(_backend(server, session_cache), photo)
    assert result.ok and result.attempts == 1
    (request,) = result.tool_requests
    assert request.tool == "gazetteer" and request.error and "could not read it" in request.error


def test_bad_stage_json_is_still_retried_then_repaired(photo: Path, session_cache: Path) -> None:
    salvage = 'ok: {"summary": "s", "clues": [{"kind": "mood", "value": "x", "confidence": 1}]}'
    with FakeOpenAI(replies=[Reply(text="France"), Reply(text=salvage)]) as server:
        result = _propose(_backend(server, session_cache), photo)
    assert result.ok and result.repaired and result.attempts == 2
    assert server.requests[1]["tools"]  # the retry may still call tools
    assert "not valid" in server.requests[1]["messages"][-1]["content"]


def test_runtimes_without_function_calling_get_the_turns_as_text() -> None:
    turns = [
        Message.text("user", "look"),
        Message.calls([FunctionCall(id="c1", name="gazetteer", arguments='{"name": "X"}')]),
        Message.result("c1", "<data>\nfound X\n</data>"),
    ]
    plain = text_only(turns)
    assert [m.role for m in plain] == ["user", "assistant", "user"]
    assert all(not m.tool_calls and m.tool_call_id is None for m in plain)
    assert '"tool": "gazetteer"' in plain[1].plain() and "Result of call c1" in plain[2].plain()
    messages, images = template_messages(
        ChatRequest(messages=turns, json_schema={"type": "object"})
    )
    assert [m["role"] for m in messages] == ["user", "assistant", "user"] and images == []
