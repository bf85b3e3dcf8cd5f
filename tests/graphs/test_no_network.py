"""Online settings with no network: one failed attempt per host, then the breaker answers."""

from __future__ import annotations

import errno
import socket
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from gre.agent.vlm.scripted import ScriptedBackend
from gre.config import Settings
from gre.graphs.locator import Locator
from gre.netguard import is_loopback

# TEST-NET addresses: no name look-up, and unique to this test in the process's breaker
OVERPASS = "http://192.0.2.41/api/interpreter"
NOMINATIM = "192.0.2.42"
SEARXNG = "http://192.0.2.43"


def test_a_model_planning_many_network_queries_costs_one_attempt_per_host(
    photo: Path, session_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: Counter[str] = Counter()
    real = socket.socket.connect

    def unreachable(self: socket.socket, address: Any) -> None:
        if is_loopback(address):
            return real(self, address)
        attempts[str(address[0])] += 1
        raise OSError(errno.ENETUNREACH, "Network is unreachable")

    monkeypatch.setattr(socket.socket, "connect", unreachable)
    area = {"lat": 45.0, "lon": 6.6, "radius_m": 2000}
    requests = [
        *({"tool": "overpass", "input": {"kind": "named", "name": n, "area": area}}
          for n in ("Névache", "Col du Granon", "Plampinet")),
        *({"tool": "geocode", "input": {"mode": "forward", "query": q}}
          for q in ("Névache", "Briançon", "Val-des-Prés")),
        *({"tool": "search", "input": {"query": q}} for q in ("Névache sign", "Col du Granon")),
    ]  # fmt: skip
    backend = ScriptedBackend.from_data(
        [
            {"stage": "scene", "summary": "mountains", "tool_requests": requests[:4]},
            {"stage": "semantic", "summary": "names", "tool_requests": requests[4:]},
        ]
    )
    settings = Settings(
        cache_dir=session_cache,
        offline=False,
        overpass_url=OVERPASS,
        nominatim_domain=NOMINATIM,
        nominatim_scheme="http",
        search_provider="searxng",
        searxng_url=SEARXNG,
        max_tool_requests=8,
    )
    with Locator(settings, backend=backend) as loc:
        trace = loc.locate(photo)
    network = [c for c in trace.tool_calls if c.tool in ("overpass", "geocode", "search")]
    assert len(network) >= 8
    assert all(c.error and "\n" not in c.error for c in network if not c.ok)
    assert trace.prediction is not None  # the run answers (or abstains) as usual
    # every host was tried once; the breaker answered every later query at once
    assert set(attempts) <= {"192.0.2.41", "192.0.2.42", "192.0.2.43"}
    assert all(n == 1 for n in attempts.values()), attempts
    assert any("not contacted again" in (c.error or "") for c in network)
