"""A Locator that kills its own process on chosen photos, to test what survives that."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import Any

from gre.config import Settings
from gre.graphs.locator import Locator
from gre.records import Trace
from gre.tools.base import ToolRegistry


class CrashingLocator(Locator):
    """Exits the process (as a segfault or the OOM killer would) on a photo whose file
    name contains ``marker``; any other photo is located as usual."""

    def __init__(self, settings: Settings, marker: str, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self.marker = marker

    def locate(self, path: Path, *args: Any, **kwargs: Any) -> Trace:
        if self.marker in Path(path).name:
            os._exit(77)
        return super().locate(path, *args, **kwargs)


def _make(marker: str, no_tools: bool, settings: Settings) -> Locator:
    registry = ToolRegistry() if no_tools else None
    return CrashingLocator(settings, marker, registry=registry)


def crashing_factory(marker: str, *, no_tools: bool = False) -> partial[Locator]:
    """A picklable locator factory (for Ray workers) making :class:`CrashingLocator`."""
    return partial(_make, marker, no_tools)
