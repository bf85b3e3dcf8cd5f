"""`gre doctor`: backends, OCR, data and network checks, against real local services."""

from __future__ import annotations

import importlib.util
import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gre import doctor
from gre.cli import app
from gre.config import Settings
from gre.testing.fake_openai import FakeOpenAI


def _by_name(checks: list[doctor.Check]) -> dict[str, doctor.Check]:
    return {c.name: c for c in checks}


def test_openai_server_reachable_and_models_listed(session_cache: Path) -> None:
    with FakeOpenAI(model="gre-7b") as server:
        ok = doctor.check_openai(Settings(backend="openai", model_url=server.url, model="gre-7b"))
        wrong = doctor.check_openai(Settings(backend="openai", model_url=server.url, model="other"))
    assert ok.ok and ok.required and "gre-7b" in ok.detail
    assert not wrong.ok and "not served" in wrong.hint
    down = doctor.check_openai(Settings(backend="openai", model_url="http://127.0.0.1:9/v1"))
    assert not down.ok and "unreachable" in down.detail
    unset = doctor.check_openai(Settings())
    assert not unset.ok and not unset.required and "GRE_MODEL_URL" in unset.hint


def test_local_checks(session_cache: Path, settings: Settings) -> None:
    checks = _by_name(doctor.run_checks(settings, probe_cuda=False))
    assert checks["version"].ok
    assert checks["cache dir"].ok and str(session_cache) in checks["cache dir"].detail
    assert checks["network"].detail == "offline mode: not probed"
    assert "gazetteer" in checks["plugins"].detail
    hf_present = all(importlib.util.find_spec(m) for m in ("torch", "transformers"))
    assert checks["transformers"].ok is bool(hf_present)
    assert checks["vllm"].ok is (importlib.util.find_spec("vllm") is not None)
    langs = checks["tesseract"]
    assert ("eng" in langs.detail) or not langs.ok


def test_missing_ocr_language_is_named(session_cache: Path) -> None:
    check = doctor.check_ocr(Settings(ocr_languages=["eng", "zzz"]))
    assert not check.ok and "tesseract-ocr-zzz" in check.hint


def test_network_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    monkeypatch.setattr(
        doctor,
        "NETWORK_HOSTS",
        (("127.0.0.1", listener.getsockname()[1]), ("127.0.0.1", closed_port)),
    )
    up, down = doctor.check_network(Settings(), timeout_s=1.0)
    listener.close()
    assert up.ok and up.detail == "reachable"
    assert not down.ok and "unreachable" in down.detail


def test_network_probe_is_bounded_when_name_lookups_hang(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    real = socket.getaddrinfo

    def black_hole(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host in ("a.example", "b.example", "c.example"):
            release.wait(30)  # a resolver that never answers
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", black_hole)
    hosts = (("a.example", 443), ("b.example", 443), ("c.example", 443))
    monkeypatch.setattr(doctor, "NETWORK_HOSTS", hosts)
    t0 = time.monotonic()
    try:
        checks = doctor.check_network(Settings(), timeout_s=0.5)
    finally:
        release.set()
    assert time.monotonic() - t0 < 3.0  # in all, not per host
    assert [c.name for c in checks] == ["a.example", "b.example", "c.example"]
    assert all(not c.ok and "no answer within 0.5 s" in c.detail for c in checks)
    assert doctor.NETWORK_PROBE_S <= 5 and doctor.MODEL_PROBE_S <= 5


def test_cli_exit_status_follows_the_configured_backend(
    monkeypatch: pytest.MonkeyPatch, session_cache: Path
) -> None:
    monkeypatch.setenv("GRE_CACHE_DIR", str(session_cache))
    monkeypatch.setattr(doctor, "check_transformers", lambda s, probe_cuda=True: [])
    runner = CliRunner()
    with FakeOpenAI() as server:
        monkeypatch.setenv("GRE_BACKEND", "openai")
        monkeypatch.setenv("GRE_MODEL_URL", server.url)
        result = runner.invoke(app, ["doctor", "--offline", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["openai"]["ok"] and rows["openai"]["required"]
    monkeypatch.setenv("GRE_MODEL_URL", "http://127.0.0.1:9/v1")
    result = runner.invoke(app, ["doctor", "--offline"])
    assert result.exit_code == 1
    assert "FAIL backend/openai" in result.stdout


def test_every_optional_part_is_checked_with_its_fix(
    session_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(cache_dir=session_cache, offline=True)
    names = {(c.area, c.name): c for c in doctor.run_checks(settings, probe_cuda=False)}
    for key in (
        ("config", "file"),
        ("tools", "scene OCR"),
        ("tools", "tesseract"),
        ("tools", "osmium"),
        ("tools", "web search"),
        ("data", "OSM extract"),
    ):
        assert key in names, key
    assert names[("tools", "scene OCR")].ok  # RapidOCR is part of the default install
    assert "geofabrik" in names[("data", "OSM extract")].hint
    # a configured extract that is not there is a failure with its fix
    missing = settings.model_copy(update={"osm_extract": tmp_path / "region.osm.pbf"})
    check = doctor.check_osm_extract(missing)
    assert not check.ok and check.required and "GRE_OSM_EXTRACT" in check.hint
    # a missing optional package names the extra that brings it
    monkeypatch.setattr(doctor, "_version_of", lambda dist: None)
    by_name = {c.name: c for c in doctor.check_optional_tools(settings)}
    assert "gre-suite[osm]" in by_name["osmium"].hint
    assert "gre-suite[web]" in by_name["web search"].hint
    config = tmp_path / "config.toml"
    config.write_text("offline = true\n")
    monkeypatch.setenv("GRE_CONFIG", str(config))
    assert str(config) in doctor.check_config_file().detail
