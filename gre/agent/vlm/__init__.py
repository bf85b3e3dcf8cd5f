"""Reasoning backends behind one Protocol (:class:`VLMBackend`)."""

from __future__ import annotations

from pathlib import Path

from gre.agent.vlm.base import StageContext, VLMBackend
from gre.config import Settings

__all__ = ["BackendError", "StageContext", "VLMBackend", "make_backend"]


class BackendError(RuntimeError):
    """A backend cannot be created with this configuration (one-line message)."""


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
    raise BackendError(
        f"backend {settings.backend!r} is not available in this version of gre; "
        "use 'none' (tools only) or 'scripted'"
    )
