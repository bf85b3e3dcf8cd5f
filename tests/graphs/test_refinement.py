"""Map, search and geocoding refinement inside the staged graph (offline extract, local servers)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw, ImageFont

from gre.agent.vlm import make_backend
from gre.config import Settings
from gre.geo import haversine_km
from gre.graphs.locator import Locator
from gre.testing.fake_openai import FakeOpenAI, Reply, stage_of
from gre.testing.replay_server import Canned, ReplayServer

pytest.importorskip("osmium")

CASINO = (43.7393582, 7.4285531)  # way/161769674 in the shared 2016 Monaco extract
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


@pytest.fixture(scope="module")
def casino_sign(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not FONT.exists():
        pytest.skip("DejaVu fonts not installed")
    image = Image.new("RGB", (900, 220), (20, 60, 140))
    draw = ImageDraw.Draw(image)
    draw.text(
        (40, 80),
        "Casino de Monte-Carlo",
        fill=(250, 250, 250),
        font=ImageFont.truetype(str(FONT), 56),
    )
    path = tmp_path_factory.mktemp("signs") / "casino.png"
    image.save(path)
    return path


@pytest.fixture
def monaco(shared_data: Path, session_cache: Path) -> Settings:
    return Settings(
        cache_dir=session_cache,
        offline=True,
        ignore_metadata=True,
        osm_extract=shared_data / "osm" / "monaco.osm.pbf",
    )


def test_a_landmark_on_a_sign_is_found_on_the_local_map(
    casino_sign: Path, monaco: Settings
) -> None:
    with Locator(monaco) as loc:
        loc.prepare()
        trace = loc.locate(casino_sign)
    calls = [c for c in trace.tool_calls if c.tool == "osm"]
    assert calls and calls[0].params["kind"] == "named" and calls[0].ok
    pred = trace.prediction
    assert pred.level == "street", pred
    assert haversine_km(pred.lat, pred.lon, *CASINO) < 0.5  # type: ignore[arg-type]
    assert "Casino de Monte Carlo" in pred.label
    osm_ev = next(e for e in trace.evidence if e.tool == "osm" and e.ok)
    assert osm_ev.supports, "the map evidence supports the answer"


def _planning_model(plan: dict[str, Any]) -> Any:
    def respond(body: dict[str, Any]) -> Reply:
        stage = f"gre_{stage_of(body)}"
        if stage == "gre_semantic":
            return Reply(text=json.dumps({"summary": "a pharmacy by a bus stop", **plan}))
        return Reply(
            text=json.dumps({"summary": "Mediterranean town", "clues": [], "hypotheses": []})
        )

    return respond


def test_model_planned_co_occurrence_query_runs_on_the_map(
    monaco: Settings, tmp_path: Path
) -> None:
    photo = tmp_path / "street.jpg"
    Image.new("RGB", (320, 240), (160, 150, 140)).save(photo)
    plan = {
        "clues": [],
        "hypotheses": [],
        "osm_queries": [
            {
                "tags": ["amenity=pharmacy"],
                "near": [{"tags": ["highway=bus_stop"], "within_m": 100}],
                "lat": 43.7384,
                "lon": 7.4246,
                "radius_m": 3000,
                "confidence": 0.8,
                "why": "green cross next to a bus shelter",
            }
        ],
    }
    with FakeOpenAI(responder=_planning_model(plan)) as server:
        settings = monaco.model_copy(
            update={"backend": "openai", "model_url": server.url, "model": "m", "max_steps": 3}
        )
        with Locator(settings, backend=make_backend(settings)) as loc:
            trace = loc.locate(photo)
    call = next(c for c in trace.tool_calls if c.tool == "osm" and c.params["kind"] == "near")
    assert call.ok and call.params["near"][0]["within_m"] == 100
    assert "QL" not in json.dumps(call.params)  # the model sent structure, not a query string
    features = next(e for e in trace.evidence if e.tool == "osm" and e.query["kind"] == "near")
    assert 1 <= len(features.result["features"]) <= 20
    street = [c for c in trace.candidates if c.ref and c.ref.startswith("osm:")]
    assert street and all(c.level == "street" and c.source == "osm" for c in street)
    assert all(haversine_km(c.lat, c.lon, 43.7384, 7.4246) < 3.5 for c in street)
    assert all(c.evidence == [features.id] for c in street)  # each claim keeps its provenance
    assert trace.prediction.lat is not None


SEARX = {
    "query": "Boulangerie Dupont",
    "results": [
        {
            "url": "https://example.org/photos/s07.jpg",
            "title": "s07.jpg",
            "content": "the test photo",
        },
        {
            "url": "https://www.dupont.fr/",
            "title": "Boulangerie Dupont - Lyon",
            "content": "Artisan boulanger, rue de la République, Lyon",
        },
    ],
}


def test_model_planned_search_drops_leaked_results(tmp_path: Path, session_cache: Path) -> None:
    photo = tmp_path / "s07.jpg"
    Image.new("RGB", (320, 240), (160, 150, 140)).save(photo)
    plan = {"clues": [], "hypotheses": [], "search_queries": ["Boulangerie Dupont"]}
    with (
        FakeOpenAI(responder=_planning_model(plan)) as model,
        ReplayServer({"/search": [Canned(body=json.dumps(SEARX))]}) as searx,
    ):
        settings = Settings(
            backend="openai",
            model_url=model.url,
            model="m",
            cache_dir=session_cache,
            ignore_metadata=True,
            max_steps=3,
            search_provider="searxng",
            searxng_url=searx.url,
        )
        with Locator(settings, backend=make_backend(settings)) as loc:
            trace = loc.locate(photo, leak_terms=["s07.jpg", "s07"])
    search = next(e for e in trace.evidence if e.tool == "search")
    assert search.ok and search.result["dropped"] == 1
    assert [r["domain"] for r in search.result["results"]] == ["dupont.fr"]
    assert searx.requests[0].query["q"] == ["Boulangerie Dupont"]


NOMINATIM = [
    {
        "place_id": 1,
        "osm_type": "way",
        "osm_id": 5013364,
        "lat": "48.8582599",
        "lon": "2.2945006",
        "class": "man_made",
        "type": "tower",
        "importance": 0.7,
        "name": "Tour Eiffel",
        "display_name": "Tour Eiffel, 5, Avenue Anatole France, Paris, France",
        "address": {"country_code": "fr", "city": "Paris"},
        "boundingbox": ["48.8574753", "48.8590453", "2.2933119", "2.2956897"],
    }
]


def test_street_level_names_are_geocoded(tmp_path: Path, session_cache: Path) -> None:
    photo = tmp_path / "tower.jpg"
    Image.new("RGB", (320, 240), (120, 150, 200)).save(photo)
    plan = {
        "clues": [{"kind": "landmark", "value": "Eiffel Tower", "confidence": 0.9}],
        "hypotheses": [
            {
                "level": "street",
                "name": "Tour Eiffel",
                "country_code": "FR",
                "confidence": 0.9,
                "rationale": "the tower",
            }
        ],
    }
    with (
        FakeOpenAI(responder=_planning_model(plan)) as model,
        ReplayServer({"/search": [Canned(body=json.dumps(NOMINATIM))]}) as nominatim,
    ):
        settings = Settings(
            backend="openai",
            model_url=model.url,
            model="m",
            cache_dir=session_cache,
            ignore_metadata=True,
            max_steps=3,
            nominatim_domain=nominatim.url.split("//")[1],
            nominatim_scheme="http",
        )
        with Locator(settings, backend=make_backend(settings)) as loc:
            trace = loc.locate(photo)
    call = next(c for c in trace.tool_calls if c.tool == "geocode")
    assert call.ok and call.params["query"] == "Tour Eiffel"
    assert nominatim.requests[0].query["q"] == ["Tour Eiffel"]
    pred = trace.prediction
    assert pred.level == "street"
    assert haversine_km(pred.lat, pred.lon, 48.8582599, 2.2945006) < 0.5  # type: ignore[arg-type]
