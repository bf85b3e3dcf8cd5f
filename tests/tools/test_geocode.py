"""Geocoding: geopy's Nominatim over the shared client against a replay server, and fallbacks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

pytest.importorskip("geopy")

from gre.config import Settings
from gre.testing.replay_server import Canned, ReplayServer
from gre.testing.tool_contract import check_tool
from gre.tools.base import ToolRegistry
from gre.tools.gazetteer import ATTRIBUTION
from gre.tools.geocode import (
    DEFAULT_MIN_INTERVAL_S,
    OSM_ATTRIBUTION,
    GeocodeInput,
    GeocodeOutput,
    GeocodeTool,
)
from gre.tools.support.http import HttpClient
from gre.tools.toolbox import ToolBox

LICENCE = "Data © OpenStreetMap contributors, ODbL 1.0. http://osm.org/copyright"
EIFFEL_ADDRESS = {
    "man_made": "Tour Eiffel",
    "house_number": "5",
    "road": "Avenue Anatole France",
    "quarter": "Quartier du Gros-Caillou",
    "city_district": "Paris 7e Arrondissement",
    "city": "Paris",
    "ISO3166-2-lvl6": "FR-75C",
    "state": "Île-de-France",
    "ISO3166-2-lvl4": "FR-IDF",
    "region": "France métropolitaine",
    "postcode": "75007",
    "country": "France",
    "country_code": "fr",
}
EIFFEL = {
    "place_id": 88066702,
    "licence": LICENCE,
    "osm_type": "way",
    "osm_id": 5013364,
    "lat": "48.8582599",
    "lon": "2.2945006",
    "class": "man_made",
    "type": "tower",
    "place_rank": 30,
    "importance": 0.6205937724353116,
    "addresstype": "man_made",
    "name": "Tour Eiffel",
    "display_name": "Tour Eiffel, 5, Avenue Anatole France, Quartier du Gros-Caillou, "
    "Paris 7e Arrondissement, Paris, Île-de-France, France métropolitaine, 75007, France",
    "address": EIFFEL_ADDRESS,
    "boundingbox": ["48.8574753", "48.8590453", "2.2933119", "2.2956897"],
}
EIFFEL_LYON = {
    "place_id": 112233,
    "licence": LICENCE,
    "osm_type": "node",
    "osm_id": 1234567890,
    "lat": "45.7621300",
    "lon": "4.8223100",
    "class": "tourism",
    "type": "attraction",
    "place_rank": 30,
    "importance": 0.00008,
    "addresstype": "tourism",
    "name": "Tour métallique de Fourvière",
    "display_name": "Tour métallique de Fourvière, Montée Nicolas de Lange, Lyon 5e "
    "Arrondissement, Lyon, Métropole de Lyon, Auvergne-Rhône-Alpes, France métropolitaine, "
    "69005, France",
    "address": {"tourism": "Tour métallique de Fourvière", "city": "Lyon", "country_code": "fr"},
    "boundingbox": ["45.7620800", "45.7621800", "4.8222600", "4.8223600"],
}
FORWARD = json.dumps([EIFFEL, EIFFEL_LYON])
REVERSE = json.dumps(EIFFEL)


@pytest.fixture
def http(tmp_path: Path) -> Iterator[HttpClient]:
    client = HttpClient(Settings(cache_dir=tmp_path), backoff_s=0.01)
    yield client
    client.close()


def _tool(
    server: ReplayServer, cache: Path, http: HttpClient, *, min_interval_s: float = 0.0
) -> GeocodeTool:
    settings = Settings(cache_dir=cache, contact="ops@example.org").model_copy(
        update={"nominatim_domain": server.url.split("://")[1], "nominatim_scheme": "http"}
    )
    return GeocodeTool(settings, http=http, min_interval_s=min_interval_s)


def test_forward_sends_nominatim_params_and_parses_places(
    session_cache: Path, http: HttpClient
) -> None:
    with ReplayServer({"/search": [Canned(body=FORWARD)]}) as server:
        tool = _tool(server, session_cache, http)
        out = tool.run(GeocodeInput(mode="forward", query=" Tour  Eiffel ", country_codes=["FR"]))
    seen = server.requests[0]
    assert seen.method == "GET" and seen.path == "/search"
    assert seen.query == {
        "q": ["Tour Eiffel"],
        "format": ["json"],
        "limit": ["5"],
        "countrycodes": ["fr"],
        "addressdetails": ["1"],
    }
    agent = seen.headers["user-agent"]
    assert agent.startswith("gre-suite/") and "ops@example.org" in agent
    assert not out.fell_back and out.reason is None and not out.from_cache
    assert out.attribution == OSM_ATTRIBUTION
    top = out.places[0]
    assert (top.name, top.lat, top.lon, top.country_code) == (
        "Tour Eiffel",
        48.8582599,
        2.2945006,
        "FR",
    )
    assert (top.type, top.category, top.osm, top.source) == (
        "tower",
        "man_made",
        "way/5013364",
        "nominatim",
    )
    assert top.importance == pytest.approx(0.62059377)
    assert top.address["city"] == "Paris" and top.address["postcode"] == "75007"
    assert top.bbox == (48.8574753, 48.8590453, 2.2933119, 2.2956897)
    assert top.distance_km is None
    assert [p.name for p in out.places] == ["Tour Eiffel", "Tour métallique de Fourvière"]
    assert out.summary() == (
        "2 place(s) via nominatim: Tour Eiffel (tower, Paris, FR); "
        "Tour métallique de Fourvière (attraction, Lyon, FR)"
    )


def test_reverse_sends_the_point_and_measures_the_distance(
    session_cache: Path, http: HttpClient
) -> None:
    with ReplayServer({"/reverse": [Canned(body=REVERSE)]}) as server:
        tool = _tool(server, session_cache, http)
        params = GeocodeInput(mode="reverse", lat=48.8584, lon=2.2945, zoom=18, language="fr")
        out = tool.run(params)
    assert server.requests[0].path == "/reverse"
    assert server.requests[0].query == {
        "lat": ["48.8584"],
        "lon": ["2.2945"],
        "format": ["json"],
        "accept-language": ["fr"],
        "addressdetails": ["1"],
        "zoom": ["18"],
    }
    assert len(out.places) == 1 and out.places[0].name == "Tour Eiffel"
    assert out.places[0].distance_km == pytest.approx(0.02, abs=0.01)


def test_public_instance_by_default_over_an_injected_transport(
    session_cache: Path, tmp_path: Path
) -> None:
    seen: list[httpx.Request] = []

    def nominatim(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[EIFFEL])

    client = HttpClient(Settings(cache_dir=tmp_path), transport=httpx.MockTransport(nominatim))
    try:
        tool = GeocodeTool(Settings(cache_dir=session_cache), http=client)
        out = tool.run(GeocodeInput(mode="forward", query="Tour Eiffel", limit=1))
    finally:
        client.close()
    assert str(seen[0].url) == (
        "https://nominatim.openstreetmap.org/search"
        "?q=Tour+Eiffel&format=json&limit=1&addressdetails=1"
    )
    assert seen[0].headers["user-agent"].startswith("gre-suite/")
    assert out.places[0].osm == "way/5013364" and not out.fell_back


def test_nothing_found_is_an_answer_not_a_failure(session_cache: Path, http: HttpClient) -> None:
    routes = {
        "/search": [Canned(body="[]")],
        "/reverse": [Canned(body='{"error": "Unable to geocode"}')],
    }
    with ReplayServer(routes) as server:
        tool = _tool(server, session_cache, http)
        forward = tool.run(GeocodeInput(mode="forward", query="Xyzzy Plugh"))
        reverse = tool.run(GeocodeInput(mode="reverse", lat=0.0, lon=-140.0))
    for out in (forward, reverse):
        assert out.places == [] and not out.fell_back and out.reason is None
    assert forward.summary() == "0 place(s) via nominatim"


def test_requests_are_spaced_and_the_default_is_one_per_second(
    session_cache: Path, http: HttpClient, tmp_path: Path
) -> None:
    with ReplayServer({"/search": [Canned(body=FORWARD)]}) as server:
        tool = _tool(server, session_cache, http, min_interval_s=0.25)
        for query in ("a", "b", "c"):
            tool.run(GeocodeInput(mode="forward", query=query))
    gaps = [b.at - a.at for a, b in zip(server.requests, server.requests[1:], strict=False)]
    # Measured where the server reads each request: connection set-up blurs it a little.
    assert len(gaps) == 2 and all(gap >= 0.2 for gap in gaps)
    assert DEFAULT_MIN_INTERVAL_S == 1.0
    public = GeocodeTool(Settings(cache_dir=tmp_path))
    assert public.min_interval_s == 1.0 and public.domain == "nominatim.openstreetmap.org"
    assert public.scheme == "https"
    # The public instance never goes faster, whatever is configured or injected.
    assert GeocodeTool(Settings(cache_dir=tmp_path), min_interval_s=0.1).min_interval_s == 1.0
    local = Settings(cache_dir=tmp_path).model_copy(
        update={"nominatim_domain": "http://geo.lan:8080/nominatim/", "nominatim_min_interval_s": 0}
    )
    tool = GeocodeTool(local)
    assert (tool.scheme, tool.domain, tool.min_interval_s) == ("http", "geo.lan:8080/nominatim", 0)


def test_repeated_queries_come_from_the_disk_cache(session_cache: Path, http: HttpClient) -> None:
    with ReplayServer({"/search": [Canned(body=FORWARD)]}) as server:
        tool = _tool(server, session_cache, http)
        first = tool.run(GeocodeInput(mode="forward", query="Tour Eiffel"))
        again = tool.run(GeocodeInput(mode="forward", query="Tour Eiffel"))
        other = tool.run(GeocodeInput(mode="forward", query="Tour Eiffel", limit=2))
    assert len(server.requests) == 2
    assert not first.from_cache and again.from_cache and not other.from_cache
    assert again.places == first.places
    assert again.summary().startswith("2 place(s) via nominatim, cached:")


@pytest.mark.parametrize(
    ("canned", "reason"),
    [
        (Canned(status=500, body='{"error": "internal"}'), "answered HTTP 500"),
        (Canned(body="<html>maintenance</html>", content_type="text/html"), "parse JSON"),
        (Canned(status=429, headers={"Retry-After": "0"}), "rate limiting"),
    ],
)
def test_nominatim_failure_falls_back_to_the_gazetteer(
    session_cache: Path, http: HttpClient, canned: Canned, reason: str
) -> None:
    with ReplayServer({"/search": [canned]}) as server:
        tool = _tool(server, session_cache, http)
        out = tool.run(GeocodeInput(mode="forward", query="Paris", country_codes=["fr"]))
        tool.close()
    assert out.fell_back and out.reason is not None
    assert out.reason.startswith("Nominatim failed:") and reason in out.reason
    assert out.attribution == ATTRIBUTION
    top = out.places[0]
    assert (top.name, top.country_code, top.type, top.source) == (
        "Paris",
        "FR",
        "city",
        "gazetteer",
    )
    assert top.display_name == "Paris, Île-de-France, France"
    assert all(p.country_code == "FR" for p in out.places)
    assert f"[{out.reason}]" in out.summary()


def test_offline_never_connects_and_the_gazetteer_answers(
    session_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_http(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("an offline geocode made a request")

    monkeypatch.setattr(HttpClient, "request", no_http)
    with ReplayServer({"/search": [Canned(body=FORWARD)]}) as server:
        settings = Settings(cache_dir=session_cache, offline=True).model_copy(
            update={"nominatim_domain": server.url.split("://")[1], "nominatim_scheme": "http"}
        )
        tool = GeocodeTool(settings)
        tool.prepare()
        address = tool.run(GeocodeInput(mode="forward", query="Rue de Rivoli, Paris, France"))
        near = tool.run(GeocodeInput(mode="reverse", lat=45.7640, lon=4.8357, limit=2))
        tool.close()
        registry = ToolRegistry()
        registry.register(GeocodeTool, package="tests")
        box = ToolBox(settings, registry)
        try:
            out, call = box.call(
                "geocode", {"mode": "forward", "query": "Lyon"}, stage="verify", call_id="g1"
            )
        finally:
            box.close()
    assert server.requests == []
    assert address.fell_back and address.reason == "Nominatim skipped: the run is offline"
    # "Rivoli" (a town near Turin) is dropped: the address names France.
    assert [(p.name, p.type) for p in address.places] == [
        ("Paris", "city"),
        ("Paris", "admin2"),
        ("France", "country"),
    ]
    assert near.fell_back and len(near.places) == 2
    assert near.places[0].name.startswith("Lyon") and near.places[0].distance_km is not None
    assert near.places[0].distance_km < 2.0
    assert call.ok and not call.skipped and isinstance(out, GeocodeOutput)
    assert out.places[0].name == "Lyon" and out.places[0].country_code == "FR"
    assert "Nominatim skipped" in call.summary


def test_input_needs_the_fields_of_its_mode() -> None:
    for bad in (
        {"mode": "forward"},
        {"mode": "forward", "query": "   "},
        {"mode": "reverse", "lat": 45.0},
        {"mode": "reverse", "lat": 91.0, "lon": 0.0},
        {"mode": "forward", "query": "x", "country_codes": ["FRA"]},
        {"mode": "forward", "query": "x", "limit": 21},
    ):
        with pytest.raises(ValidationError):
            GeocodeInput.model_validate(bad)
    assert GeocodeInput(
        mode="forward", query="x", country_codes=[" fr", "FR", "be"]
    ).country_codes == [
        "FR",
        "BE",
    ]


def test_keeps_the_tool_contract_offline_and_online(session_cache: Path) -> None:
    invalid = [{"mode": "forward"}, {"mode": "reverse", "lat": 95, "lon": 0}]
    offline = [
        {"mode": "forward", "query": "Arezzo"},
        {"mode": "reverse", "lat": 43.46, "lon": 11.88},
    ]
    calls = check_tool(GeocodeTool, valid=offline, invalid=invalid, cache_dir=session_cache)
    assert all(c.ok for c in calls[:2]) and "gazetteer" in calls[0].summary
    with ReplayServer({"/search": [Canned(body=FORWARD)], "/reverse": [Canned(body=REVERSE)]}) as s:
        settings = Settings(cache_dir=session_cache).model_copy(
            update={
                "nominatim_domain": s.url,
                "nominatim_min_interval_s": 0.0,
            }
        )
        valid = [{"mode": "forward", "query": "Tour Eiffel"}, offline[1]]
        calls = check_tool(GeocodeTool, valid=valid, cache_dir=session_cache, settings=settings)
    assert [c.summary.split(":")[0] for c in calls] == [
        "2 place(s) via nominatim",
        "1 place(s) via nominatim",
    ]
    assert len(s.requests) == 2  # the concurrent repeats came from the cache


def _place(name: str, lat: float, lon: float, importance: float) -> dict[str, Any]:
    return {
        "name": name,
        "display_name": name,
        "lat": lat,
        "lon": lon,
        "importance": importance,
        "source": "nominatim",
    }


def test_a_name_found_in_far_apart_places_claims_less() -> None:
    lille = _place("Rue de la Paix, Lille", 50.63, 3.06, 0.1)
    paris = _place("Rue de la Paix, Paris", 48.87, 2.33, 0.1)
    same_street = _place("Rue de la Paix, Lille", 50.64, 3.07, 0.1)
    alone = GeocodeOutput.model_validate({"mode": "forward", "places": [lille, same_street]})
    (claim,) = alone.claims()
    assert claim.weight == 1.0  # one street in two pieces is one place
    spread = GeocodeOutput.model_validate({"mode": "forward", "places": [lille, paris]})
    assert spread.claims()[0].weight == 0.5
    texas = _place("Paris, Texas", 33.66, -95.56, 0.2)
    famous = GeocodeOutput.model_validate(
        {"mode": "forward", "places": [_place("Paris", 48.86, 2.35, 0.9), texas]}
    )
    assert famous.claims()[0].weight == 1.0  # far less important namesakes are no rivals
