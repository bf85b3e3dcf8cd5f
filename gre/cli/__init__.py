"""The ``gre`` command line (``gre.cli:main``)."""

from gre.cli.app import app, main

__all__ = ["app", "main"]
