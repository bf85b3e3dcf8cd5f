"""Broken on purpose: a missing module, a module that fails, a wrong kind, a taken name."""

from __future__ import annotations

from gre.graphs.specs import STAGED

NOT_A_SPEC = "a string, not a GraphSpec"
STAGED_AGAIN = STAGED
