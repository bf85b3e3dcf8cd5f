"""The CLI with a model: the openai backend against a local server, staged and direct."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gre.cli import app
from gre.testing.fake_openai import FakeOpenAI, Reply

GRE_REPLY = (
    "<think>Haussmann facades, a Morris column and French street signs: central Paris."
    "</think><answer>Latitude: 48.8625, Longitude: 2.3365</answer>"
)


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, session_cache: Path) -> CliRunner:
    monkeypatch.setenv("GRE_CACHE_DIR", str(session_cache))
    monkeypatch.setenv("GRE_OFFLINE", "1")
    monkeypatch.setenv("GRE_MODEL_RETRIES", "0")
    monkeypatch.setenv("COLUMNS", "120")
    return CliRunner()


def _args(server: FakeOpenAI, *extra: str) -> list[str]:
    return ["locate", "--backend", "openai", "--model-url", server.url, "--model", "gre", *extra]


def test_direct_graph_through_the_cli(runner: CliRunner, photo: Path) -> None:
    with FakeOpenAI(replies=[Reply(text=GRE_REPLY)]) as server:
        result = runner.invoke(app, [*_args(server, "--graph", "direct", "--json"), str(photo)])
    assert result.exit_code == 0, result.output
    trace: dict[str, Any] = json.loads(result.stdout)
    assert trace["graph"] == "direct" and trace["backend"] == "openai"
    assert (trace["prediction"]["lat"], trace["prediction"]["lon"]) == (48.8625, 2.3365)
    assert trace["generations"][0]["text"] == GRE_REPLY
    body = server.requests[0]
    assert "response_format" not in body
    assert body["messages"][0]["content"][0]["type"] == "image_url"


def test_direct_graph_live_output_shows_the_reply(runner: CliRunner, photo: Path) -> None:
    with FakeOpenAI(replies=[Reply(text=GRE_REPLY)]) as server:
        result = runner.invoke(app, [*_args(server, "--graph", "direct"), str(photo)])
    assert result.exit_code == 0, result.output
    assert "Morris column" in result.stdout and "48.86250, 2.33650" in result.stdout


def test_staged_graph_with_a_model_through_the_cli(runner: CliRunner, photo: Path) -> None:
    scene = {
        "summary": "Parisian boulevard",
        "clues": [],
        "hypotheses": [
            {"level": "country", "country_code": "FR", "confidence": 0.7, "rationale": "style"}
        ],
    }
    with FakeOpenAI(replies=[Reply(text=json.dumps(scene))]) as server:
        result = runner.invoke(app, [*_args(server), str(photo)])
    assert result.exit_code == 0, result.output
    assert "Parisian boulevard" in result.stdout
    assert "level: country" in result.stdout
    assert "No model configured" not in result.stdout


def test_direct_graph_needs_a_model(runner: CliRunner, photo: Path) -> None:
    result = runner.invoke(app, ["locate", "--graph", "direct", str(photo)])
    assert result.exit_code == 2
    assert "needs a model backend" in result.stderr
