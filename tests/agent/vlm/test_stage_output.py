"""Stage answers: the schema sent to the server, strict parsing, and repair."""

import json

import pytest

from gre.agent.vlm.stage_output import (
    MAX_TOOL_REQUESTS,
    StageOutputError,
    ToolOffer,
    extract_json,
    parse_stage,
    repair_stage,
    stage_schema,
)

OFFER = ToolOffer.of(["gazetteer", "plaque_reader"], 2)


def test_schema_restricts_kinds_and_levels_per_stage() -> None:
    scene = stage_schema("scene")
    semantic = stage_schema("semantic")
    assert scene["$defs"]["HypothesisOut"]["properties"]["level"]["enum"] == [
        "continent",
        "country",
    ]
    assert "place_name" in semantic["$defs"]["ClueOut"]["properties"]["kind"]["enum"]
    assert "ocr_regions" in scene["properties"] and "ocr_regions" not in semantic["properties"]
    assert scene["additionalProperties"] is False
    json.dumps(scene)  # serialisable as sent


def test_parse_valid_answer() -> None:
    text = json.dumps(
        {
            "summary": "snowy alpine valley",
            "clues": [{"kind": "terrain", "value": "high mountains", "confidence": 0.8}],
            "hypotheses": [{"level": "country", "country_code": "ch", "confidence": 0.4}],
            "ocr_regions": [{"x0": 0.1, "y0": 0.2, "x1": 0.3, "y1": 0.4}],
        }
    )
    result = parse_stage("scene", text)
    assert result.stage == "scene" and result.clues[0].stage == "scene"
    assert result.hypotheses[0].country_code == "CH"
    assert result.ocr_regions[0].x1 == 0.3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("France", "not valid JSON"),
        ('{"clues": []}', "summary"),
        ('{"summary": "x", "clues": [{"kind": "mood", "value": "v", "confidence": 1}]}', "mood"),
        (
            '{"summary": "x", "hypotheses": [{"level": "city", "confidence": 0.5, "name": "X"}]}',
            "city",
        ),
        (
            '{"summary": "x", "hypotheses": [{"level": "country", "confidence": 0.5}]}',
            "needs a name",
        ),
        (
            '{"summary": "x", "hypotheses": '
            '[{"level": "country", "lat": 95, "lon": 0, "confidence": 1}]}',
            "lat",
        ),
        ('{"summary": "x", "ocr_regions": [{"x0": 0.5, "y0": 0, "x1": 0.2, "y1": 1}]}', "x0 < x1"),
        ('{"summary": "x", "extra": 1}', "extra"),
    ],
)
def test_parse_rejects_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(StageOutputError, match=message):
        parse_stage("scene", text)


def test_extract_json_skips_chatter_fences_and_braces_in_strings() -> None:
    assert extract_json('Here you go:\n```json\n{"a": "}{", "b": {"c": 1}}\n```') == {
        "a": "}{",
        "b": {"c": 1},
    }
    assert extract_json('{broken {"ok": true}') == {"ok": True}
    with pytest.raises(StageOutputError):
        extract_json('{"unterminated": ')


def test_repair_keeps_valid_items_only() -> None:
    text = (
        'My answer: {"summary": "desert road", "clues": ['
        '{"kind": "terrain", "value": "red sand", "confidence": 0.7},'
        '{"kind": "terrain", "value": "", "confidence": 0.7},'
        '{"kind": "vibes", "value": "hot", "confidence": 0.9}],'
        '"hypotheses": [{"level": "country", "country_code": "AU", "confidence": 2}]}'
    )
    result = repair_stage("scene", text)
    assert [c.value for c in result.clues] == ["red sand"]
    assert result.hypotheses == []
    assert result.error and "vibes" in result.error
    with pytest.raises(StageOutputError, match="nothing usable"):
        repair_stage("scene", '{"clues": [{"kind": "vibes"}]}')


def test_schema_asks_for_tool_requests_only_when_offered() -> None:
    for stage in ("scene", "details", "semantic"):
        plain = stage_schema(stage)
        assert not {"osm_queries", "search_queries", "tool_requests"} & set(plain["properties"])
        assert not {"OsmQueryOut", "NearOut", "ToolRequestOut"} & set(plain["$defs"])
    offered = stage_schema("details", OFFER)
    assert offered["properties"]["tool_requests"]["maxItems"] == 2
    item = offered["$defs"]["ToolRequestOut"]
    assert item["properties"]["tool"]["enum"] == ["gazetteer", "plaque_reader"]
    assert item["required"] == ["tool"] and item["additionalProperties"] is False
    json.dumps(offered)
    assert ToolOffer.of([], 3) is None and ToolOffer.of(["x"], 0) is None
    assert ToolOffer.of(["x"], 99) == ToolOffer(("x",), MAX_TOOL_REQUESTS)


def test_tool_requests_parse_strictly() -> None:
    ask = {"tool": "gazetteer", "input": {"name": "Colmar"}, "why": "the sign"}
    text = json.dumps({"summary": "s", "tool_requests": [ask]})
    result = parse_stage("details", text, OFFER)
    assert [(r.tool, r.input, r.why, r.error) for r in result.tool_requests] == [
        ("gazetteer", {"name": "Colmar"}, "the sign", None)
    ]
    with pytest.raises(StageOutputError, match="no tool can be requested now"):
        parse_stage("details", text)
    unknown = json.dumps({"summary": "s", "tool_requests": [{"tool": "rm", "input": {}}]})
    with pytest.raises(StageOutputError, match="'rm' is not one of gazetteer, plaque_reader"):
        parse_stage("details", unknown, OFFER)
    three = json.dumps({"summary": "s", "tool_requests": [ask, ask, ask]})
    with pytest.raises(StageOutputError, match="at most 2"):
        parse_stage("details", three, OFFER)
    not_object = json.dumps({"summary": "s", "tool_requests": [{"tool": "gazetteer", "input": 3}]})
    with pytest.raises(StageOutputError, match="input"):
        parse_stage("details", not_object, OFFER)


def test_repair_keeps_valid_tool_requests_and_lists_the_rest() -> None:
    ask = {"tool": "gazetteer", "input": {"name": "Colmar"}}
    text = "Answer: " + json.dumps(
        {
            "summary": "s",
            "tool_requests": [ask, {"tool": "rm"}, {"tool": "gazetteer", "input": []}, ask, ask],
        }
    )
    result = repair_stage("details", text, OFFER)
    assert [r.tool for r in result.tool_requests] == ["gazetteer", "gazetteer"]
    assert result.error and "'rm'" in result.error and "over the limit" in result.error
    assert "input" in result.error
    final = repair_stage("details", text)
    assert final.tool_requests == [] and "none can be made now" in (final.error or "")
    only = repair_stage("details", json.dumps({"tool_requests": [ask]}), OFFER)
    assert only.tool_requests and only.summary == ""


def test_the_older_query_fields_are_still_read() -> None:
    text = json.dumps(
        {"summary": "s", "osm_queries": [{"name": "Rue X"}], "search_queries": ["Café Y"]}
    )
    result = parse_stage("semantic", text)
    assert result.osm_queries[0].name == "Rue X" and result.search_queries == ["Café Y"]
