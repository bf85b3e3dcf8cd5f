"""Backends by entry point (group ``gre.backends``): the built-in factories and the lookup.

A backend plugin is a factory: a callable taking the run's :class:`~gre.config.Settings`
and keyword options (today ``script: Path | None``; accept ``**options`` for the rest)
and returning an object that follows :class:`~gre.agent.vlm.base.VLMBackend`::

    [project.entry-points."gre.backends"]
    my_backend = "my_package.backend:make_my_backend"

The built-ins below register the same way (see :data:`gre.plugins.BUILTIN`). Each imports
its runtime only when called, so torch, transformers and vLLM load only for the backend
that needs them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, TypeGuard

from gre.agent.vlm.base import VLMBackend
from gre.agent.vlm.chat import ChatError, ChatModel
from gre.config import Settings
from gre.errors import GreError
from gre.plugins import PluginError, Registry

GROUP = "gre.backends"
MODEL_RUNTIMES = ("openai", "transformers", "vllm")


class BackendError(GreError, RuntimeError):
    """A backend cannot be created with this configuration (one-line message)."""


class BackendFactory(Protocol):
    """What a ``gre.backends`` entry point names."""

    def __call__(self, settings: Settings, /, **options: Any) -> VLMBackend: ...


def _is_factory(obj: object) -> TypeGuard[BackendFactory]:
    return callable(obj)  # a function or a class taking (settings, **options)


def backend_registry() -> Registry[BackendFactory]:
    """Every backend factory installed (built-ins first); broken ones are load errors."""
    return Registry.discover(GROUP, noun="backend", kind="a backend factory", check=_is_factory)


def make_backend(settings: Settings, *, script: Path | None = None) -> VLMBackend:
    """The backend ``settings.backend`` names, ready to propose; BackendError otherwise."""
    name = settings.backend
    try:
        plugin = backend_registry().plugin(name)
    except PluginError as exc:
        raise BackendError(str(exc)) from None
    try:
        backend = plugin.obj(settings, script=script)
    except BackendError:
        raise
    except GreError as exc:  # a runtime's or a script's own one-line error
        raise BackendError(str(exc)) from None
    if not isinstance(backend, VLMBackend):
        raise BackendError(
            f"backend {name!r} ({plugin.package}) made a {type(backend).__name__}, "
            "which is not a VLMBackend (name, model, propose, close)"
        )
    return backend


def chat_model(runtime: str, settings: Settings) -> ChatModel:
    """The chat runtime called ``runtime`` (openai, transformers or vllm)."""
    try:
        if runtime == "openai":
            from gre.agent.vlm.openai_http import OpenAIChat

            return OpenAIChat(settings)
        if runtime == "transformers":
            from gre.agent.vlm.hf import TransformersChat

            return TransformersChat(settings)
        if runtime == "vllm":
            from gre.agent.vlm.vllm_local import VLLMChat

            return VLLMChat(settings)
    except ChatError as exc:
        raise BackendError(str(exc)) from None
    raise BackendError(f"backend {runtime!r} is not a model runtime")


def make_chat_model(settings: Settings) -> ChatModel:
    """The model runtime ``settings.backend`` names (openai, transformers or vllm)."""
    return chat_model(settings.backend, settings)


def _model_backend(runtime: str, settings: Settings) -> VLMBackend:
    from gre.agent.vlm.model_backend import ModelBackend

    return ModelBackend(chat_model(runtime, settings), settings)


# --- the built-in factories (named in gre.plugins.BUILTIN and pyproject.toml) -------------


def rules_backend(settings: Settings, **options: Any) -> VLMBackend:
    """``none``: no model; rules over the tools' results drive the stages."""
    from gre.agent.vlm.rules import RulesBackend

    return RulesBackend()


def scripted_backend(
    settings: Settings, *, script: Path | None = None, **options: Any
) -> VLMBackend:
    """``scripted``: replays a JSON list of StageResults (tests, demos)."""
    from gre.agent.vlm.scripted import ScriptedBackend, ScriptError

    if script is None:
        raise BackendError("the scripted backend needs a script file (--script FILE)")
    try:
        return ScriptedBackend.from_file(script)
    except ScriptError as exc:
        raise BackendError(str(exc)) from None


def openai_backend(settings: Settings, **options: Any) -> VLMBackend:
    """``openai``: a model behind an OpenAI-compatible server (vLLM, llama.cpp, ...)."""
    return _model_backend("openai", settings)


def transformers_backend(settings: Settings, **options: Any) -> VLMBackend:
    """``transformers``: a Qwen2.5-VL-style model loaded in process with transformers."""
    return _model_backend("transformers", settings)


def vllm_backend(settings: Settings, **options: Any) -> VLMBackend:
    """``vllm``: a model loaded in process with vLLM's offline engine."""
    return _model_backend("vllm", settings)
