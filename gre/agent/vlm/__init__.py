"""Reasoning backends behind one Protocol (:class:`VLMBackend`)."""

from __future__ import annotations

from pathlib import Path

from gre.agent.vlm.base import StageContext, VLMBackend
from gre.agent.vlm.chat import ChatError, ChatModel
from gre.config import Settings
from gre.errors import GreError

__all__ = ["BackendError", "StageContext", "VLMBackend", "make_backend", "make_chat_model"]


class BackendError(GreError, RuntimeError):
    """A backend cannot be created with this configuration (one-line message)."""


def make_chat_model(settings: Settings) -> ChatModel:
    """The model runtime ``settings.backend`` names (openai, transformers or vllm)."""
    try:
        if settings.backend == "openai":
            from gre.agent.vlm.openai_http import OpenAIChat

            return OpenAIChat(settings)
        if settings.backend == "transformers":
            from gre.agent.vlm.hf import TransformersChat

            return TransformersChat(settings)
        if settings.backend == "vllm":
            from gre.agent.vlm.vllm_local import VLLMChat

            return VLLMChat(settings)
    except ChatError as exc:
        raise BackendError(str(exc)) from None
    raise BackendError(f"backend {settings.backend!r} is not a model runtime")


def make_backend(settings: Settings, *, script: Path | None = None) -> VLMBackend:
    """The backend ``settings.backend`` names, ready to propose."""
    if settings.backend == "none":
        from gre.agent.vlm.rules import RulesBackend

        return RulesBackend()
    if settings.backend == "scripted":
        from gre.agent.vlm.scripted import ScriptedBackend, ScriptError

        if script is None:
            raise BackendError("the scripted backend needs a script file (--script FILE)")
        try:
            return ScriptedBackend.from_file(script)
        except ScriptError as exc:
            raise BackendError(str(exc)) from None
    from gre.agent.vlm.model_backend import ModelBackend

    return ModelBackend(make_chat_model(settings), settings)
