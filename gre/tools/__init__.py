"""Tools that verify clues, and the plugin API for writing more (see :mod:`gre.tools.base`)."""

from gre.tools.base import (
    Tool,
    ToolError,
    ToolOutput,
    ToolRegistry,
    ToolSpec,
    ToolTimeout,
    ToolUnavailable,
)

__all__ = [
    "Tool",
    "ToolError",
    "ToolOutput",
    "ToolRegistry",
    "ToolSpec",
    "ToolTimeout",
    "ToolUnavailable",
]
