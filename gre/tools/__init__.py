"""Tools that verify clues, and the plugin API for writing more (see :mod:`gre.tools.base`).

A plugin needs only what this module exports: subclass :class:`Tool`, give it pydantic
input and output models (the output a :class:`ToolOutput` that renders itself with
``for_model()`` and states its :class:`PlaceClaim` s), and register it by entry point.
"""

from gre.records import Candidate, Evidence, PlaceClaim
from gre.tools.base import (
    Tool,
    ToolCard,
    ToolError,
    ToolOutput,
    ToolRegistry,
    ToolSpec,
    ToolTimeout,
    ToolUnavailable,
    quote,
)

__all__ = [
    "Candidate",
    "Evidence",
    "PlaceClaim",
    "Tool",
    "ToolCard",
    "ToolError",
    "ToolOutput",
    "ToolRegistry",
    "ToolSpec",
    "ToolTimeout",
    "ToolUnavailable",
    "quote",
]
