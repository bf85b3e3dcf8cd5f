"""The planner: which tools each stage requests by rule, round after round, never twice."""

from __future__ import annotations

from typing import Any

from gre.agent.planner import RunView, can_reread, legacy_requests, plan
from gre.records import Box, Candidate, Clue, Evidence, OsmQuery, StageResult

LINES = [
    {"text": "A4 STRASBOURG", "confidence": 80.0, "box": [0, 0, 10, 10], "region": -1},
    {"text": "Pont de Fortville 3,8 km", "confidence": 90.0, "box": [0, 20, 10, 30], "region": -1},
]


def _ocr(mode: str = "auto", lines: list[dict[str, Any]] | None = None, **query: Any) -> Evidence:
    return Evidence(
        id=f"e-ocr-{mode}",
        tool="ocr",
        query={"mode": mode, "whole_image": True, **query},
        result={"lines": LINES if lines is None else lines},
    )


def _view(
    *evidence: Evidence, round: int = 0, usable: set[str] | None = None, **kw: Any
) -> RunView:
    tools = {"ocr", "osm", "overpass", "gazetteer", "text_clues"} if usable is None else usable
    return RunView(
        round=round,
        evidence=list(evidence),
        clues=kw.pop("clues", []),
        stages=kw.pop("stages", []),
        candidates=kw.pop("candidates", []),
        usable=lambda name: name in tools,
        **kw,
    )


def test_ingest_reads_metadata_once_and_only_when_allowed() -> None:
    assert [r.tool for r in plan("ingest", _view())] == ["exif"]
    assert plan("ingest", _view(Evidence(id="e1", tool="exif", ok=False))) == []
    assert plan("ingest", _view(metadata=False)) == []
    assert plan("scene", _view()) == []  # the scene is a model's


def test_details_reads_then_analyses_what_it_read() -> None:
    (first,) = plan("details", _view())
    assert first.tool == "ocr" and first.input == {"mode": "auto", "whole_image": True, "boxes": []}
    assert "path" not in first.input  # the run fills the photo in
    (clues,) = plan("details", _view(_ocr(), round=1))
    assert clues.tool == "text_clues" and clues.input["text"].startswith("A4 STRASBOURG")
    done = Evidence(id="e2", tool="text_clues", query={"text": clues.input["text"]})
    assert plan("details", _view(_ocr(), done, round=1)) == []  # nothing new


def test_a_later_visit_reads_again_with_a_sparse_pass_and_crops_where_a_model_pointed() -> None:
    box = Box(x0=0.1, y0=0.1, x1=0.5, y1=0.4, why="a plate")
    stages = [StageResult(stage="scene", ocr_regions=[box])]
    (again,) = plan("details", _view(_ocr(), stages=stages))
    assert again.input["mode"] == "sparse" and again.input["whole_image"]
    assert again.input["boxes"] == [box.model_dump(mode="json")]
    # within the visit (round > 0) no whole-image pass is repeated, and read boxes are not
    read = _ocr("sparse", boxes=[box.model_dump(mode="json")])
    assert [r.tool for r in plan("details", _view(_ocr(), read, round=1, stages=stages))] == [
        "text_clues"
    ]


def test_a_failed_ocr_is_not_retried_and_nothing_read_needs_no_text_clues() -> None:
    failed = Evidence(id="e1", tool="ocr", ok=False, query={"mode": "auto", "whole_image": True})
    (sparse,) = plan("details", _view(failed))
    assert sparse.input["mode"] == "sparse"
    assert plan("details", _view(failed, _ocr("sparse", lines=[]), round=1)) == []


def test_can_reread_only_after_reading_something() -> None:
    assert can_reread(_view(_ocr()))
    assert not can_reread(_view(_ocr(lines=[])))
    assert not can_reread(_view(_ocr(), _ocr("sparse")))
    assert not can_reread(_view(_ocr(), usable=set()))


def test_semantic_scans_looks_up_model_names_then_maps_the_lines_left() -> None:
    clue = Clue(stage="scene", kind="landmark", value="Kölner Dom", confidence=0.4, source="model")
    tools = plan("semantic", _view(_ocr(), clues=[clue]))
    assert [(r.tool, r.input["mode"]) for r in tools] == [
        ("gazetteer", "scan"),
        ("gazetteer", "lookup"),
    ]
    assert tools[1].input["name"] == "Kölner Dom" and tools[1].confidence == 0.4
    scan = Evidence(
        id="e3",
        tool="gazetteer",
        query={"mode": "scan", "text": tools[0].input["text"]},
        result={"mentions": [{"text": "STRASBOURG", "start": 3, "end": 13, "places": []}]},
    )
    lookup = Evidence(id="e4", tool="gazetteer", query={"mode": "lookup", "name": "Kölner Dom"})
    maps = plan("semantic", _view(_ocr(), scan, lookup, clues=[clue]))
    assert [(r.tool, r.input["name"]) for r in maps] == [("osm", "Pont de Fortville")]
    asked = Evidence(id="e5", tool="osm", query={"kind": "named", "name": "Pont de Fortville"})
    assert plan("semantic", _view(_ocr(), scan, lookup, asked, clues=[clue])) == []


def test_without_an_extract_the_live_map_is_asked_around_the_best_candidate() -> None:
    scan = Evidence(
        id="e3",
        tool="gazetteer",
        query={"mode": "scan", "text": "\n".join(line["text"] for line in LINES)},
        result={"mentions": [{"text": "STRASBOURG", "start": 3, "end": 13, "places": []}]},
    )
    online = {"overpass", "gazetteer"}
    assert plan("semantic", _view(_ocr(), scan, usable=online)) == []  # nowhere to look yet
    best = Candidate(
        id="c1", lat=45.0, lon=6.6, radius_km=8.0, level="city", label="Névache", weight=0.6
    )
    view = _view(_ocr(), scan, usable=online, candidates=[best])
    (req,) = plan("semantic", view)
    assert req.tool == "overpass" and req.input["area"]["lat"] == 45.0
    assert plan("semantic", _view(_ocr(), scan, usable={"gazetteer"}, candidates=[best])) == []


def test_older_map_and_search_fields_become_requests() -> None:
    query = OsmQuery(tags=["amenity=pharmacy"], confidence=0.7, why="green cross")
    result = StageResult(stage="semantic", osm_queries=[query], search_queries=["Boulangerie"])
    osm, search = legacy_requests(result, _view(usable={"osm"}))
    assert osm.tool == "osm" and osm.input["kind"] == "tags" and osm.confidence == 0.7
    assert search.tool == "search" and search.input["query"] == "Boulangerie"
    (overpass, _) = legacy_requests(result, _view(usable=set()))
    assert overpass.tool == "overpass"


def test_tools_that_suggest_their_own_calls_run_once_when_the_rules_are_done() -> None:
    def offset(evidence: Any) -> list[dict[str, Any]]:
        return [{"offset": "+02:00"}]

    def broken(evidence: Any) -> list[dict[str, Any]]:
        raise RuntimeError("plugin bug")

    suggesters = {"utc_offset": offset, "broken": broken}
    (req,) = plan("scene", _view(suggesters=suggesters))
    assert (req.tool, req.input) == ("utc_offset", {"offset": "+02:00"})
    done = Evidence(id="e9", tool="utc_offset", query={"offset": "+02:00", "date": None})
    assert plan("scene", _view(done, suggesters=suggesters)) == []
    assert [r.tool for r in plan("details", _view(suggesters=suggesters))] == ["ocr"]  # rules first


def test_street_names_are_looked_up_as_streets_in_the_country_leaned_to() -> None:
    text = "Rue de la Paix 3\nParis"
    lines = [
        {"text": line, "confidence": 90.0, "box": [0, 20 * i, 10, 20 * i + 10], "region": -1}
        for i, line in enumerate(text.splitlines())
    ]
    ocr = _ocr(lines=lines)
    clues = Evidence(
        id="e2",
        tool="text_clues",
        query={"text": text},
        result={
            "streets": ["Rue de la Paix"],
            "countries": [{"code": "FR", "name": "France", "weight": 0.6}],
        },
    )
    scan = Evidence(id="e3", tool="gazetteer", query={"mode": "scan", "text": text})
    local = plan("semantic", _view(ocr, clues, scan, usable={"osm", "gazetteer", "geocode"}))
    street = local[0]
    assert (street.tool, street.input["name"]) == ("osm", "Rue de la Paix")
    assert "street" in street.why
    assert "geocode" not in {r.tool for r in local}  # offline: no street geocoding
    online = _view(ocr, clues, scan, usable={"gazetteer", "geocode"}, online=True)
    (geo,) = plan("semantic", online)
    assert geo.tool == "geocode" and geo.input["query"] == "Rue de la Paix"
    assert geo.input["country_codes"] == ["FR"]
    unsure = clues.model_copy(update={"result": {"streets": ["Rue de la Paix"]}})
    assert plan("semantic", _view(ocr, unsure, scan, usable={"geocode"}, online=True)) == []
