"""Web search: SearXNG against a replay server, ddgs through a stand-in, cache, cap, leaks."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import ValidationError

from gre.config import Settings
from gre.testing.replay_server import Canned, ReplayServer
from gre.testing.tool_contract import check_tool
from gre.tools.base import ToolError, ToolRegistry, ToolUnavailable
from gre.tools.search import tool as search
from gre.tools.search.tool import (
    DdgsProvider,
    SearchInput,
    SearchOutput,
    SearchResult,
    SearchTool,
    SearxngProvider,
    Throttle,
    drop_leaks,
    register_provider,
)
from gre.tools.support.http import HttpClient
from gre.tools.toolbox import ToolBox

SEARXNG_ANSWER = {
    "query": "boulangerie du marché lyon",
    "number_of_results": 0,
    "results": [
        {
            "url": "https://www.pagesjaunes.fr/pros/05871234",
            "title": "Boulangerie du Marché  - Lyon 2e",
            "content": "Boulangerie, pâtisserie.\n 12 rue Mercière, 69002 Lyon. Ouvert 7h-19h.",
            "publishedDate": None,
            "thumbnail": "",
            "engine": "duckduckgo",
            "template": "default.html",
            "parsed_url": ["https", "www.pagesjaunes.fr", "/pros/05871234", "", "", ""],
            "img_src": "",
            "priority": "",
            "engines": ["duckduckgo", "brave"],
            "positions": [1, 2],
            "score": 3.0,
            "category": "general",
        },
        {
            "url": "https://fr.wikipedia.org/wiki/Rue_Merci%C3%A8re",
            "title": "Rue Mercière — Wikipédia",
            "content": "La rue Mercière est une voie du 2e arrondissement de Lyon.",
            "engine": "wikipedia",
            "engines": ["wikipedia"],
            "positions": [3],
            "score": 0.33,
            "category": "general",
        },
        {"url": "magnet:?xt=urn:btih:abc", "title": "not a web page", "content": ""},
    ],
    "answers": [],
    "corrections": [],
    "infoboxes": [],
    "suggestions": ["boulangerie lyon 2"],
    "unresponsive_engines": [["google", "timeout"]],
}

DDGS_ROWS = [
    {
        "title": f"Result {i}",
        "href": f"https://example{i}.org/page",
        "body": f"Snippet {i} about Lyon.",
    }
    for i in range(8)
]


class FakeDDGS:
    """A stand-in for ``ddgs.DDGS``: a scripted sequence of answers (the last one repeats)."""

    def __init__(self, *script: list[dict[str, Any]] | Exception) -> None:
        self.script = list(script)
        self.calls: list[tuple[str, dict[str, Any], float]] = []

    def __call__(self) -> FakeDDGS:  # the provider's factory
        return self

    def text(self, query: str, **kwargs: Any) -> list[dict[str, Any]]:
        self.calls.append((query, kwargs, time.monotonic()))
        item = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(item, Exception):
            raise item
        return item


def _ddgs(fake: FakeDDGS, sleeps: list[float] | None = None, **kwargs: Any) -> DdgsProvider:
    kwargs.setdefault("min_interval_s", 0.0)
    kwargs.setdefault("backoff_s", 0.5)
    if sleeps is not None:
        kwargs["sleep"] = sleeps.append
    return DdgsProvider(fake, throttle=Throttle(), **kwargs)


def _settings(tmp_path: Path, **fields: Any) -> Settings:
    """Settings with fields the Settings model may not declare yet (read with getattr)."""
    return Settings(cache_dir=tmp_path, contact="ops@example.org").model_copy(update=fields)


@pytest.fixture
def http(tmp_path: Path) -> Iterator[HttpClient]:
    client = HttpClient(_settings(tmp_path), backoff_s=0.01)
    yield client
    client.close()


# ---------------------------------------------------------------------- SearXNG


def test_searxng_json_api_results_and_cache(tmp_path: Path, http: HttpClient) -> None:
    with ReplayServer({"/search": [Canned(body=json.dumps(SEARXNG_ANSWER))]}) as server:
        provider = SearxngProvider(server.url + "/", http, min_interval_s=0.0)
        tool = SearchTool(_settings(tmp_path), provider=provider)
        params = SearchInput(query="  boulangerie du marché   lyon ", region="fr-fr")
        first = tool.run(params)
        again = tool.run(params)
        tool.close()
    assert len(server.requests) == 1  # the repeat came from the disk cache
    seen = server.requests[0]
    assert seen.path == "/search"
    assert seen.query == {
        "q": ["boulangerie du marché lyon"],
        "format": ["json"],
        "pageno": ["1"],
        "language": ["fr-FR"],
    }
    assert seen.headers["user-agent"].startswith("gre-suite/")
    assert [r.domain for r in first.results] == ["pagesjaunes.fr", "fr.wikipedia.org"]
    top = first.results[0]
    assert top.title == "Boulangerie du Marché - Lyon 2e"
    assert top.snippet.startswith("Boulangerie, pâtisserie. 12 rue Mercière")
    assert first.provider == "searxng" and not first.from_cache and first.dropped == 0
    assert again.from_cache and again.results == first.results
    assert first.summary() == "2 result(s) via searxng: pagesjaunes.fr, fr.wikipedia.org"


def test_searxng_refusing_json_is_explained(tmp_path: Path, http: HttpClient) -> None:
    with ReplayServer({"/search": [Canned(status=403, body="Forbidden")]}) as server:
        provider = SearxngProvider(server.url, http, min_interval_s=0.0)
        with pytest.raises(ToolError, match=r"search\.formats"):
            provider.search("x", 5, None)
    answer = {"query": "x", "results": "nope"}
    with ReplayServer({"/search": [Canned(body=json.dumps(answer))]}) as server:
        provider = SearxngProvider(server.url, http, min_interval_s=0.0)
        with pytest.raises(ToolError, match="without a results list"):
            provider.search("x", 5, None)


def test_searxng_from_settings_needs_a_url(tmp_path: Path) -> None:
    tool = SearchTool(_settings(tmp_path, search_provider="searxng"))
    assert tool.unavailable_reason() == "search_provider is 'searxng' but searxng_url is not set"
    tool = SearchTool(
        _settings(tmp_path, search_provider="searxng", searxng_url="http://127.0.0.1:9")
    )
    provider = tool.provider()
    assert isinstance(provider, SearxngProvider) and provider.base_url == "http://127.0.0.1:9"
    assert search._searxng_language("wt-wt") == "all"
    assert search._searxng_language("xl-es") == "es"
    assert search._searxng_language("de") == "de"


# ---------------------------------------------------------------------- ddgs


def test_ddgs_results_are_mapped_and_capped(tmp_path: Path) -> None:
    pytest.importorskip("ddgs")
    fake = FakeDDGS(DDGS_ROWS)
    tool = SearchTool(_settings(tmp_path, search_max_results=3), provider=_ddgs(fake))
    out = tool.run(SearchInput(query="lyon bakery", max_results=5, region="fr-fr"))
    assert fake.calls[0][:2] == ("lyon bakery", {"max_results": 3, "region": "fr-fr"})
    assert [r.url for r in out.results] == [f"https://example{i}.org/page" for i in range(3)]
    assert out.results[0] == SearchResult(
        title="Result 0",
        url="https://example0.org/page",
        snippet="Snippet 0 about Lyon.",
        domain="example0.org",
    )
    assert out.provider == "ddgs"
    # Without a configured cap, at most 10; a provider returning extra rows is cut too.
    tool = SearchTool(_settings(tmp_path), provider=_ddgs(FakeDDGS(DDGS_ROWS * 3)))
    assert len(tool.run(SearchInput(query="q", max_results=20)).results) == 10
    assert len(tool.run(SearchInput(query="q2", max_results=2)).results) == 2


def test_ddgs_rate_limit_backs_off_then_succeeds(tmp_path: Path) -> None:
    ddgs_exceptions = pytest.importorskip("ddgs.exceptions")
    limited = ddgs_exceptions.RatelimitException("202 Ratelimit")
    fake = FakeDDGS(limited, ddgs_exceptions.DDGSException("https://x: 429 Too Many Requests"))
    fake.script.append(DDGS_ROWS[:2])
    sleeps: list[float] = []
    out = SearchTool(_settings(tmp_path), provider=_ddgs(fake, sleeps)).run(SearchInput(query="q"))
    assert len(out.results) == 2 and len(fake.calls) == 3
    assert sleeps == [0.5, 1.0]  # exponential backoff between tries


def test_ddgs_failures_become_one_line_tool_errors(tmp_path: Path) -> None:
    ddgs_exceptions = pytest.importorskip("ddgs.exceptions")
    fake = FakeDDGS(ddgs_exceptions.RatelimitException("202 Ratelimit"))
    sleeps: list[float] = []
    provider = _ddgs(fake, sleeps, retries=2)
    with pytest.raises(ToolError, match=r"rate limited \(ddgs\) after 3 tries"):
        provider.search("q", 5, None)
    assert len(fake.calls) == 3 and sleeps == [0.5, 1.0]
    timeout = _ddgs(FakeDDGS(ddgs_exceptions.TimeoutException("timed out")), [], retries=1)
    with pytest.raises(ToolError, match=r"timed out \(ddgs\) after 2 tries"):
        timeout.search("q", 5, None)
    broken = _ddgs(FakeDDGS(ddgs_exceptions.DDGSException("engine exploded\nbadly")), [])
    with pytest.raises(ToolError, match="web search failed \\(ddgs\\): engine exploded badly"):
        broken.search("q", 5, None)
    empty = FakeDDGS(ddgs_exceptions.DDGSException("No results found."))
    assert _ddgs(empty, []).search("q", 5, None) == [] and len(empty.calls) == 1


def test_ddgs_rate_limit_error_through_the_toolbox_is_not_cached(tmp_path: Path) -> None:
    ddgs_exceptions = pytest.importorskip("ddgs.exceptions")
    fake = FakeDDGS(ddgs_exceptions.RatelimitException("202 Ratelimit"), DDGS_ROWS[:1])

    class Limited(SearchTool):
        def __init__(self, settings: Settings | None = None) -> None:
            super().__init__(settings, provider=_ddgs(fake, [], retries=0))

    registry = ToolRegistry()
    registry.register(Limited, package="tests")
    box = ToolBox(_settings(tmp_path), registry)
    try:
        out, call = box.call("search", {"query": "q"}, stage="clues", call_id="c1")
        assert out is None and not call.ok and not call.skipped
        assert call.error == "web search rate limited (ddgs) after 1 tries"
        out, call = box.call("search", {"query": "q"}, stage="clues", call_id="c2")
        assert call.ok and isinstance(out, SearchOutput) and not out.from_cache
    finally:
        box.close()


def test_ddgs_calls_are_spaced(tmp_path: Path) -> None:
    fake = FakeDDGS(DDGS_ROWS[:1])
    tool = SearchTool(_settings(tmp_path), provider=_ddgs(fake, min_interval_s=0.2))
    for query in ("a", "b", "c"):
        tool.run(SearchInput(query=query))
    gaps = [b[2] - a[2] for a, b in zip(fake.calls, fake.calls[1:], strict=False)]
    assert len(gaps) == 2 and all(gap >= 0.19 for gap in gaps)
    assert search.DDGS_MIN_INTERVAL_S == 1.0


def test_ddgs_unavailable_without_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "find_spec", lambda name: None)
    reason = SearchTool(_settings(tmp_path)).unavailable_reason()
    assert reason == "ddgs is not installed (pip install 'gre-suite[web]')"


# ---------------------------------------------------------------------- leakage guard


def test_exclude_drops_leaking_results_and_counts_them(tmp_path: Path) -> None:
    rows = [
        {"title": "Street view", "href": "https://dataset.org/img/IMG_0042.jpg", "body": ""},
        {"title": "sample 7.JPG - photo", "href": "https://photos.org/p/1", "body": ""},
        {"title": "Elsewhere", "href": "https://cdn.org/Sample%207.jpg?w=1", "body": ""},
        {"title": "Mercière", "href": "https://lyon.fr/merciere", "body": "clean"},
    ]
    fake = FakeDDGS(rows)
    tool = SearchTool(_settings(tmp_path), provider=_ddgs(fake))
    out = tool.run(SearchInput(query="rue", exclude=["img_0042", "  ", "Sample 7.JPG"]))
    assert [r.domain for r in out.results] == ["lyon.fr"] and out.dropped == 3
    assert out.summary() == "1 result(s) via ddgs: lyon.fr; 3 dropped"
    # The cache holds what the engine said; each call applies its own exclude list.
    other = tool.run(SearchInput(query="rue", exclude=["merciere"]))
    assert other.from_cache and other.dropped == 1 and len(other.results) == 3
    assert len(fake.calls) == 1
    kept, dropped = drop_leaks(out.results, [" ", ""])
    assert kept == out.results and dropped == 0


# ---------------------------------------------------------------------- offline, plugins


def test_offline_search_is_skipped_and_calls_nothing(tmp_path: Path) -> None:
    fake = FakeDDGS(DDGS_ROWS)

    class Injected(SearchTool):
        def __init__(self, settings: Settings | None = None) -> None:
            super().__init__(settings, provider=_ddgs(fake))

    registry = ToolRegistry()
    registry.register(Injected, package="tests")
    box = ToolBox(Settings(cache_dir=tmp_path, offline=True), registry)
    try:
        out, call = box.call("search", {"query": "lyon"}, stage="clues", call_id="c1")
    finally:
        box.close()
    assert out is None and call.skipped and not call.ok
    assert call.error == "tool 'search' needs the network and the run is offline"
    assert fake.calls == []
    offline = Settings(cache_dir=tmp_path, offline=True)
    client = HttpClient(offline)
    with ReplayServer({"/search": [Canned(body=json.dumps(SEARXNG_ANSWER))]}) as server:
        tool = SearchTool(offline, provider=SearxngProvider(server.url, client))
        assert tool.unavailable_reason() == "web search needs the network and the run is offline"
        with pytest.raises(ToolUnavailable, match="offline"):
            tool.run(SearchInput(query="lyon"))
    client.close()
    assert server.requests == []


def test_plugin_providers_register_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "_PROVIDERS", dict(search._PROVIDERS))

    class Static:
        name: ClassVar[str] = "static"

        def search(self, query: str, max_results: int, region: str | None) -> list[SearchResult]:
            result = search.make_result("Hit", f"https://static.test/{query}", "s")
            assert result is not None
            return [result] * max_results

    register_provider("static", lambda settings: Static())
    assert "static" in search.provider_names()
    out = SearchTool(_settings(tmp_path, search_provider="static")).run(
        SearchInput(query="x", max_results=2)
    )
    assert (
        out.provider == "static" and [r.url for r in out.results] == ["https://static.test/x"] * 2
    )
    reason = SearchTool(_settings(tmp_path, search_provider="nope")).unavailable_reason()
    assert reason is not None and reason.startswith("unknown search provider 'nope'; known:")
    assert "ddgs" in reason and "searxng" in reason


def test_search_input_limits() -> None:
    assert SearchInput(query=" a \n b ").query == "a b"
    for bad in ({"query": "   "}, {"query": "x" * 301}, {"query": "x", "max_results": 21}):
        with pytest.raises(ValidationError):
            SearchInput.model_validate(bad)
    assert search.make_result("t", "javascript:alert(1)", "") is None
    assert search.make_result("t", "/relative", "") is None


def test_keeps_the_tool_contract(tmp_path: Path) -> None:
    with ReplayServer({"/search": [Canned(body=json.dumps(SEARXNG_ANSWER))]}) as server:
        settings = _settings(tmp_path, search_provider="searxng", searxng_url=server.url)
        valid = [{"query": "boulangerie lyon"}, {"query": "rue", "exclude": ["pagesjaunes"]}]
        invalid = [{"query": ""}, {"query": "x", "max_results": 0}]
        calls = check_tool(
            SearchTool, valid=valid, invalid=invalid, cache_dir=tmp_path, settings=settings
        )
    assert [c.ok for c in calls] == [True, True, False, False]
    assert calls[1].summary == "1 result(s) via searxng: fr.wikipedia.org; 1 dropped"
    assert len(server.requests) == 2  # the kit's offline pass and repeats made none
