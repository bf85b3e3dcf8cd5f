"""The shared HTTP client against a local replay server: etiquette, retries, cache, limits."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from gre.config import Settings
from gre.testing.replay_server import Canned, ReplayServer
from gre.tools.support.http import HttpClient, HttpError, RateLimited, shared_client


@pytest.fixture
def client(tmp_path: Path) -> HttpClient:
    c = HttpClient(Settings(cache_dir=tmp_path, contact="ops@example.org"), backoff_s=0.01)
    yield c  # type: ignore[misc]
    c.close()


def test_user_agent_names_the_app_and_contact(client: HttpClient) -> None:
    with ReplayServer({"/a": [Canned(body="{}")]}) as server:
        client.request("GET", server.url + "/a", params={"q": "x"})
    seen = server.requests[0]
    assert seen.headers["user-agent"].startswith("gre-suite/")
    assert "ops@example.org" in seen.headers["user-agent"]
    assert seen.query == {"q": ["x"]}


def test_rate_limit_spaces_requests_to_one_host(client: HttpClient) -> None:
    with ReplayServer({"/a": [Canned(body="{}")]}) as server:
        for _ in range(3):
            client.request("GET", server.url + "/a", min_interval_s=0.2)
    gaps = [b.at - a.at for a, b in zip(server.requests, server.requests[1:], strict=False)]
    assert all(gap >= 0.19 for gap in gaps)


def test_retries_429_and_5xx_then_succeeds(client: HttpClient) -> None:
    replies = [
        Canned(status=429, headers={"Retry-After": "0"}),
        Canned(status=503),
        Canned(body='{"ok": true}'),
    ]
    with ReplayServer({"/a": replies}) as server:
        response = client.request("GET", server.url + "/a", retries=2)
    assert response.json() == {"ok": True} and len(server.requests) == 3


def test_gives_up_with_one_line_errors(client: HttpClient) -> None:
    with ReplayServer(
        {"/busy": [Canned(status=429)], "/gone": [Canned(status=404, body="nope")]}
    ) as s:
        with pytest.raises(RateLimited, match="rate limiting"):
            client.request("GET", s.url + "/busy", retries=1)
        with pytest.raises(HttpError, match="HTTP 404"):
            client.request("GET", s.url + "/gone", retries=3)
    assert len([r for r in s.requests if r.path == "/gone"]) == 1  # 4xx is not retried


def test_cache_serves_repeats_without_a_request(client: HttpClient) -> None:
    with ReplayServer({"/a": [Canned(body='{"n": 1}')]}) as server:
        first = client.request("POST", server.url + "/a", data={"q": "x"}, cache_ttl_s=60)
        again = client.request("POST", server.url + "/a", data={"q": "x"}, cache_ttl_s=60)
        other = client.request("POST", server.url + "/a", data={"q": "y"}, cache_ttl_s=60)
    assert not first.from_cache and again.from_cache and not other.from_cache
    assert again.json() == {"n": 1} and len(server.requests) == 2


def test_offline_never_connects_and_size_is_capped(tmp_path: Path) -> None:
    offline = HttpClient(Settings(cache_dir=tmp_path, offline=True))
    with ReplayServer({"/a": [Canned(body="{}")]}) as server:
        with pytest.raises(HttpError, match="offline"):
            offline.request("GET", server.url + "/a")
        assert server.requests == []
    big = ReplayServer({"/big": [Canned(body="x" * 100)]})
    with big, pytest.raises(HttpError, match="more than 10 bytes"):
        HttpClient(Settings(cache_dir=tmp_path)).request("GET", big.url + "/big", max_bytes=10)


def test_shared_client_is_per_configuration(tmp_path: Path) -> None:
    a = Settings(cache_dir=tmp_path)
    assert shared_client(a) is shared_client(Settings(cache_dir=tmp_path))
    assert shared_client(a) is not shared_client(Settings(cache_dir=tmp_path, offline=True))


def test_a_timeout_is_reported_at_once_and_rests_the_host(tmp_path: Path) -> None:
    client = HttpClient(Settings(cache_dir=tmp_path), timeout_s=0.2, backoff_s=0.01)
    with ReplayServer({"/slow": [Canned(body="{}", delay_s=1.0)]}) as server:
        t0 = time.monotonic()
        with pytest.raises(HttpError, match="failed after 1 try: ReadTimeout"):
            client.request("GET", server.url + "/slow", retries=1)
        with pytest.raises(HttpError, match=r"was unreachable .*ReadTimeout"):
            client.request("GET", server.url + "/other", retries=1)
    assert time.monotonic() - t0 < 2.0 and len(server.requests) == 1


def _failing_transport(error: str, calls: list[str]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.host)
        if request.url.host == "down.example":
            raise httpx.ConnectError(error, request=request)
        return httpx.Response(200, json={"ok": True})

    return httpx.MockTransport(handler)


def test_name_resolution_failure_is_not_retried_and_the_host_rests(tmp_path: Path) -> None:
    calls: list[str] = []
    transport = _failing_transport("[Errno -2] Name or service not known", calls)
    client = HttpClient(Settings(cache_dir=tmp_path), transport=transport, backoff_s=0.01)
    with pytest.raises(HttpError, match="failed after 1 try: ConnectError"):
        client.request("GET", "https://down.example/a", retries=2)
    assert calls == ["down.example"]
    with pytest.raises(HttpError, match=r"down\.example was unreachable .* not contacted again"):
        client.request("GET", "https://down.example/b", retries=2)
    assert calls == ["down.example"]  # the breaker answered; no second connection
    assert client.request("GET", "https://up.example/a").json() == {"ok": True}  # per host
    client.close()


def test_refused_connections_are_retried_then_rest_until_the_cooldown(tmp_path: Path) -> None:
    calls: list[str] = []
    client = HttpClient(
        Settings(cache_dir=tmp_path),
        transport=_failing_transport("[Errno 111] Connection refused", calls),
        backoff_s=0.01,
        down_cooldown_s=0.2,
    )
    with pytest.raises(HttpError, match="failed after 3 tries"):
        client.request("GET", "https://down.example/a", retries=2)
    assert len(calls) == 3
    with pytest.raises(HttpError, match="unreachable"):
        client.request("GET", "https://down.example/a", retries=2)
    assert len(calls) == 3
    time.sleep(0.25)  # cooldown over: the host is tried again
    with pytest.raises(HttpError, match="failed after 1 try"):
        client.request("GET", "https://down.example/a", retries=0)
    assert len(calls) == 4
    client.close()
