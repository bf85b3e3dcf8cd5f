"""Installing a plugin distribution for real in tests: ``pip --target``, then onto ``sys.path``.

``install_plugin`` builds and installs a plugin's source folder (its own ``pyproject.toml``)
into a private folder with no network, no dependencies and no build isolation, so its
entry points are read from real installed metadata, exactly as for a user's plugin. It
builds from a copy of the source, so the source folder gets no ``build/`` or ``*.egg-info``.
``on_path`` puts that folder first on ``sys.path`` and, afterwards, removes it and forgets
the plugin's modules::

    plugin = install_plugin(Path("examples/gre-utc-offset"), tmp_path / "site")
    with on_path(plugin):
        ToolRegistry.discover().get("utc_offset")
"""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gre.errors import GreError

__all__ = ["InstalledPlugin", "PluginInstallError", "install_plugin", "on_path"]

_NOT_MODULES = (".dist-info", ".egg-info", ".data")
_NOT_COPIED = ("build", "dist", "*.egg-info", "__pycache__")


class PluginInstallError(GreError, RuntimeError):
    """pip could not install the plugin (its last lines of output are in the message)."""


@dataclass(frozen=True)
class InstalledPlugin:
    """Where a plugin was installed and the top-level modules it brought."""

    target: Path
    modules: tuple[str, ...]


def install_plugin(source_dir: Path, target_dir: Path) -> InstalledPlugin:
    """pip-install the distribution at ``source_dir`` into ``target_dir`` (offline, no deps)."""
    target_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gre-plugin-src-") as tmp:
        copy = Path(tmp) / source_dir.name
        shutil.copytree(source_dir, copy, ignore=shutil.ignore_patterns(*_NOT_COPIED))
        done = _pip_install(copy, target_dir)
    if done.returncode != 0:
        tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        raise PluginInstallError(f"pip could not install {source_dir}: {tail}")
    modules = sorted(
        entry.name.removesuffix(".py")
        for entry in target_dir.iterdir()
        if not entry.name.endswith(_NOT_MODULES)
        and entry.name not in ("bin", "__pycache__")
        and (entry.suffix == ".py" or (entry / "__init__.py").is_file())
    )
    return InstalledPlugin(target_dir, tuple(modules))


def _pip_install(source: Path, target: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--disable-pip-version-check",
            "--target",
            str(target),
            str(source),
        ],
        capture_output=True,
        text=True,
    )


@contextmanager
def on_path(plugin: InstalledPlugin) -> Iterator[InstalledPlugin]:
    """The plugin importable (and its entry points visible) inside the block."""
    entry = str(plugin.target)
    sys.path.insert(0, entry)
    importlib.invalidate_caches()
    try:
        yield plugin
    finally:
        sys.path.remove(entry)
        for name in list(sys.modules):
            if name.split(".")[0] in plugin.modules:
                del sys.modules[name]
        importlib.invalidate_caches()
