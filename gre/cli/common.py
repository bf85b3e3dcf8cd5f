"""What every command shares: one-line usage errors, the settings, the console."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from gre.config import Settings


def fail(message: str, code: int = 2) -> typer.Exit:
    from gre.textnorm import printable

    typer.echo(f"error: {printable(message)}", err=True)
    return typer.Exit(code)


@functools.cache
def registered(group: str) -> str:
    """The names a plugin group declares, for a flag's help (reads metadata; imports nothing)."""
    from gre.plugins import declared_names

    return ", ".join(declared_names(group))


def load_settings(**overrides: Any) -> Settings:
    from pydantic import ValidationError

    from gre.config import Settings
    from gre.errors import first_error

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        where, message = first_error(exc)
        raise fail(f"invalid configuration: {where or 'settings'}: {message}") from None
    except (OSError, ValueError) as exc:
        raise fail(f"cannot read the configuration: {exc}") from None


def make_console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)
