"""The root of gre's error tree.

Every exception gre defines derives from :class:`GreError`, so ``except GreError``
catches anything gre raises on purpose. As in geopy, each leaf also inherits the
standard kind it is (a bad photo is also a ``ValueError``, a tool time-out also a
``TimeoutError``, a failed request also an ``OSError``, a model server failure also a
``RuntimeError``), so code that catches the standard kind keeps working.
"""

from __future__ import annotations

__all__ = ["GreError"]


class GreError(Exception):
    """The base of every error gre raises on purpose; its message is one line."""
