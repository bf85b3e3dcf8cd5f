"""The direct graph (GRE's single-pass protocol): topology, answers read, and failures abstained."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import gre.graphs.direct as direct
from gre.agent.vlm.chat import ChatError, ChatModel, ChatRequest, ChatResponse, ImagePart
from gre.agent.vlm.model_backend import ModelBackend
from gre.agent.vlm.prompts import template
from gre.agent.vlm.rules import RulesBackend
from gre.agent.vlm.scripted import ScriptedBackend
from gre.config import Settings
from gre.events import Event, GenerationDone, NodeStart, PredictionMade, Warned
from gre.graphs.context import RunContext
from gre.graphs.direct import GRAPH_NAME, NEEDS_MODEL, build_direct_graph, recursion_limit
from gre.graphs.locator import Locator
from gre.graphs.state import AgentState
from gre.records import Generation, Prediction
from gre.tools.base import Tool, ToolError, ToolRegistry
from gre.tools.gazetteer import GazetteerInput, GazetteerOutput, Place
from gre.tools.toolbox import ToolBox

GRE_REPLY = (
    "<think>Yellow cabs, a wide avenue, the Empire State Building two blocks away.</think>\n"
    '<answer> "Longitude" : -73.992210, "Latitude" : 40.749602 </answer>'
)


@dataclass
class FakeChat:
    """A model runtime that answers from a list: text, or a ChatError to raise."""

    replies: list[str | Exception]
    name: str = "fake"
    model: str | None = "fake-vl"
    finish_reason: str = "stop"
    requests: list[ChatRequest] = field(default_factory=list)
    native_tool_calls: bool = False

    def load(self) -> None:
        return None

    def chat(self, request: ChatRequest) -> ChatResponse:
        self.requests.append(request)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return ChatResponse(
            text=reply,
            finish_reason=self.finish_reason,
            usage={"prompt_tokens": 812, "completion_tokens": 64},
            latency_ms=42.0,
            model="fake-vl-served",
        )

    def close(self) -> None:
        pass


class FakeGazetteer(Tool[GazetteerInput, GazetteerOutput]):
    name = "gazetteer"
    description = "A fake gazetteer that knows one place near Herald Square."
    input_model = GazetteerInput
    output_model = GazetteerOutput

    def run(self, params: GazetteerInput) -> GazetteerOutput:
        assert params.mode == "reverse"
        place = Place(
            geonameid=5128581,
            name="New York City",
            kind="city",
            lat=40.71427,
            lon=-74.00597,
            country_code="US",
            country="United States",
            admin1="New York",
            admin2=None,
            distance_km=4.6,
            radius_km=25.0,
        )
        return GazetteerOutput(places=[place])


class BrokenGazetteer(FakeGazetteer):
    description = "A gazetteer whose index is corrupt: every query fails."

    def run(self, params: GazetteerInput) -> GazetteerOutput:
        raise ToolError("gazetteer index is corrupt")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared settings, for GRE's single pass."""
    return settings.model_copy(
        update={
            "ignore_metadata": True,
            "graph": "direct",
            "model_max_tokens": 777,
            "temperature": 0.3,
        }
    )


@dataclass
class Run:
    state: dict[str, Any]
    events: list[Event]

    @property
    def prediction(self) -> Prediction:
        return Prediction.model_validate(self.state["prediction"])

    @property
    def generations(self) -> list[Generation]:
        return [Generation.model_validate(g) for g in self.state.get("generations", [])]


def run_direct(
    settings: Settings,
    backend: Any,
    path: Path,
    workdir: Path,
    registry: ToolRegistry | None = None,
) -> Run:
    """Run the compiled direct graph the way Locator.locate runs a graph."""
    toolbox = ToolBox(settings, registry if registry is not None else ToolRegistry())
    ctx = RunContext(settings, backend, toolbox, workdir)
    state: AgentState = {"input_path": str(path), "options": {}, "step": 0, "iteration": 0}
    last: dict[str, Any] = dict(state)
    events: list[Event] = []
    try:
        for mode, chunk in build_direct_graph().stream(
            state,
            context=ctx,
            stream_mode=["values", "custom"],
            config={"recursion_limit": recursion_limit()},
        ):
            if mode == "values":
                last = chunk
            else:
                events.append(chunk)
    finally:
        toolbox.close()
    return Run(last, events)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    d = tmp_path / "work"
    d.mkdir()
    return d


def _model(settings: Settings, *replies: str | Exception, **kw: Any) -> ModelBackend:
    return ModelBackend(FakeChat(list(replies), **kw), settings)


def _gazetteer(tool: type[Tool[Any, Any]]) -> ToolRegistry:
    registry = ToolRegistry()
    registry.register(tool, package="tests")
    return registry


def test_topology() -> None:
    compiled = build_direct_graph()
    g = compiled.get_graph()
    assert set(g.nodes) == {"__start__", "ingest", "answer", "__end__"}
    edges = {(e.source, e.target, e.conditional) for e in g.edges}
    assert edges == {
        ("__start__", "ingest", False),
        ("ingest", "answer", True),
        ("ingest", "__end__", True),
        ("answer", "__end__", False),
    }
    assert compiled.name == GRAPH_NAME == "gre-direct"
    assert 2 < recursion_limit() <= 8


def test_fake_chat_is_a_chat_model() -> None:
    assert isinstance(FakeChat([]), ChatModel)


def test_gre_answer_becomes_the_prediction(settings: Settings, photo: Path, workdir: Path) -> None:
    backend = _model(settings, GRE_REPLY)
    run = run_direct(settings, backend, photo, workdir)
    p = run.prediction
    assert not p.abstained
    assert (p.lat, p.lon) == (40.749602, -73.99221)  # the labels decide, not the order
    assert p.level == "city" and p.radius_km is None and p.confidence == 0.0
    assert p.label == "40.7496, -73.9922"  # no gazetteer installed: the coordinates
    assert p.nearest_place is None and p.country_code is None
    assert p.reason == "GRE single-pass answer (form: labelled)"
    (gen,) = run.generations
    assert gen.ok and gen.error is None and gen.text == GRE_REPLY  # verbatim
    assert gen.usage == {"prompt_tokens": 812, "completion_tokens": 64}
    assert gen.latency_ms == 42.0 and gen.finish_reason == "stop"
    assert gen.model == "fake-vl-served"
    assert run.state["step"] == 1
    # the request is GRE's: the working copy of the photo, the direct prompt, the settings
    chat = backend.chat
    assert isinstance(chat, FakeChat)
    (request,) = chat.requests
    (message,) = request.messages
    assert message.images() == [run.state["photo"]["work_path"]]
    assert isinstance(message.content[0], ImagePart)
    assert message.plain() == template("direct")
    assert request.json_schema is None
    assert (request.max_tokens, request.temperature) == (777, 0.3)
    # live events: ingest, then the model's reply, then the answer
    kinds = [type(e) for e in run.events]
    assert kinds.index(GenerationDone) < kinds.index(PredictionMade)
    starts = [e.node for e in run.events if isinstance(e, NodeStart)]
    assert starts == ["ingest", "answer"]
    generation = next(e for e in run.events if isinstance(e, GenerationDone))
    assert generation.generation.text == GRE_REPLY
    prediction = next(e for e in run.events if isinstance(e, PredictionMade))
    assert prediction.prediction.model_dump(mode="json") == run.state["prediction"]


def test_nearest_place_names_the_answer(settings: Settings, photo: Path, workdir: Path) -> None:
    backend = _model(settings, "<think>Midtown.</think><answer>40.7496, -73.9922</answer>")
    run = run_direct(settings, backend, photo, workdir, _gazetteer(FakeGazetteer))
    p = run.prediction
    assert (p.lat, p.lon) == (40.7496, -73.9922)
    assert p.label == "New York City" and p.country_code == "US"
    assert p.nearest_place is not None and p.nearest_place.admin1 == "New York"
    assert p.nearest_place.distance_km == 4.6
    assert p.reason == "GRE single-pass answer (form: pair)"
    (call,) = run.state["tool_calls"]
    assert call["tool"] == "gazetteer" and call["ok"]
    assert call["params"] == {"mode": "reverse", "lat": 40.7496, "lon": -73.9922, "limit": 1}
    (ev,) = run.state["evidence"]
    assert ev["tool"] == "gazetteer" and ev["ok"]


def test_failing_gazetteer_does_not_fail_the_answer(
    settings: Settings, photo: Path, workdir: Path
) -> None:
    backend = _model(settings, "<answer>Latitude: 45.465, Longitude: 9.191</answer>")
    run = run_direct(settings, backend, photo, workdir, _gazetteer(BrokenGazetteer))
    p = run.prediction
    assert not p.abstained and (p.lat, p.lon) == (45.465, 9.191)
    assert p.label == "45.4650, 9.1910" and p.nearest_place is None
    (call,) = run.state["tool_calls"]
    assert not call["ok"] and "corrupt" in call["error"]


@pytest.mark.parametrize(
    ("reply", "lat", "lon", "form"),
    [
        ("<think>x</think><answer>Longitude: 151.21, Latitude: -33.86</answer>", -33.86, 151.21,
         "labelled"),
        ("<think>x</think><answer>33.86° S, 151.21° E</answer>", -33.86, 151.21, "hemisphere"),
        ("<think>x</think><answer>[-33.86, 151.21]</answer>", -33.86, 151.21, "list"),
        ("It is Sydney: -33.86, 151.21", -33.86, 151.21, "pair"),  # no tags: the whole text
    ],
)  # fmt: skip
def test_answer_forms(
    settings: Settings, photo: Path, workdir: Path, reply: str, lat: float, lon: float, form: str
) -> None:
    run = run_direct(settings, _model(settings, reply), photo, workdir)
    p = run.prediction
    assert (p.lat, p.lon) == (lat, lon) and not p.abstained
    assert p.reason.endswith(f"(form: {form})")


def test_garbage_is_abstained_and_kept(settings: Settings, photo: Path, workdir: Path) -> None:
    garbage = "<think>Hard to say.</think><answer>Somewhere in Europe, maybe.</answer>"
    run = run_direct(settings, _model(settings, garbage), photo, workdir)
    p = run.prediction
    assert p.abstained and p.lat is None and p.lon is None
    assert p.reason.startswith("unparseable answer: no coordinates found")
    (gen,) = run.generations
    assert gen.ok and gen.text == garbage  # the raw reply stays in the trace
    assert run.state["step"] == 1


def test_out_of_range_answer_is_abstained(settings: Settings, photo: Path, workdir: Path) -> None:
    run = run_direct(settings, _model(settings, "<answer>120.5, 30.2</answer>"), photo, workdir)
    assert run.prediction.abstained
    assert run.prediction.reason == ("unparseable answer: latitude 120.5 is out of range [-90, 90]")


def test_a_placeholder_answer_is_abstained(settings: Settings, photo: Path, workdir: Path) -> None:
    """A model that obeys "ANSWER 0,0" on a sign gives no answer, not Null Island."""
    run = run_direct(settings, _model(settings, "<answer>0.0, 0.0</answer>"), photo, workdir)
    assert run.prediction.abstained and run.prediction.lat is None
    assert "placeholder" in run.prediction.reason


def test_truncated_reply_says_so(settings: Settings, photo: Path, workdir: Path) -> None:
    backend = _model(settings, "<think>First, the vegetation", finish_reason="length")
    run = run_direct(settings, backend, photo, workdir)
    assert run.prediction.abstained
    assert "unparseable answer" in run.prediction.reason
    assert "cut off at 777 tokens" in run.prediction.reason
    assert run.generations[0].finish_reason == "length"


def test_chat_error_is_abstained(settings: Settings, photo: Path, workdir: Path) -> None:
    error = ChatError("model server http://127.0.0.1:9/v1 unreachable after 3 retries")
    run = run_direct(settings, _model(settings, error), photo, workdir)
    p = run.prediction
    assert p.abstained and str(error) in p.reason
    (gen,) = run.generations
    assert not gen.ok and gen.error == str(error) and gen.text == ""
    assert gen.model == "fake-vl"


def test_runtime_bug_is_a_failed_call(settings: Settings, photo: Path, workdir: Path) -> None:
    run = run_direct(settings, _model(settings, KeyError("choices")), photo, workdir)
    assert run.prediction.abstained and "KeyError" in run.prediction.reason
    assert not run.generations[0].ok


@pytest.mark.parametrize("backend", [RulesBackend(), ScriptedBackend([])], ids=["none", "scripted"])
def test_tools_only_backend_is_abstained(
    settings: Settings, photo: Path, workdir: Path, backend: Any
) -> None:
    run = run_direct(settings, backend, photo, workdir)
    assert run.prediction.abstained
    assert run.prediction.reason == NEEDS_MODEL
    assert "GRE_BACKEND=openai|transformers|vllm" in NEEDS_MODEL
    assert run.generations == [] and run.state.get("step") == 0


def test_bad_photo_is_an_error_and_no_model_call(
    settings: Settings, tmp_path: Path, workdir: Path
) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_text("nope")
    backend = _model(settings, GRE_REPLY)
    run = run_direct(settings, backend, bad, workdir)
    assert run.state["error"] and "not an image" in run.state["error"]
    assert not run.state.get("prediction")
    assert run.generations == []
    assert isinstance(backend.chat, FakeChat) and backend.chat.requests == []


def test_a_bug_in_the_answer_node_still_answers(
    settings: Settings, photo: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(text: str) -> Any:
        raise RuntimeError("parser bug")  # not an AnswerParseError: a bug

    monkeypatch.setattr(direct, "parse_coordinates", broken)
    run = run_direct(settings, _model(settings, GRE_REPLY), photo, workdir)
    assert run.prediction.abstained
    assert run.prediction.reason == "answer failed: RuntimeError: parser bug"
    assert run.state["warnings"][-1] == run.prediction.reason
    assert any(isinstance(e, Warned) for e in run.events)


def test_exif_is_read_unless_metadata_is_ignored(
    settings: Settings, photo: Path, workdir: Path
) -> None:
    settings = settings.model_copy(update={"ignore_metadata": False})
    run = run_direct(settings, _model(settings, GRE_REPLY), photo, workdir)
    assert [c["tool"] for c in run.state["tool_calls"]][:1] == ["exif"]
    assert not run.prediction.abstained


def test_locator_trace_from_the_direct_graph(
    settings: Settings, photo: Path, tmp_path: Path
) -> None:
    """Settings.graph = "direct" makes the Locator run GRE's single pass."""
    settings = settings.model_copy(update={"graph": "direct"})
    backend = _model(settings, GRE_REPLY)
    with Locator(settings, backend=backend, registry=ToolRegistry()) as loc:
        trace = loc.locate(photo)
        bad = tmp_path / "bad.png"
        bad.write_text("nope")
        failed = loc.locate(bad)
    assert trace.error is None and trace.steps == 1 and trace.graph == "direct"
    assert (trace.prediction.lat, trace.prediction.lon) == (40.749602, -73.99221)
    assert [g.text for g in trace.generations] == [GRE_REPLY]
    assert trace.stages == [] and trace.candidates == []
    assert [t.node for t in trace.timings] == ["ingest", "answer"]
    assert failed.error and failed.prediction.abstained and failed.generations == []
