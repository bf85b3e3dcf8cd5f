"""The entry-point registry: built-ins through the same path as plugins, errors recorded."""

from __future__ import annotations

import tomllib
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any, TypeGuard

import pytest
from typer.testing import CliRunner

from gre.agent.vlm import backend_registry
from gre.cli import app
from gre.config import Settings
from gre.eval.datasets import format_registry
from gre.graphs.specs import STAGED, GraphSpec, graph_registry
from gre.plugins import (
    BUILTIN,
    DISTRIBUTION,
    PluginError,
    PluginNotFound,
    Registry,
    declared,
    declared_names,
)
from gre.testing.plugins import InstalledPlugin

REPO = Path(__file__).resolve().parents[1]


def _is_spec(obj: object) -> TypeGuard[GraphSpec]:
    return isinstance(obj, GraphSpec)


def _graphs() -> Registry[GraphSpec]:
    return Registry("test.graphs", "graph", "a GraphSpec", _is_spec, lambda s: s.name)


def test_pyproject_declares_exactly_the_builtin_table() -> None:
    """pyproject.toml mirrors gre.plugins.BUILTIN, entry for entry and in the same order."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared_here = project["entry-points"]
    for group, table in BUILTIN.items():
        assert list(declared_here[group].items()) == list(table.items()), group


def test_builtins_load_through_the_registry() -> None:
    for registry, group in (
        (backend_registry(), "gre.backends"),
        (graph_registry(), "gre.graphs"),
        (format_registry(), "gre.datasets"),
    ):
        assert registry.load_errors == []
        assert registry.names()[: len(BUILTIN[group])] == list(BUILTIN[group])
        for name, value in BUILTIN[group].items():
            plugin = registry.plugin(name)
            assert plugin.builtin and plugin.package == DISTRIBUTION
            assert plugin.entry_point == value
    assert graph_registry().get("staged") is STAGED
    assert declared_names("gre.graphs")[:2] == ["staged", "direct"]
    assert all(pkg == DISTRIBUTION for _, pkg in declared("gre.backends")[:5])


def test_registry_records_what_it_cannot_use() -> None:
    registry = _graphs()
    good = EntryPoint("staged", "gre.graphs.specs:STAGED", "test.graphs")
    assert registry.load(good, "pkg-a") is not None
    cases = [
        (EntryPoint("gone", "no_such_module_xyz:X", "test.graphs"), "ModuleNotFoundError"),
        (EntryPoint("wrong", "gre.graphs.specs:GROUP", "test.graphs"), "is not a GraphSpec"),
        (EntryPoint("renamed", "gre.graphs.specs:DIRECT", "test.graphs"), "is named 'direct'"),
        (EntryPoint("staged", "gre.graphs.specs:STAGED", "test.graphs"), "already registered"),
    ]
    for ep, message in cases:
        assert registry.load(ep, "pkg-b") is None
        assert message in registry.load_errors[-1]
        assert "\n" not in registry.load_errors[-1]
    assert registry.load_errors[-1] == "staged (pkg-b): name already registered by pkg-a"
    assert registry.names() == ["staged"] and len(registry) == 1 and "staged" in registry
    with pytest.raises(PluginError, match="graph 'gone' failed to load: gone"):
        registry.get("gone")
    with pytest.raises(PluginNotFound) as missing:
        registry.get("nowhere")
    assert str(missing.value) == "unknown graph 'nowhere'; known: staged"
    assert isinstance(missing.value, KeyError) and isinstance(missing.value, LookupError)


def test_register_without_entry_point() -> None:
    registry = _graphs()
    assert registry.register(STAGED, package="here") is not None
    assert registry.plugin("staged").package == "here" and not registry.plugin("staged").builtin
    assert registry.register("nope", name="x") is None
    assert registry.load_errors == ["x (?): 'nope' is not a GraphSpec"]


def test_settings_accept_only_declared_names() -> None:
    assert Settings(backend="openai", graph="direct").graph == "direct"
    with pytest.raises(ValueError, match=r"unknown backend 'gpt'; known: none, scripted, openai"):
        Settings(backend="gpt")
    with pytest.raises(ValueError, match=r"unknown graph 'tree'; known: staged, direct"):
        Settings(graph="tree")


def test_cli_unknown_names_are_one_line_usage_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    photo = tmp_path / "p.png"
    photo.write_bytes(b"")
    for args, needle in (
        (["locate", "--backend", "gpt", str(photo)], "unknown backend 'gpt'; known: none,"),
        (["locate", "--graph", "tree", str(photo)], "unknown graph 'tree'; known: staged, direct"),
        (["eval", "--format", "xls", str(photo)], "unknown dataset format 'xls'; known: auto,"),
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
        assert needle in result.stderr and "Traceback" not in result.output


def test_broken_plugins_are_load_errors_and_gre_still_runs(
    broken_plugins: InstalledPlugin, tmp_path: Path, session_cache: Path
) -> None:
    backends = backend_registry()
    (missing,) = [e for e in backends.load_errors if e.startswith("broken_backend_test")]
    assert missing.startswith("broken_backend_test (gre-broken-plugins): ModuleNotFoundError")
    with pytest.raises(PluginError, match="backend 'broken_backend_test' failed to load"):
        backends.get("broken_backend_test")
    graphs = graph_registry()
    errors = sorted(graphs.load_errors)
    assert errors[0].startswith("broken_graph_test (gre-broken-plugins): ModuleNotFoundError")
    assert errors[1] == (
        "not_a_graph_test (gre-broken-plugins): gre_broken_plugins:NOT_A_SPEC is not a GraphSpec"
    )
    assert errors[2] == "staged (gre-broken-plugins): name already registered by gre-suite"
    assert graphs.plugin("staged").builtin
    formats = format_registry()
    assert formats.load_errors == [
        "broken_format_test (gre-broken-plugins): RuntimeError: this plugin cannot be imported"
    ]
    # the names are declared, so the settings take them; using one is a one-line error
    runner = CliRunner(env={"GRE_CACHE_DIR": str(session_cache), "GRE_OFFLINE": "1"})
    photo = tmp_path / "blank.png"
    from PIL import Image

    Image.new("RGB", (64, 48), (90, 120, 160)).save(photo)
    result = runner.invoke(app, ["locate", "--backend", "broken_backend_test", str(photo)])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "backend 'broken_backend_test' failed to load" in result.stderr
    result = runner.invoke(app, ["locate", "--json", str(photo)])
    assert result.exit_code == 0, result.output
    from gre.doctor import check_plugins

    graphs_check = {c.name: c for c in check_plugins()}["graphs"]
    assert not graphs_check.ok and "not_a_graph_test" in graphs_check.hint
    assert graphs_check.detail.startswith("staged, direct")


def test_tool_registry_is_built_on_it() -> None:
    """ToolRegistry finds the same tools, packages and errors as the generic registry."""
    from gre.tools.base import Tool, ToolRegistry

    def is_tool(obj: object) -> TypeGuard[type[Tool[Any, Any]]]:
        return isinstance(obj, type) and issubclass(obj, Tool)

    generic = Registry.discover(
        "gre.tools", noun="tool", kind="a Tool subclass", check=is_tool, name_of=lambda c: c.name
    )
    legacy = ToolRegistry.discover()
    assert sorted(generic.names()) == legacy.names() and generic.load_errors == legacy.load_errors
    assert generic.names()[: len(BUILTIN["gre.tools"])] == list(BUILTIN["gre.tools"])
    for name in legacy.names():
        assert generic.get(name) is legacy.get(name).cls
        assert generic.plugin(name).package == legacy.get(name).package


def test_install_failure_is_one_line(tmp_path: Path) -> None:
    from gre.testing.plugins import PluginInstallError, install_plugin

    (tmp_path / "empty").mkdir()
    with pytest.raises(PluginInstallError, match="pip could not install") as err:
        install_plugin(tmp_path / "empty", tmp_path / "site")
    assert "\n" not in str(err.value)
