"""``--offline`` with the transformers backend and a hub id: the hub's offline switches are set
before transformers (and huggingface_hub) are imported, so no name is ever looked up."""

from __future__ import annotations

import importlib.util
import os
import sys
from types import ModuleType
from typing import Any

import pytest

from gre.agent.vlm import hf
from gre.agent.vlm.chat import ChatError
from gre.config import Settings

HUB_ID = "Qwen/Qwen2.5-VL-7B-Instruct"


@pytest.fixture
def imports(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """torch and transformers look installed; importing them records the environment."""
    for name in hf.HUB_OFFLINE_SWITCHES:
        monkeypatch.delenv(name, raising=False)
    real_find_spec = importlib.util.find_spec
    seen: dict[str, Any] = {}

    def find_spec(name: str, *args: Any, **kwargs: Any) -> Any:
        if name in ("torch", "transformers"):
            return object()
        return real_find_spec(name, *args, **kwargs)

    def modules() -> tuple[Any, Any]:
        seen["env"] = {name: os.environ.get(name) for name in hf.HUB_OFFLINE_SWITCHES}
        raise ChatError("import stopped here by the test")

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.setattr(hf, "_modules", modules)
    return seen


def test_offline_sets_the_hub_switches_before_the_import(imports: dict[str, Any]) -> None:
    chat = hf.TransformersChat(Settings(backend="transformers", model=HUB_ID, offline=True))
    with pytest.raises(ChatError, match="stopped here"):
        chat.load()
    assert imports["env"] == {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def test_online_leaves_the_hub_switches_alone(imports: dict[str, Any]) -> None:
    chat = hf.TransformersChat(Settings(backend="transformers", model=HUB_ID, offline=False))
    with pytest.raises(ChatError, match="stopped here"):
        chat.load()
    assert imports["env"] == {"HF_HUB_OFFLINE": None, "TRANSFORMERS_OFFLINE": None}


def test_a_hub_client_imported_earlier_is_switched_over(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in hf.HUB_OFFLINE_SWITCHES:
        monkeypatch.delenv(name, raising=False)
    constants = ModuleType("huggingface_hub.constants")
    constants.HF_HUB_OFFLINE = False  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "huggingface_hub.constants", constants)
    hf.hub_offline()
    assert constants.HF_HUB_OFFLINE is True  # type: ignore[attr-defined]
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"


def test_the_vllm_backend_sets_the_switches_before_importing_vllm(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gre.agent.vlm import vllm_local

    for name in hf.HUB_OFFLINE_SWITCHES:
        monkeypatch.delenv(name, raising=False)
    real_find_spec = importlib.util.find_spec
    seen: dict[str, Any] = {}

    def find_spec(name: str, *args: Any, **kwargs: Any) -> Any:
        return object() if name == "vllm" else real_find_spec(name, *args, **kwargs)

    def fake_vllm() -> Any:
        seen["env"] = {name: os.environ.get(name) for name in hf.HUB_OFFLINE_SWITCHES}
        raise ChatError("import stopped here by the test")

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.setattr(vllm_local, "_vllm", fake_vllm)
    chat = vllm_local.VLLMChat(Settings(backend="vllm", model=HUB_ID, offline=True))
    with pytest.raises(ChatError, match="stopped here"):
        chat.load()
    assert seen["env"] == {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
