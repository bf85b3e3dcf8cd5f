"""Any registered tool can be requested by the reasoner, and its result can change the answer.

The tool is ``landmark_test`` from tests/plugins/gre-test-plugins, installed for real by
entry point (not a built-in): asked for by a scripted stage, then by a model over the
OpenAI protocol (native function calls, and the JSON field when the server has none).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gre.agent.vlm import make_backend
from gre.agent.vlm.prompts import render_context
from gre.agent.vlm.scripted import ScriptedBackend
from gre.config import Settings
from gre.graphs.locator import Locator
from gre.records import StageResult, ToolRequest, Trace
from gre.testing.fake_openai import FakeOpenAI, Reply, call, stage_of
from gre.testing.plugins import InstalledPlugin

MARKER = "landmark_test knows it"
EIFFEL = (48.8584, 2.2945)
EMPTY = {"summary": "nothing more", "clues": [], "hypotheses": []}


def _asks(*requests: dict[str, Any]) -> ScriptedBackend:
    return ScriptedBackend.from_data(
        [{"stage": "scene", "summary": "a tower", "tool_requests": list(requests)}]
    )


def _run(backend: Any, photo: Path, settings: Settings) -> Trace:
    with Locator(settings, backend=backend) as loc:
        return loc.locate(photo)


def test_a_scripted_stage_requests_a_plugin_whose_claim_moves_the_answer(
    test_plugins: InstalledPlugin, photo: Path, settings: Settings
) -> None:
    backend = _asks({"tool": "landmark_test", "input": {"name": "Tour Eiffel"}})
    trace = _run(backend, photo, settings)
    (call_,) = [c for c in trace.tool_calls if c.tool == "landmark_test"]
    assert call_.ok and call_.stage == "scene"
    ev = next(e for e in trace.evidence if e.tool == "landmark_test")
    assert ev.requested_by == "scripted" and MARKER in ev.text and ev.claims
    pred = trace.prediction
    assert pred.label == "Tour Eiffel, Paris" and pred.level == "street"
    assert (pred.lat, pred.lon) == pytest.approx(EIFFEL, abs=1e-3)
    answer = next(c for c in trace.candidates if c.source == "landmark_test")
    assert answer.evidence == [ev.id] and answer.id in ev.supports  # provenance kept
    # the plugin's own rendering reaches the next stage's prompt, as quoted data
    details = next(ctx for stage, ctx in backend.calls if stage == "details")
    shown = render_context(details)
    assert MARKER in shown and shown.index("<data>") < shown.index(MARKER) < shown.index("</data>")


def test_without_the_request_the_same_photo_is_not_located(
    test_plugins: InstalledPlugin, photo: Path, settings: Settings
) -> None:
    trace = _run(_asks(), photo, settings)
    assert trace.prediction.abstained  # the claim above is what located it


def test_requests_that_cannot_run_are_failed_calls_with_a_reason(
    test_plugins: InstalledPlugin, photo: Path, settings: Settings
) -> None:
    budget = settings.model_copy(update={"max_tool_requests": 4})
    backend = _asks(
        {"tool": "no_such_tool", "input": {}},
        {"tool": "landmark_test", "input": {"name": 42}},  # invalid input
        {"tool": "overpass", "input": {"kind": "named", "name": "x"}},  # network, offline
        {"tool": "landmark_test", "input": {}, "error": "arguments are not JSON"},  # malformed
        {"tool": "landmark_test", "input": {"name": "Tour Eiffel"}},  # over the budget of 4
    )
    trace = _run(backend, photo, budget)
    failed = [c for c in trace.tool_calls if c.stage == "scene"]
    assert [c.ok for c in failed] == [False] * 5
    reasons = [c.error or "" for c in failed]
    assert "not installed" in reasons[0]
    assert "invalid input for landmark_test" in reasons[1]
    assert "offline" in reasons[2]
    assert reasons[3] == "arguments are not JSON"
    assert "budget of 4" in reasons[4]
    assert all("\n" not in r for r in reasons)
    assert trace.error is None and trace.prediction.abstained


def test_a_photo_field_is_filled_by_the_run_not_the_model(
    photo: Path, settings: Settings, tmp_path: Path
) -> None:
    secret = tmp_path / "elsewhere.png"
    backend = _asks({"tool": "ocr", "input": {"path": str(secret), "whole_image": True}})
    trace = _run(backend, photo, settings)
    asked = next(c for c in trace.tool_calls if c.tool == "ocr" and c.stage == "scene")
    assert asked.params["path"] != str(secret)
    assert asked.params["path"] == trace.photo.work_path if trace.photo else False


def _model_settings(settings: Settings, server: FakeOpenAI) -> Settings:
    return settings.model_copy(
        update={"backend": "openai", "model_url": server.url, "model": "m", "max_steps": 3}
    )


def _stage_json(body: dict[str, Any]) -> Reply:
    return Reply(text=json.dumps({**EMPTY, "summary": f"{stage_of(body)} done"}))


def test_a_model_calls_the_plugin_as_a_function(
    test_plugins: InstalledPlugin, photo: Path, settings: Settings
) -> None:
    def respond(body: dict[str, Any]) -> Reply:
        followed_up = any(m["role"] == "tool" for m in body["messages"])
        if stage_of(body) == "scene" and not followed_up:
            return Reply(text=None, tool_calls=[call("landmark_test", {"name": "Tour Eiffel"})])
        return _stage_json(body)

    with FakeOpenAI(responder=respond) as server:
        settings = _model_settings(settings, server)
        trace = _run(make_backend(settings), photo, settings)
    first = server.requests[0]
    offered = {t["function"]["name"] for t in first["tools"]}
    assert {"landmark_test", "ocr", "gazetteer"} <= offered
    follow_up = server.requests[1]
    (tool_turn,) = [m for m in follow_up["messages"] if m["role"] == "tool"]
    assert MARKER in tool_turn["content"]
    assert tool_turn["tool_call_id"] == follow_up["messages"][-3]["tool_calls"][0]["id"]
    assert trace.prediction.label == "Tour Eiffel, Paris"
    ev = next(e for e in trace.evidence if e.tool == "landmark_test")
    assert ev.requested_by == "openai" and ev.request_id.startswith("chatcmpl-tool-")


def test_a_model_without_function_calling_asks_in_its_json(
    test_plugins: InstalledPlugin, photo: Path, settings: Settings
) -> None:
    def respond(body: dict[str, Any]) -> Reply:
        assert "tools" not in body  # refused once, then never offered again
        schema = body["response_format"]["json_schema"]["schema"]
        answered = MARKER in json.dumps(body["messages"])  # the result is in the prompt
        if stage_of(body) == "scene" and "tool_requests" in schema["properties"] and not answered:
            request = {"tool": "landmark_test", "input": {"name": "Sagrada Familia"}, "why": "x"}
            return Reply(text=json.dumps({**EMPTY, "tool_requests": [request]}))
        return _stage_json(body)

    with FakeOpenAI(responder=respond, refuse_tools=True) as server:
        settings = _model_settings(settings, server)
        trace = _run(make_backend(settings), photo, settings)
    assert trace.prediction.label == "Sagrada Família, Barcelona"
    scene_calls = [s for s in trace.stages if s.stage == "scene"]
    assert scene_calls[0].tool_requests == [
        ToolRequest(tool="landmark_test", input={"name": "Sagrada Familia"}, why="x")
    ]
    assert len(scene_calls) == 2  # asked again in the stage, with the result shown


def test_a_scripted_result_keeps_its_older_fields(photo: Path, settings: Settings) -> None:
    """Scripts with ``search_queries`` still run: as requests of the search tool."""
    backend = ScriptedBackend(
        [StageResult(stage="semantic", search_queries=["Boulangerie Dupont"])]
    )
    trace = _run(backend, photo, settings)
    (search,) = [c for c in trace.tool_calls if c.tool == "search"]
    assert search.params["query"] == "Boulangerie Dupont" and search.skipped  # offline


def test_malformed_function_calls_are_failed_requests_and_the_run_answers(
    test_plugins: InstalledPlugin, photo: Path, settings: Settings
) -> None:
    broken = [
        {"id": "c1", "type": "function", "function": {"name": "landmark_test", "arguments": "{"}},
        {"id": "c2", "type": "function", "function": {"name": "rm_rf", "arguments": "{}"}},
        call("landmark_test", ["not", "an", "object"]),
    ]

    def respond(body: dict[str, Any]) -> Reply:
        followed_up = any(m["role"] == "tool" for m in body["messages"])
        if stage_of(body) == "scene" and not followed_up:
            return Reply(text=None, tool_calls=broken)
        return _stage_json(body)

    with FakeOpenAI(responder=respond) as server:
        settings = _model_settings(settings, server)
        trace = _run(make_backend(settings), photo, settings)
    asked = [c for c in trace.tool_calls if c.stage == "scene"]
    assert [c.ok for c in asked] == [False, False, False]
    errors = [c.error or "" for c in asked]
    assert "not JSON" in errors[0] and "no tool named 'rm_rf'" in errors[1]
    assert "not an object" in errors[2]
    tool_turns = [m for m in server.requests[1]["messages"] if m["role"] == "tool"]
    assert len(tool_turns) == 3 and all("error" in m["content"] for m in tool_turns)
    assert trace.error is None and trace.prediction.abstained  # nothing else located it
