"""The root of gre's error tree.

Every exception gre defines derives from :class:`GreError`, so ``except GreError``
catches anything gre raises on purpose. As in geopy, each leaf also inherits the
standard kind it is (a bad photo is also a ``ValueError``, a tool time-out also a
``TimeoutError``, a failed request also an ``OSError``, a model server failure also a
``RuntimeError``), so code that catches the standard kind keeps working.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError

__all__ = ["GreError", "first_error"]


class GreError(Exception):
    """The base of every error gre raises on purpose; its message is one line."""


def first_error(exc: ValidationError) -> tuple[str, str]:
    """A validation error's first problem as (where, message): ``("near.radius_km", "...")``,
    without pydantic's "Value error, " prefix; where is "" at the model's top."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    return where, str(first["msg"]).removeprefix("Value error, ")
