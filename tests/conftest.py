"""Shared fixtures: a socket guard (no network but loopback), shared data, a session cache,
and the test plugins installed for real."""

from __future__ import annotations

import importlib.util
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from gre.config import Settings
from gre.netguard import NetworkBlocked, is_loopback
from gre.testing.plugins import InstalledPlugin, install_plugin, on_path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
TEST_PLUGINS = REPO / "tests" / "plugins" / "gre-test-plugins"
BROKEN_PLUGINS = REPO / "tests" / "plugins" / "gre-broken-plugins"

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _guarded_connect(self: socket.socket, address: Any) -> None:
    if not is_loopback(address):
        raise NetworkBlocked(f"network access blocked in tests: {address!r}")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    if not is_loopback(address):
        raise NetworkBlocked(f"network access blocked in tests: {address!r}")
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True)
def _socket_guard(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("live"):
        return
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)


@pytest.fixture(autouse=True)
def _isolated_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No user config file or GRE_* variable leaks into a test."""
    import os

    for key in list(os.environ):
        if key.startswith("GRE_"):
            monkeypatch.delenv(key)
    empty = tmp_path_factory.getbasetemp() / "empty-config.toml"
    if not empty.exists():
        empty.write_text("")
    monkeypatch.setenv("GRE_CONFIG", str(empty))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real-data fixtures beside the checkout (skips when absent)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared test data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def example_sign(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's generated example photo, made fresh by its own script."""
    spec = importlib.util.spec_from_file_location("make_sign", REPO / "examples" / "make_sign.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out: Path = module.make_sign(tmp_path_factory.mktemp("example") / "sign.jpg")
    return out


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One cache dir for the whole session, so indexes are built once per run."""
    yield tmp_path_factory.mktemp("gre-cache")


@pytest.fixture
def settings(session_cache: Path) -> Settings:
    """Offline settings using the session cache (copy with ``model_copy(update=...)``)."""
    return Settings(cache_dir=session_cache, offline=True)


PhotoMaker = Callable[..., Path]


@pytest.fixture
def photo_of(tmp_path: Path) -> PhotoMaker:
    """Make a photo with nothing to read: ``photo_of(name, size=(w, h), noise=False)``."""

    def make(
        name: str = "street.jpg", size: tuple[int, int] = (640, 480), noise: bool = False
    ) -> Path:
        path = tmp_path / name
        image = (
            Image.effect_noise(size, 60).convert("RGB")
            if noise
            else Image.new("RGB", size, (120, 130, 140))
        )
        image.save(path)
        return path

    return make


@pytest.fixture
def photo(photo_of: PhotoMaker) -> Path:
    """A 640x480 JPEG with nothing to read: whatever locates it is the backend's doing."""
    return photo_of()


@pytest.fixture(scope="session")
def test_plugins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InstalledPlugin]:
    """tests/plugins/gre-test-plugins pip-installed and importable for the rest of the session.

    It adds a tool (``landmark_test``), a backend (``echo_test``), a graph
    (``one_shot_test``) and a dataset format (``tsv_test``), none of them a built-in,
    through their entry points.
    """
    plugin = install_plugin(TEST_PLUGINS, tmp_path_factory.mktemp("test-plugins-site"))
    with on_path(plugin):
        yield plugin


@pytest.fixture
def broken_plugins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InstalledPlugin]:
    """tests/plugins/gre-broken-plugins installed for one test: every entry point is broken."""
    plugin = install_plugin(BROKEN_PLUGINS, tmp_path_factory.mktemp("broken-plugins-site"))
    with on_path(plugin):
        yield plugin
