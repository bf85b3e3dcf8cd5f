"""A model reply cannot make the JSON repair step run long or blow the stack."""

from __future__ import annotations

import pytest

from gre.agent.vlm.stage_output import (
    MAX_REPLY_CHARS,
    StageOutputError,
    extract_json,
    parse_stage,
    repair_stage,
)

HOSTILE = {
    "20,000 open braces": "{" * 20_000,
    "20,000 balanced braces": "{" * 20_000 + "}" * 20_000,
    "nested 100,000 deep": '{"a":' * 100_000 + "1" + "}" * 100_000,
    "arrays 100,000 deep": "[" * 100_000 + "]" * 100_000,
    "an oversized reply": '{"summary": "' + "x" * MAX_REPLY_CHARS + '"}',
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_replies_are_refused_in_one_line(text: str) -> None:
    for parse in (parse_stage, repair_stage):
        with pytest.raises(StageOutputError) as info:
            parse("scene", text)
        assert "\n" not in str(info.value)


def test_the_first_good_object_is_still_found_among_chatter_and_bad_ones() -> None:
    text = 'Sure! "quote {not json} then {"summary": "a street", "clues": []} and {"b": 2}'
    assert extract_json(text) == {"summary": "a street", "clues": []}
    assert extract_json('{"outer": {"inner": 1}, "s": "a } brace"}') == {
        "outer": {"inner": 1},
        "s": "a } brace",
    }
    # an unclosed object before a good one does not hide it
    assert extract_json('{"broken": [1, 2 ... {"summary": "ok"}') == {"summary": "ok"}
    result = repair_stage("scene", "```json\n" + '{"summary": "s", "clues": []}' + "\n```")
    assert result.summary == "s"
