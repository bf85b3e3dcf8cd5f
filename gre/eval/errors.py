"""The evaluation's errors: a run that cannot start, and a cluster that failed mid-run."""

from __future__ import annotations

from gre.errors import GreError


class EvalError(GreError, ValueError):
    """The evaluation cannot start (one-line message)."""


class ClusterError(GreError, RuntimeError):
    """The cluster running the photos failed; the run stops, the log stays resumable."""
