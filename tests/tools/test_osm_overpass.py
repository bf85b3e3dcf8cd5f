"""The OSM tool's Overpass backend against a 127.0.0.1 server replaying real Overpass answers.

The answers are the real responses in ``../shared/data/overpass/`` (overpy's and the Kotlin
client's test data); each test asserts the exact QL the tool POSTed as the ``data`` field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from gre.config import Settings
from gre.geo import haversine_km
from gre.testing.replay_server import Canned, ReplayServer
from gre.testing.tool_contract import check_tool
from gre.tools.base import ToolError
from gre.tools.osm.overpass import NAME_KEY_REGEX, build_ql, name_regex
from gre.tools.osm.tool import OsmInput, OsmOutput, OverpassTool

pytest.importorskip("overpy")

PATH = "/api/interpreter"
COLOGNE = {"lat": 50.9375, "lon": 6.9603, "radius_m": 3000}
TOILETS = [{"key": "amenity", "value": "toilets"}]

MakeTool = Callable[..., OverpassTool]


@pytest.fixture
def overpass(shared_data: Path) -> Callable[[str], bytes]:
    return lambda name: (shared_data / "overpass" / name).read_bytes()


@pytest.fixture
def make_tool(tmp_path: Path) -> MakeTool:
    def make(server: ReplayServer, *, offline: bool = False, interval: float = 0.0) -> OverpassTool:
        settings = Settings(cache_dir=tmp_path, contact="ops@example.org", offline=offline)
        tool = OverpassTool(settings.model_copy(update={"overpass_url": server.url + PATH}))
        tool.min_interval_s = interval
        return tool

    return make


def run(tool: OverpassTool, **query: Any) -> OsmOutput:
    return tool.run(OsmInput.model_validate(query))


def sent_ql(server: ReplayServer, i: int = 0) -> str:
    seen = server.requests[i]
    assert (seen.method, seen.path) == ("POST", PATH)
    (ql,) = seen.form["data"]
    return ql


def test_tag_query_posts_the_ql_with_a_user_agent(
    make_tool: MakeTool, overpass: Callable[[str], bytes]
) -> None:
    body = overpass("kotlinclient_toiletsJson.json")
    with ReplayServer({PATH: [Canned(body=body)]}) as server:
        out = run(make_tool(server), kind="tags", tags=TOILETS, area=COLOGNE, limit=200)
    assert sent_ql(server) == (
        "[out:json][timeout:25];\n"
        'nwr["amenity"="toilets"](around:3000,50.9375,6.9603)->.a;\n'
        ".a out count;\n"
        ".a out tags center 500;"
    )
    agent = server.requests[0].headers["user-agent"]
    assert agent.startswith("gre-suite/") and "ops@example.org" in agent
    raw = json.loads(body)["elements"]
    tagged_nodes = {e["id"]: e for e in raw if e["type"] == "node" and e.get("tags")}
    assert {f.osm_id for f in out.features} == set(tagged_nodes)  # ways came without centre
    assert len(out.features) == 33 and not out.truncated
    for f in out.features:
        node = tagged_nodes[f.osm_id]
        assert (f.osm_type, f.lat, f.lon, f.tags) == (
            "node",
            node["lat"],
            node["lon"],
            node["tags"],
        )
        d = haversine_km(COLOGNE["lat"], COLOGNE["lon"], node["lat"], node["lon"]) * 1000
        assert f.distance_m == pytest.approx(d, abs=0.1)
    assert [f.distance_m for f in out.features] == sorted(f.distance_m or 0 for f in out.features)
    assert out.source == "overpass" and out.query_ql == sent_ql(server)
    assert "OpenStreetMap" in out.attribution and "\n" not in out.summary()


def test_named_query_matches_names_in_any_case_and_accent(
    make_tool: MakeTool, overpass: Callable[[str], bytes]
) -> None:
    query = {
        "kind": "named",
        "name": "bundesautobahn 555",
        "area": {"south": 50.7, "west": 6.9, "north": 50.9, "east": 7.2},
    }
    with ReplayServer({PATH: [Canned(body=overpass("overpy_relation-03.json"))]}) as server:
        out = run(make_tool(server), **query)
    ql = sent_ql(server)
    assert ql == build_ql(OsmInput.model_validate(query))
    lines = ql.split("\n")
    assert lines[0] == "[out:json][timeout:25];" and lines[2:] == [
        ".a out count;",
        ".a out tags center 500;",
    ]
    m = re.fullmatch(r'nwr\[~("[^"]*")~(".*"),i\]\(50\.7,6\.9,50\.9,7\.2\)->\.a;', lines[1])
    assert m is not None
    assert json.loads(m.group(1)) == NAME_KEY_REGEX
    value_regex = re.compile(json.loads(m.group(2)), re.IGNORECASE)
    for value in ("Bundesautobahn 555", "BUNDESAUTOBAHN-555", "A 555;Bundesautobahn 555"):
        assert value_regex.search(value), value
    assert not value_regex.search("Bundesautobahn 5555")
    (rel,) = out.features
    assert (rel.osm_type, rel.osm_id, rel.lat, rel.lon) == (
        "relation",
        23092,
        50.8176646,
        7.0208539,
    )
    assert (rel.match, rel.matched_via, rel.name) == ("folded", ["name"], "Bundesautobahn 555")


def test_xml_answers_and_answers_without_centres(
    make_tool: MakeTool, overpass: Callable[[str], bytes]
) -> None:
    florist = {"kind": "tags", "tags": [{"key": "shop", "value": "florist"}]}
    area = {"lat": 41.8955, "lon": 12.5032, "radius_m": 200}
    way02 = json.loads(overpass("overpy_way-02.json"))
    nodes = [e for e in way02["elements"] if e["type"] == "node"]
    with ReplayServer(
        {
            PATH: [
                Canned(body=overpass("overpy_way-03.xml"), content_type="application/osm3s+xml"),
                Canned(body=overpass("overpy_way-02.json")),
                Canned(body=overpass("overpy_way-01.json")),
                Canned(body=overpass("overpy_node-01.json")),
                Canned(body=overpass("overpy_area-01.json")),
            ]
        }
    ) as server:
        tool = make_tool(server)
        (kiosk,) = run(tool, **florist, area=area).features  # `out meta center`, in XML
        building = [{"key": "building", "value": "yes"}]
        near_bonn = {"lat": 50.7468, "lon": 7.1742, "radius_m": 500}
        (way,) = run(tool, kind="tags", tags=building, area=near_bonn).features  # `>;`
        elsewhere = {**near_bonn, "radius_m": 400}
        nothing = run(tool, kind="tags", tags=building, area=elsewhere)  # ways without geometry
        turning = [{"key": "highway", "value": "turning_circle"}]
        (node,) = run(tool, kind="tags", tags=turning, area=near_bonn).features
        troisdorf = {"lat": 50.81, "lon": 7.15, "radius_m": 5000}
        areas = run(tool, kind="named", name="Troisdorf", area=troisdorf)
    assert (kiosk.osm_type, kiosk.osm_id) == ("way", 225576797)
    assert (kiosk.lat, kiosk.lon, kiosk.tags["shop"]) == (41.8954998, 12.5032265, "florist")
    lats, lons = [n["lat"] for n in nodes], [n["lon"] for n in nodes]
    assert way.osm_id == 317146077
    assert way.lat == pytest.approx((min(lats) + max(lats)) / 2)
    assert way.lon == pytest.approx((min(lons) + max(lons)) / 2)
    assert nothing.features == []
    assert (node.osm_id, node.tags) == (100793192, {"highway": "turning_circle"})
    assert areas.features == []  # Overpass "area" elements carry no position
    assert len(server.requests) == 5


def test_a_malformed_answer_is_one_line_error(
    make_tool: MakeTool, overpass: Callable[[str], bytes]
) -> None:
    replies = {PATH: [Canned(body=overpass("overpy_way-04.json"))]}
    with ReplayServer(replies) as server, pytest.raises(ToolError, match="not be read") as err:
        run(make_tool(server), kind="tags", tags=TOILETS, area=COLOGNE)
    assert "\n" not in str(err.value)


def test_runtime_error_remark_is_a_tool_error_and_never_cached(
    make_tool: MakeTool, overpass: Callable[[str], bytes]
) -> None:
    replies = [
        Canned(body=overpass("overpy_remark-runtime-error-01.json")),
        Canned(body=overpass("kotlinclient_toiletsJson.json")),
    ]
    with ReplayServer({PATH: replies}) as server:
        tool = make_tool(server)
        with pytest.raises(ToolError) as err:
            run(tool, kind="tags", tags=TOILETS, area=COLOGNE)
        message = str(err.value)
        assert message.startswith("Overpass: runtime error: Query timed out in")
        assert "narrow the area" in message and "\n" not in message
        again = run(tool, kind="tags", tags=TOILETS, area=COLOGNE)  # the error is refetched
        assert len(server.requests) == 2 and again.features
        third = run(tool, kind="tags", tags=TOILETS, area=COLOGNE)  # the fresh answer is kept
        assert len(server.requests) == 2 and third == again


def test_runtime_remark_is_reported(make_tool: MakeTool, overpass: Callable[[str], bytes]) -> None:
    body = overpass("overpy_remark-runtime-remark-01.json")
    with ReplayServer({PATH: [Canned(body=body)]}) as server:
        out = run(make_tool(server), kind="tags", tags=TOILETS, area=COLOGNE)
    assert out.remark == "runtime remark: Test" and out.features == []
    assert out.summary() == "no OSM feature found [overpass] | remark: runtime remark: Test"


def test_repeated_query_comes_from_the_cache(
    make_tool: MakeTool, overpass: Callable[[str], bytes]
) -> None:
    body = overpass("kotlinclient_toiletsJson.json")
    with ReplayServer({PATH: [Canned(body=body)]}) as server:
        tool = make_tool(server)
        first = run(tool, kind="tags", tags=TOILETS, area=COLOGNE)
        second = run(tool, kind="tags", tags=TOILETS, area=COLOGNE)
        assert len(server.requests) == 1 and first == second
        run(tool, kind="tags", tags=TOILETS, area=COLOGNE, limit=5)  # same QL: cached too
        assert len(server.requests) == 1


def test_requests_are_rate_limited(make_tool: MakeTool, overpass: Callable[[str], bytes]) -> None:
    body = overpass("kotlinclient_toiletsJson.json")
    with ReplayServer({PATH: [Canned(body=body)]}) as server:
        tool = make_tool(server, interval=1.0)
        assert OverpassTool.min_interval_s == 1.0
        run(tool, kind="tags", tags=TOILETS, area=COLOGNE)
        run(tool, kind="tags", tags=TOILETS, area={**COLOGNE, "radius_m": 2000})
    first, second = server.requests
    assert second.at - first.at >= 0.95


def test_busy_server_is_retried_then_reported(
    make_tool: MakeTool, overpass: Callable[[str], bytes]
) -> None:
    now = {"Retry-After": "0"}
    busy = [Canned(status=429, headers=now)]
    with ReplayServer({PATH: busy}) as server, pytest.raises(ToolError, match="rate limiting"):
        run(make_tool(server), kind="tags", tags=TOILETS, area=COLOGNE)
    assert len(server.requests) == 3
    body = overpass("kotlinclient_toiletsJson.json")
    replies = [Canned(status=504, headers=now, body="<html>Gateway Timeout</html>")]
    with ReplayServer({PATH: [*replies, Canned(body=body)]}) as server:
        assert run(make_tool(server), kind="tags", tags=TOILETS, area=COLOGNE).features
    assert len(server.requests) == 2


def test_a_rejected_query_is_one_clean_line(make_tool: MakeTool) -> None:
    html = "<html>\n<body>\n<p><strong>Error</strong>: line 2: parse error</p>\n</body></html>"
    rejected = {PATH: [Canned(status=400, body=html, content_type="text/html")]}
    with ReplayServer(rejected) as server, pytest.raises(ToolError) as err:
        run(make_tool(server), kind="tags", tags=TOILETS, area=COLOGNE)
    message = str(err.value)
    assert "HTTP 400" in message and "parse error" in message
    assert "\n" not in message and "<" not in message


def test_offline_sends_nothing(make_tool: MakeTool) -> None:
    tool_args = {"kind": "tags", "tags": TOILETS, "area": COLOGNE}
    with (
        ReplayServer({PATH: [Canned(body="{}")]}) as server,
        pytest.raises(ToolError, match="offline"),
    ):
        run(make_tool(server, offline=True), **tool_args)
    assert server.requests == []


def test_an_area_is_required(make_tool: MakeTool) -> None:
    with ReplayServer({}) as server, pytest.raises(ToolError, match="needs an area"):
        run(make_tool(server), kind="tags", tags=TOILETS)
    assert server.requests == []


def test_co_occurrence_chains_sets_and_reports_the_neighbours(
    make_tool: MakeTool, overpass: Callable[[str], bytes]
) -> None:
    # A composed answer: real toilets of the Cologne answer, split into the sets the QL names.
    toilets = [e for e in json.loads(overpass("kotlinclient_toiletsJson.json"))["elements"]]
    nodes = [e for e in toilets if e["type"] == "node"][:6]
    a_set, b_set = nodes[:2], nodes[2:]

    def count(n: int) -> dict[str, Any]:
        tags = {"nodes": str(n), "ways": "0", "relations": "0", "areas": "0", "total": str(n)}
        return {"type": "count", "id": 0, "tags": tags}

    answer = {"version": 0.6, "elements": [count(2), *a_set, count(4), *b_set]}
    bus_stop = [{"key": "highway", "value": "bus_stop"}]
    query = {
        "kind": "near",
        "tags": TOILETS,
        "near": [{"tags": bus_stop, "within_m": 150}],
        "area": COLOGNE,
    }
    with ReplayServer({PATH: [Canned(body=json.dumps(answer))]}) as server:
        out = run(make_tool(server), **query)
    assert sent_ql(server) == (
        "[out:json][timeout:25];\n"
        'nwr["amenity"="toilets"](around:3000,50.9375,6.9603)->.a;\n'
        'nwr["highway"="bus_stop"](around.a:150)->.b1;\n'
        "nwr.a(around.b1:150)->.a;\n"
        "nwr.b1(around.a:150)->.b1;\n"
        ".a out count;\n"
        ".a out tags center 500;\n"
        ".b1 out count;\n"
        ".b1 out tags center 1000;"
    )
    assert {f.osm_id for f in out.features} == {n["id"] for n in a_set}
    for f in out.features:
        dists = sorted(haversine_km(f.lat, f.lon, b["lat"], b["lon"]) * 1000 for b in b_set)[:3]
        assert len(f.matched_via) == 3
        for via, d in zip(f.matched_via, dists, strict=True):
            assert via.startswith("highway=bus_stop node/") and via.endswith(f"at {d:.0f} m")


def test_names_and_values_cannot_inject_ql(make_tool: MakeTool) -> None:
    nasty = 'Caf\\é "X"]; out; node(1)[name=*+$|^'
    q = OsmInput(kind="named", name=nasty, area=COLOGNE)
    ql = build_ql(q)
    statements = ql.split("\n")
    assert len(statements) == 4 and statements[1].endswith("(around:3000,50.9375,6.9603)->.a;")
    m = re.fullmatch(r'nwr\[~("[^"]*")~("(?:[^"\\]|\\.)*"),i\].*', statements[1])
    assert m is not None
    regex = json.loads(m.group(2))
    assert regex == name_regex(nasty, False)
    assert re.search(regex, nasty.upper(), re.IGNORECASE)  # matches the name, nothing more

    value = 'x"]; out; node(1);["a'
    tq = OsmInput(kind="tags", tags=[{"key": "name", "value": value}], area=COLOGNE)
    line = build_ql(tq).split("\n")[1]
    assert line == 'nwr["name"="x\\"]; out; node(1);[\\"a"](around:3000,50.9375,6.9603)->.a;'
    for bad in (
        {"key": "name]", "value": "x"},
        {"key": 'na"me'},
        {"key": "name", "value": "a\nb"},
        {"key": "name", "value": '"', "op": "~"},
        {"key": "name", "value": "\\d", "op": "~"},
    ):
        with pytest.raises(ValidationError):
            OsmInput.model_validate({"kind": "tags", "tags": [bad], "area": COLOGNE})
    with pytest.raises(ValidationError):
        OsmInput(kind="named", name="a\n[out:xml]", area=COLOGNE)


class _FastOverpass(OverpassTool):
    min_interval_s = 0.0


def test_tool_keeps_the_contract(tmp_path: Path, overpass: Callable[[str], bytes]) -> None:
    body = overpass("kotlinclient_toiletsJson.json")
    with ReplayServer({PATH: [Canned(body=body)]}) as server:
        settings = Settings(cache_dir=tmp_path).model_copy(
            update={"overpass_url": server.url + PATH}
        )
        calls = check_tool(
            _FastOverpass,
            valid=[
                {"kind": "tags", "tags": TOILETS, "area": COLOGNE},
                {"kind": "named", "name": "Domplatz", "area": COLOGNE, "fuzzy": True},
            ],
            invalid=[{"kind": "tags", "tags": [{"key": "a]"}], "area": COLOGNE}],
            cache_dir=tmp_path,
            settings=settings,
        )
    assert [c.ok for c in calls] == [True, True, False]
    assert len({sent_ql(server, i) for i in range(len(server.requests))}) == 2
