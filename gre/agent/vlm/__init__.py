"""Reasoning backends behind one Protocol (:class:`VLMBackend`), found by entry point."""

from __future__ import annotations

from gre.agent.vlm.backends import (
    BackendError,
    BackendFactory,
    backend_registry,
    make_backend,
    make_chat_model,
)
from gre.agent.vlm.base import StageContext, VLMBackend

__all__ = [
    "BackendError",
    "BackendFactory",
    "StageContext",
    "VLMBackend",
    "backend_registry",
    "make_backend",
    "make_chat_model",
]
