"""The in-process vLLM runtime: a clear error without vLLM, and the calls it makes to vLLM."""

from __future__ import annotations

import importlib.machinery
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from gre.agent.vlm import BackendError, make_backend
from gre.agent.vlm.chat import ChatError, ChatRequest, ImagePart, Message, TextPart
from gre.agent.vlm.vllm_local import VLLMChat
from gre.config import Settings


def test_missing_vllm_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "vllm", None)  # import and find_spec both fail
    with pytest.raises(BackendError, match="needs vLLM"):
        make_backend(Settings(backend="vllm", model="Qwen/Qwen2.5-VL-7B-Instruct"))
    with pytest.raises(BackendError, match="needs a model"):
        make_backend(Settings(backend="vllm"))


class _Out:
    def __init__(self, text: str) -> None:
        self.text = text
        self.token_ids = [1, 2, 3]
        self.finish_reason = "stop"


class _Result:
    def __init__(self, text: str) -> None:
        self.prompt_token_ids = list(range(40))
        self.outputs = [_Out(text)]


@pytest.fixture
def fake_vllm(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    vllm = types.ModuleType("vllm")
    vllm.__spec__ = importlib.machinery.ModuleSpec("vllm", None)
    params = types.ModuleType("vllm.sampling_params")

    class StructuredOutputsParams:
        def __init__(self, json: dict[str, Any]) -> None:
            self.json = json

    class SamplingParams:
        def __init__(self, **kwargs: Any) -> None:
            seen["sampling"] = kwargs

    class LLM:
        def __init__(self, **kwargs: Any) -> None:
            seen["llm"] = kwargs

        def chat(
            self, messages: list[dict[str, Any]], sampling: Any, use_tqdm: bool
        ) -> list[_Result]:
            seen["messages"] = messages
            return [_Result('{"summary": "ok"}')]

    params.StructuredOutputsParams = StructuredOutputsParams  # type: ignore[attr-defined]
    vllm.sampling_params = params  # type: ignore[attr-defined]
    vllm.SamplingParams = SamplingParams  # type: ignore[attr-defined]
    vllm.LLM = LLM  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "vllm", vllm)
    monkeypatch.setitem(sys.modules, "vllm.sampling_params", params)
    return seen


def test_calls_vllm_with_prefix_caching_schema_and_image(
    fake_vllm: dict[str, Any], tmp_path: Path
) -> None:
    image = tmp_path / "p.jpg"
    Image.new("RGB", (2000, 1000)).save(image)
    chat = VLLMChat(Settings(backend="vllm", model="/models/gre", model_max_pixels=100_000))
    request = ChatRequest(
        messages=[
            Message.text("system", "sys"),
            Message(role="user", content=[ImagePart(path=str(image)), TextPart(text="where?")]),
        ],
        json_schema={"type": "object"},
        max_tokens=64,
    )
    reply = chat.chat(request)
    assert reply.text == '{"summary": "ok"}'
    assert reply.usage == {"prompt_tokens": 40, "completion_tokens": 3, "total_tokens": 43}
    llm = fake_vllm["llm"]
    assert llm["model"] == "/models/gre" and llm["enable_prefix_caching"] is True
    assert llm["limit_mm_per_prompt"] == {"image": 1}
    assert llm["mm_processor_kwargs"] == {"max_pixels": 100_000}
    sampling = fake_vllm["sampling"]
    assert sampling["max_tokens"] == 64 and sampling["structured_outputs"].json == {
        "type": "object"
    }
    user = fake_vllm["messages"][1]["content"]
    assert user[0]["image_url"]["url"].startswith("data:image/jpeg;base64,")


def test_load_failure_is_a_chat_error(
    fake_vllm: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(**kwargs: Any) -> None:
        raise RuntimeError("CUDA out of memory")

    monkeypatch.setattr(sys.modules["vllm"], "LLM", boom)
    chat = VLLMChat(Settings(backend="vllm", model="/models/gre"))
    with pytest.raises(ChatError, match="cannot load /models/gre: CUDA out of memory"):
        chat.chat(ChatRequest(messages=[Message.text("user", "hi")]))
